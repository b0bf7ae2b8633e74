"""The scheduler: due at local times, once per period, restart-proof, result and key together."""

from __future__ import annotations

from datetime import UTC, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import aiosqlite
import pytest

from bot.scheduler import Commit, Scheduler, Weekly
from bot.store.database import Database

AMS = ZoneInfo("Europe/Amsterdam")


def utc_ms(*parts: int) -> int:
    return int(datetime(*parts, tzinfo=UTC).timestamp() * 1000)


class Clock:
    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


class CountingJob:
    name = "digest"
    max_delay_ms: int | None = None

    def __init__(self, fail_commit: bool = False) -> None:
        self.schedule = Weekly(1, time(8, 0), AMS)
        self.runs: list[str] = []
        self.fail_commit = fail_commit

    async def run(self, period: str, due_ms: int) -> Commit:
        self.runs.append(period)

        async def commit(conn: aiosqlite.Connection) -> None:
            await conn.execute("INSERT INTO results (period) VALUES (?)", (period,))
            if self.fail_commit:
                raise RuntimeError("disk full")

        return commit


async def open_db(path: Path) -> Database:
    db = await Database.open(path)
    await db.execute("CREATE TABLE IF NOT EXISTS results (period TEXT)")
    return db


async def results(db: Database) -> list[str]:
    return [row["period"] for row in await db.fetchall("SELECT period FROM results")]


async def test_runs_once_per_week_across_restarts(tmp_path: Path) -> None:
    clock = Clock(utc_ms(2026, 3, 30, 5, 0))  # Monday 07:00 CEST: W14's run not yet due
    db = await open_db(tmp_path / "bot.sqlite3")
    job = CountingJob()
    scheduler = Scheduler(db, clock)
    scheduler.add(job)
    assert await scheduler.run_due() == ["digest:2026-W13"]  # the last week's run was missed
    clock.now = utc_ms(2026, 3, 30, 6, 0)  # 08:00 CEST
    assert await scheduler.run_due() == ["digest:2026-W14"]
    assert await scheduler.run_due() == []
    await db.close()

    db = await open_db(tmp_path / "bot.sqlite3")  # a restart in the same week
    again = Scheduler(db, clock)
    again.add(CountingJob())
    assert await again.run_due() == []
    clock.now = utc_ms(2026, 4, 27, 7)  # four weeks offline: only the latest period runs
    assert await again.run_due() == ["digest:2026-W18"]
    assert await results(db) == ["2026-W13", "2026-W14", "2026-W18"]
    assert await again.runs.keys("digest") == [
        "digest:2026-W13",
        "digest:2026-W14",
        "digest:2026-W18",
    ]
    await db.close()


async def test_a_failed_commit_records_neither_result_nor_key(tmp_path: Path) -> None:
    db = await open_db(tmp_path / "bot.sqlite3")
    job = CountingJob(fail_commit=True)
    scheduler = Scheduler(db, Clock(utc_ms(2026, 3, 30, 7)))
    scheduler.add(job)
    assert await scheduler.run_due() == []
    assert await results(db) == [] and not await scheduler.runs.done("digest:2026-W14")
    job.fail_commit = False
    assert await scheduler.run_due() == ["digest:2026-W14"]  # retried, then done once
    assert job.runs == ["2026-W14", "2026-W14"]
    await db.close()


@pytest.mark.parametrize("weekday", [1, 7])
def test_weekly_period_is_the_iso_week_of_the_run(weekday: int) -> None:
    schedule = Weekly(weekday, time(8, 0), AMS)
    sunday_evening = utc_ms(2026, 12, 6, 20)  # Sunday of ISO week 49
    key, due = schedule.latest_due(sunday_evening)
    assert key == "2026-W49"
    assert due == (utc_ms(2026, 11, 30, 7) if weekday == 1 else utc_ms(2026, 12, 6, 7))


async def test_a_job_with_a_delay_limit_skips_a_period_that_is_too_late(tmp_path: Path) -> None:
    db = await open_db(tmp_path / "bot.sqlite3")
    job = CountingJob()
    job.max_delay_ms = 24 * 3_600_000
    clock = Clock(utc_ms(2026, 12, 2, 12))  # Wednesday: Monday's moment is 52 h ago
    scheduler = Scheduler(db, clock)
    scheduler.add(job)
    assert await scheduler.run_due() == [] and job.runs == []
    assert await scheduler.runs.done("digest:2026-W49")
    clock.now = utc_ms(2026, 12, 7, 6)  # the next Monday, 07:00 CET: not due yet
    assert await scheduler.run_due() == []
    clock.now = utc_ms(2026, 12, 7, 7, 5)
    assert await scheduler.run_due() == ["digest:2026-W50"]
    await db.close()
