-- Growing the network: invitation codes, postcode areas, the monthly alarm test.

-- An invitation code is a Synapse registration token linked to one watch room. Synapse counts
-- registrations; the bot counts admissions (knocks let in with the code) against the same
-- number of uses.
CREATE TABLE invitation_codes (
    code         TEXT PRIMARY KEY,
    room_id      TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    created_at   INTEGER NOT NULL,       -- unix ms
    uses_allowed INTEGER NOT NULL CHECK (uses_allowed > 0),
    admissions   INTEGER NOT NULL DEFAULT 0,
    expires_at   INTEGER NOT NULL,       -- unix ms
    revoked_at   INTEGER,
    revoked_by   TEXT
);
CREATE INDEX invitation_codes_by_room ON invitation_codes (room_id, expires_at);

-- A watch room's area: inclusive ranges of 4-digit postcodes (NL and BE alike).
CREATE TABLE room_areas (
    room_id TEXT NOT NULL,
    low     INTEGER NOT NULL CHECK (low BETWEEN 1000 AND 9999),
    high    INTEGER NOT NULL CHECK (high BETWEEN low AND 9999),
    PRIMARY KEY (room_id, low, high)
);
CREATE INDEX room_areas_by_range ON room_areas (low, high);

-- A note for the moderators on a join request, from a pre-decision hook ("this code has
-- expired").
ALTER TABLE join_requests ADD COLUMN note TEXT;

-- A postcode sign-up keeps the postcode (its 4 digits, in the request's reason) only until the
-- request is decided, whichever way it is decided.
CREATE TRIGGER join_requests_forget_postcode
AFTER UPDATE OF status ON join_requests
WHEN NEW.source = 'postcode' AND NEW.status != 'open'
BEGIN
    UPDATE join_requests SET reason = NULL, source_ref = NULL WHERE id = NEW.id;
END;

-- The monthly alarm test. `period` is the durable run key ("2026-12" for the monthly test,
-- "manual:<ms>" for !alarmtest): UNIQUE, so a month is never tested twice.
CREATE TABLE alarm_tests (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    period          TEXT NOT NULL UNIQUE,
    started_at      INTEGER NOT NULL,
    report_due      INTEGER NOT NULL,
    requested_by    TEXT,
    reported_at     INTEGER,
    report_event_id TEXT
);
-- One post per watch room; `members` and `readers` are filled in when the report is made.
CREATE TABLE alarm_test_posts (
    test_id  INTEGER NOT NULL REFERENCES alarm_tests (id) ON DELETE CASCADE,
    room_id  TEXT NOT NULL,
    event_id TEXT,
    posted_at INTEGER,
    members  INTEGER,
    readers  INTEGER,
    PRIMARY KEY (test_id, room_id)
);
CREATE INDEX alarm_test_posts_by_event ON alarm_test_posts (event_id);
-- Who read a test post (a read receipt on it or on a later event of the room).
CREATE TABLE alarm_test_reads (
    test_id INTEGER NOT NULL REFERENCES alarm_tests (id) ON DELETE CASCADE,
    room_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    read_at INTEGER NOT NULL,
    PRIMARY KEY (test_id, room_id, user_id)
);
