-- The house-rules gate: which rooms have it, who still has to accept, and the proof of consent.

-- Rooms with the gate switched on (no row: off). Rooms the bot creates get a row with 1.
CREATE TABLE gate_rooms (
    room_id    TEXT PRIMARY KEY,
    enabled    INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    changed_at INTEGER NOT NULL,
    changed_by TEXT
);

-- Members who joined a gated room and have not accepted yet. Only these are listed in the
-- room's power_levels (below events_default), so the event stays small in huge rooms.
CREATE TABLE gate_pending (
    room_id           TEXT NOT NULL,
    user_id           TEXT NOT NULL,
    since             INTEGER NOT NULL,     -- unix ms
    greeting_room_id  TEXT,                 -- the direct chat the rules were sent to
    greeting_event_id TEXT,
    restricted        INTEGER NOT NULL DEFAULT 0,  -- 1 once power_levels lists them
    PRIMARY KEY (room_id, user_id)
);
CREATE INDEX gate_pending_by_greeting ON gate_pending (greeting_event_id);
CREATE INDEX gate_pending_by_user ON gate_pending (user_id);

-- Proof of consent: who accepted which version (hash) of a room's rules, when and how. Kept
-- while the member is in the room and for a retention period after they leave (left_at).
CREATE TABLE rule_acceptances (
    room_id       TEXT NOT NULL,
    user_id       TEXT NOT NULL,
    rules_version TEXT NOT NULL,
    accepted_at   INTEGER NOT NULL,
    via           TEXT NOT NULL CHECK (via IN ('command', 'reaction')),
    event_id      TEXT,                     -- the !akkoord message or the ✅ reaction
    left_at       INTEGER,
    PRIMARY KEY (room_id, user_id, rules_version)
);
CREATE INDEX rule_acceptances_by_leave ON rule_acceptances (left_at);
