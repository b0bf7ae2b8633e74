-- Reports as residents send them: a photo (or video, file) with a caption, and a shared location.

-- What the report came with: 'image', 'video' or 'file' (NULL for a text report).
ALTER TABLE incidents ADD COLUMN attachment TEXT;
-- A location the reporter shared, rounded to 4 decimals (about 10 m) before it is stored.
-- Kept and erased with the incident row itself (retention purge, redaction, !vergeet).
ALTER TABLE incidents ADD COLUMN latitude REAL;
ALTER TABLE incidents ADD COLUMN longitude REAL;

-- The privacy tip about recognisable faces in photos: at most one per person per period.
CREATE TABLE face_tips (
    user_id  TEXT PRIMARY KEY,
    sent_at  INTEGER NOT NULL              -- unix ms of the last tip
);
