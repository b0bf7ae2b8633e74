-- Police bulletins and alerts: a durable outbox with one delivery row per target watch room.

-- Labels group watch rooms (e.g. "westwijk") so a bulletin can go to some of them only.
CREATE TABLE room_labels (
    room_id  TEXT NOT NULL,
    label    TEXT NOT NULL,                -- lower case, without the '#'
    PRIMARY KEY (room_id, label)
);
CREATE INDEX room_labels_by_label ON room_labels (label);

-- One row per !bericht / !alarm / !alarm einde. The command's event ID is UNIQUE, so handling
-- the same command again after a crash finds the existing row instead of sending twice.
CREATE TABLE bulletins (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,   -- also the alarm number (#nr)
    kind             TEXT NOT NULL CHECK (kind IN ('bulletin', 'alert', 'alert_end')),
    sender           TEXT NOT NULL,
    source_room      TEXT NOT NULL,
    source_event_id  TEXT NOT NULL UNIQUE,
    labels           TEXT NOT NULL DEFAULT '[]',          -- JSON list the sender asked for
    plain            TEXT NOT NULL,                       -- the copy as watch rooms see it
    html             TEXT NOT NULL,
    version          INTEGER NOT NULL DEFAULT 1,          -- +1 on every edit by the sender
    redacted         INTEGER NOT NULL DEFAULT 0,
    parent_id        INTEGER REFERENCES bulletins (id),   -- alert_end: the alert it closes
    status_event_id  TEXT,                                -- the bot's progress reply
    created_at       INTEGER NOT NULL,                    -- unix ms
    finished_at      INTEGER                              -- unix ms, once nothing is pending
);

-- Per bulletin and room: what happened to that copy. The worker's whole to-do list.
CREATE TABLE deliveries (
    bulletin_id      INTEGER NOT NULL REFERENCES bulletins (id),
    room_id          TEXT NOT NULL,
    state            TEXT NOT NULL DEFAULT 'pending'
                     CHECK (state IN ('pending', 'sent', 'failed', 'cancelled')),
    event_id         TEXT,                                -- the copy in that room
    version_sent     INTEGER NOT NULL DEFAULT 0,          -- < bulletins.version: edit due
    redacted         INTEGER NOT NULL DEFAULT 0,
    attempts         INTEGER NOT NULL DEFAULT 0,          -- transient failures in a row
    error            TEXT,                                -- last error code, if any
    next_attempt_at  INTEGER NOT NULL DEFAULT 0,          -- unix ms; backoff after an error
    sent_at          INTEGER,                             -- unix ms the copy was confirmed
    PRIMARY KEY (bulletin_id, room_id)
);
CREATE INDEX deliveries_by_state ON deliveries (state, next_attempt_at);
