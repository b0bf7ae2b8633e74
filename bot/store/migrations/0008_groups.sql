-- Groups: the municipality's ban list (the bot's m.policy.rule.user rules, one row each).
-- The policy room's ID lives in kv under "policy_room". A row exists while the ban lasts and
-- is deleted when it is lifted (the audit table keeps who banned and who lifted it).
CREATE TABLE policy_bans (
    entity      TEXT PRIMARY KEY,          -- the user ID the rule names
    reason      TEXT,
    actor       TEXT NOT NULL,             -- the coordination-room moderator who banned
    created_at  INTEGER NOT NULL           -- unix ms
);

-- The watch rooms where the bot banned a listed user because of the list, so lifting the
-- municipal ban unbans exactly there (and never lifts a ban a room's own moderator gave).
CREATE TABLE policy_room_bans (
    entity   TEXT NOT NULL,
    room_id  TEXT NOT NULL,
    PRIMARY KEY (entity, room_id)
);
