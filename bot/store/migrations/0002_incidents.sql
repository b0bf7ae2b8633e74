-- Incidents recognised in watch rooms, and per-room settings for them.

-- Only what is needed to follow up a report, for a bounded time (incidents.retention_days):
-- no full message text, only a short excerpt.
CREATE TABLE incidents (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    room_id          TEXT NOT NULL,
    event_id         TEXT NOT NULL UNIQUE,
    sender           TEXT NOT NULL,
    ts               INTEGER NOT NULL,        -- the report's own origin_server_ts (unix ms)
    category         TEXT NOT NULL,
    urgent           INTEGER NOT NULL,
    plates           TEXT NOT NULL,           -- JSON list of normal-form plates
    excerpt          TEXT NOT NULL,
    alert_event_id   TEXT,                    -- the alert in the coordination room, if any
    reminder_event_id TEXT,                   -- the threaded SAAR reminder, if any
    updated_at       INTEGER NOT NULL
);
CREATE INDEX incidents_by_room ON incidents (room_id, ts);
CREATE INDEX incidents_by_sender ON incidents (sender);

-- The emergency number a watch room's SAAR reminder names (112, or 101 in Belgium).
ALTER TABLE rooms ADD COLUMN emergency_number TEXT;
