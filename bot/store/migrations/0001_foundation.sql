-- Foundation: session, sync position, known rooms, audit trail, and the durable inbox.

-- Small named values: the sync token ("sync_token") and the login session ("session").
CREATE TABLE kv (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Rooms the bot is (or was) in, and what they are for.
CREATE TABLE rooms (
    room_id    TEXT PRIMARY KEY,
    role       TEXT NOT NULL CHECK (role IN ('watch', 'coordination')),
    name       TEXT,
    joined_at  INTEGER NOT NULL,           -- unix ms
    left_at    INTEGER                     -- NULL while joined
);

-- Every moderation or relay action, automatic or by command.
CREATE TABLE audit (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    ts        INTEGER NOT NULL,            -- unix ms
    room_id   TEXT,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    target    TEXT,
    reason    TEXT,
    details   TEXT                         -- JSON object
);
CREATE INDEX audit_by_target ON audit (room_id, target, ts);

-- Events received by sync but not yet handled. Written in the same transaction as the sync
-- token, so a crash between receiving and handling loses nothing; rows are deleted once
-- handled. Decrypted bodies live here only for that short while.
CREATE TABLE inbox (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id   TEXT NOT NULL UNIQUE,
    room_id    TEXT NOT NULL,
    event      TEXT NOT NULL,              -- the (decrypted) event as JSON
    received   INTEGER NOT NULL            -- unix ms
);
CREATE INDEX inbox_by_room ON inbox (room_id, seq);

-- IDs of events already handled, so a sync that repeats one never handles it twice.
CREATE TABLE handled_events (
    event_id   TEXT PRIMARY KEY,
    handled_at INTEGER NOT NULL
);
CREATE INDEX handled_by_age ON handled_events (handled_at);
