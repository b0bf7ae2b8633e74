"""One scheduler for periodic work: run at a local time, survive restarts, never run twice.

Each job has a schedule that names periods ("2026-W49", "2026-12-01") and the local moment a
period's run becomes due. A run is recorded as a key (``digest:2026-W49``) in the ``job_runs``
table *in the same transaction* as the job's result, so a crash before the commit makes the
next start run it again and a crash after it never repeats it. Jobs that talk to Matrix make
their sends idempotent with transaction IDs derived from the run key, so a repeat after a
crash between sending and committing posts nothing new.

Only the latest due period runs: after a month offline the digest is not posted four times.
A job with ``max_delay_ms`` skips (and records) a period whose moment is longer ago than that:
a digest posted on Thursday about the week before last helps nobody, and a first start in
the middle of a week must not post at once. The clock is injectable so tests can move through
weeks without waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time as wall
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

import aiosqlite

from bot.domain.periods import IsoWeek, local, to_ms, week_of_date
from bot.store.database import Database

log = logging.getLogger(__name__)

Clock = Callable[[], int]  # unix milliseconds
Commit = Callable[[aiosqlite.Connection], Awaitable[None]]
MAX_SLEEP_S = 300.0


def system_clock() -> int:
    return int(wall.time() * 1000)


class Schedule(Protocol):
    def latest_due(self, now_ms: int) -> tuple[str, int]:
        """The most recent period whose run is due at or before ``now``: (key, due_ms)."""
        ...

    def next_due_after(self, now_ms: int) -> int: ...


@dataclass(frozen=True, slots=True)
class Weekly:
    """Once per ISO week at ``weekday`` (1 = Monday) ``at`` local time. The period key is
    the ISO week the run falls in."""

    weekday: int
    at: time
    tz: ZoneInfo

    def _due(self, week: IsoWeek) -> int:
        day = week.monday + timedelta(days=self.weekday - 1)
        return to_ms(datetime.combine(day, self.at, tzinfo=self.tz))

    def latest_due(self, now_ms: int) -> tuple[str, int]:
        week = week_of_date(local(now_ms, self.tz).date())
        if self._due(week) > now_ms:
            week = week.previous()
        return week.key, self._due(week)

    def next_due_after(self, now_ms: int) -> int:
        week = week_of_date(local(now_ms, self.tz).date())
        due = self._due(week)
        if due > now_ms:
            return due
        return self._due(week_of_date(week.monday + timedelta(days=7)))


@dataclass(frozen=True, slots=True)
class Daily:
    """Once per local day at ``at``; the period key is the local date."""

    at: time
    tz: ZoneInfo

    def _due(self, moment: datetime) -> int:
        return to_ms(datetime.combine(moment.date(), self.at, tzinfo=self.tz))

    def latest_due(self, now_ms: int) -> tuple[str, int]:
        today = local(now_ms, self.tz)
        if self._due(today) > now_ms:
            today = today - timedelta(days=1)
        return today.date().isoformat(), self._due(today)

    def next_due_after(self, now_ms: int) -> int:
        today = local(now_ms, self.tz)
        due = self._due(today)
        return due if due > now_ms else self._due(today + timedelta(days=1))


class Job(Protocol):
    name: str
    schedule: Schedule
    max_delay_ms: int | None  # skip a period this much later than its moment; None: never

    async def run(self, period: str, due_ms: int) -> Commit:
        """Do the work; return what to write in the run's transaction (may write nothing)."""
        ...


async def _nothing(conn: aiosqlite.Connection) -> None:
    """The result of a skipped run: only its key."""


class JobRuns:
    """The durable table of run keys."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def done(self, key: str) -> bool:
        row = await self._db.fetchone("SELECT 1 FROM job_runs WHERE key = ?", (key,))
        return row is not None

    async def record(self, key: str, commit: Commit, at_ms: int) -> bool:
        """Write the run key and the job's result together; False if the key already exists."""
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                "INSERT OR IGNORE INTO job_runs (key, finished_at) VALUES (?, ?)", (key, at_ms)
            )
            if cursor.rowcount == 0:
                return False
            await commit(conn)
        return True

    async def keys(self, job: str) -> list[str]:
        rows = await self._db.fetchall(
            "SELECT key FROM job_runs WHERE key LIKE ? ORDER BY key", (f"{job}:%",)
        )
        return [row["key"] for row in rows]


class Scheduler:
    def __init__(self, db: Database, clock: Clock = system_clock) -> None:
        self.runs = JobRuns(db)
        self.clock = clock
        self._jobs: list[Job] = []
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()

    def add(self, job: Job) -> None:
        self._jobs.append(job)

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="scheduler")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def poke(self) -> None:
        """Check again now (after the clock was moved, in tests)."""
        self._wake.set()

    async def run_due(self) -> list[str]:
        """Run every job whose latest due period has not run yet; the keys that ran."""
        ran = []
        async with self._lock:
            for job in self._jobs:
                now = self.clock()
                period, due = job.schedule.latest_due(now)
                key = f"{job.name}:{period}"
                if await self.runs.done(key):
                    continue
                if job.max_delay_ms is not None and now - due > job.max_delay_ms:
                    if await self.runs.record(key, _nothing, now):
                        log.info("scheduled job %s skipped: its moment passed too long ago", key)
                    continue
                try:
                    commit = await job.run(period, due)
                    recorded = await self.runs.record(key, commit, self.clock())
                except Exception:
                    log.exception("scheduled job %s failed; it will be retried", key)
                    continue
                if recorded:
                    log.info("scheduled job %s done", key)
                    ran.append(key)
        return ran

    async def _loop(self) -> None:
        """Check, then sleep until the next due moment (at most a few minutes, so a changed
        system clock or a failed job is noticed), waking early when poked."""
        while True:
            try:
                await self.run_due()
            except Exception:  # the database itself: try again later
                log.exception("scheduler check failed")
            now = self.clock()
            upcoming = [(job.schedule.next_due_after(now) - now) / 1000 for job in self._jobs]
            pause = max(1.0, min([*upcoming, MAX_SLEEP_S]))
            self._wake.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=pause)
