-- Reports and data governance: the scheduler's run keys and the figures of past digests.

-- One row per scheduled run that completed ("digest:2026-W49", "purge:2026-12-01"), written in
-- the same transaction as the run's result, so no period ever runs twice.
CREATE TABLE job_runs (
    key          TEXT PRIMARY KEY,
    finished_at  INTEGER NOT NULL             -- unix ms
);

-- The weekly digest as posted: aggregated numbers only (no user IDs, no excerpts), so they
-- stay when the retention purge removes the underlying personal data.
CREATE TABLE digests (
    week            TEXT PRIMARY KEY,         -- the reported ISO week, e.g. 2026-W48
    run_key         TEXT NOT NULL,
    figures         TEXT NOT NULL,            -- JSON
    event_id        TEXT,                     -- the text message in the coordination room
    image_event_id  TEXT,                     -- the chart
    created_at      INTEGER NOT NULL
);
