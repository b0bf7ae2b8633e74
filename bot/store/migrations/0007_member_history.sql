-- Who was a member of which watch room, and when: one row per membership stint (a join until
-- the matching leave, kick or ban). Reports count members now and at past times from here;
-- the bot itself is never listed. `join_event_id` makes replaying a sync batch harmless.
CREATE TABLE member_history (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    room_id        TEXT NOT NULL,
    user_id        TEXT NOT NULL,
    joined_ts      INTEGER NOT NULL,        -- the join event's origin_server_ts (unix ms)
    left_ts        INTEGER,                 -- NULL while a member
    join_event_id  TEXT UNIQUE
);
CREATE INDEX member_history_by_room ON member_history (room_id, user_id, left_ts);
CREATE INDEX member_history_by_user ON member_history (user_id);
CREATE INDEX member_history_by_time ON member_history (joined_ts, left_ts);
