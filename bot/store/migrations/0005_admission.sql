-- Join requests: one admission pipeline for every way into a watch room. Knocks come first;
-- postcode sign-ups and invitation codes are further sources of the same request, decided on
-- the same path. A request is decided once: its status leaves 'open' exactly once.
CREATE TABLE join_requests (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,  -- the short number moderators type
    room_id         TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    source          TEXT NOT NULL CHECK (source IN ('knock', 'postcode', 'code')),
    source_ref      TEXT,                  -- knock: its event ID; postcode/code: what was given
    display_name    TEXT,
    reason          TEXT,                  -- the requester's own words
    created_at      INTEGER NOT NULL,      -- unix ms
    status          TEXT NOT NULL DEFAULT 'open'
                    CHECK (status IN ('open', 'accepted', 'declined', 'withdrawn', 'cleared')),
    decided_by      TEXT,                  -- moderator, the bot, or the requester (withdrawn)
    decided_at      INTEGER,
    decision_reason TEXT,
    notice_room_id  TEXT,                  -- where moderators were asked
    notice_event_id TEXT
);
-- One open request per person per room; a repeated knock is the same request.
CREATE UNIQUE INDEX join_requests_one_open ON join_requests (room_id, user_id)
    WHERE status = 'open';
CREATE UNIQUE INDEX join_requests_by_source ON join_requests (source, source_ref);
CREATE INDEX join_requests_by_notice ON join_requests (notice_event_id);
CREATE INDEX join_requests_by_user ON join_requests (user_id, status);
