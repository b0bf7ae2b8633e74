-- Conduct: strikes per user per room, and mutes that outlive a restart.

CREATE TABLE strikes (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    room_id   TEXT NOT NULL,
    user_id   TEXT NOT NULL,
    ts        INTEGER NOT NULL,            -- the offending event's own timestamp (unix ms)
    rule_id   TEXT NOT NULL,
    event_id  TEXT UNIQUE,                 -- one strike per event, even if handled twice
    actor     TEXT NOT NULL                -- the bot (automatic) or the moderator (!waarschuw)
);
CREATE INDEX strikes_by_user ON strikes (room_id, user_id, ts);

-- A mute lowers the user's power level below events_default until `until_ms`; the previous
-- level is kept so unmuting restores it exactly.
CREATE TABLE mutes (
    room_id        TEXT NOT NULL,
    user_id        TEXT NOT NULL,
    until_ms       INTEGER NOT NULL,
    previous_level INTEGER,                -- NULL: the user had the room's default level
    actor          TEXT NOT NULL,
    reason         TEXT,
    PRIMARY KEY (room_id, user_id)
);
CREATE INDEX mutes_by_end ON mutes (until_ms);

-- Direct-message rooms the bot opened (or was invited to) for private reminders and the
-- signalement explanation. They get their own role so they never count as watch rooms; the
-- CHECK constraint of 0001 is widened by rebuilding the table, keeping every row.
CREATE TABLE rooms_new (
    room_id          TEXT PRIMARY KEY,
    role             TEXT NOT NULL CHECK (role IN ('watch', 'coordination', 'direct')),
    name             TEXT,
    joined_at        INTEGER NOT NULL,
    left_at          INTEGER,
    emergency_number TEXT
);
INSERT INTO rooms_new (room_id, role, name, joined_at, left_at, emergency_number)
    SELECT room_id, role, name, joined_at, left_at, emergency_number FROM rooms;
DROP TABLE rooms;
ALTER TABLE rooms_new RENAME TO rooms;

CREATE TABLE direct_rooms (
    user_id  TEXT PRIMARY KEY,
    room_id  TEXT NOT NULL UNIQUE
);
