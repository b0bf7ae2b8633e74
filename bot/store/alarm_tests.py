"""The alarm tests: one row per test (its period is the durable run key), one post per watch
room, and who read each post."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from bot.store.database import Database, from_row, now_ms


@dataclass(frozen=True, slots=True)
class AlarmTest:
    id: int
    period: str
    started_at: int
    report_due: int
    requested_by: str | None
    reported_at: int | None
    report_event_id: str | None


@dataclass(frozen=True, slots=True)
class AlarmTestPost:
    test_id: int
    room_id: str
    event_id: str | None
    posted_at: int | None
    members: int | None
    readers: int | None


class AlarmTestRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def begin(
        self, period: str, report_due: int, requested_by: str | None, room_ids: list[str]
    ) -> AlarmTest | None:
        """Start the test of ``period`` with a pending post per room, or ``None`` when that
        period already has one (the run key makes a second start impossible)."""
        async with self._db.transaction() as tx:
            try:
                cursor = await tx.execute(
                    "INSERT INTO alarm_tests (period, started_at, report_due, requested_by) "
                    "VALUES (?, ?, ?, ?)",
                    (period, now_ms(), report_due, requested_by),
                )
            except sqlite3.IntegrityError:
                return None
            test_id = int(cursor.lastrowid or 0)
            await tx.executemany(
                "INSERT INTO alarm_test_posts (test_id, room_id) VALUES (?, ?)",
                [(test_id, room_id) for room_id in room_ids],
            )
        return await self.get(test_id)

    async def get(self, test_id: int) -> AlarmTest | None:
        row = await self._db.fetchone("SELECT * FROM alarm_tests WHERE id = ?", (test_id,))
        return from_row(AlarmTest, row) if row else None

    async def unfinished(self) -> list[AlarmTest]:
        rows = await self._db.fetchall(
            "SELECT * FROM alarm_tests WHERE reported_at IS NULL ORDER BY id"
        )
        return [from_row(AlarmTest, row) for row in rows]

    async def last_reported(self) -> AlarmTest | None:
        row = await self._db.fetchone(
            "SELECT * FROM alarm_tests WHERE reported_at IS NOT NULL ORDER BY reported_at DESC, "
            "id DESC LIMIT 1"
        )
        return from_row(AlarmTest, row) if row else None

    async def posts(self, test_id: int) -> list[AlarmTestPost]:
        rows = await self._db.fetchall(
            "SELECT * FROM alarm_test_posts WHERE test_id = ? ORDER BY room_id", (test_id,)
        )
        return [from_row(AlarmTestPost, row) for row in rows]

    async def posted(self, test_id: int, room_id: str, event_id: str) -> None:
        await self._db.execute(
            "UPDATE alarm_test_posts SET event_id = ?, posted_at = ? "
            "WHERE test_id = ? AND room_id = ?",
            (event_id, now_ms(), test_id, room_id),
        )

    async def record_reads(self, reads: list[tuple[int, str, str, int]]) -> None:
        """``(test_id, room_id, user_id, ts)`` rows; a person counts once per post."""
        if reads:
            async with self._db.transaction() as tx:
                await tx.executemany(
                    "INSERT OR IGNORE INTO alarm_test_reads (test_id, room_id, user_id, read_at) "
                    "VALUES (?, ?, ?, ?)",
                    reads,
                )

    async def readers(self, test_id: int, room_id: str) -> set[str]:
        rows = await self._db.fetchall(
            "SELECT user_id FROM alarm_test_reads WHERE test_id = ? AND room_id = ?",
            (test_id, room_id),
        )
        return {str(row["user_id"]) for row in rows}

    async def finish(
        self, test_id: int, figures: dict[str, tuple[int, int]], report_event_id: str | None
    ) -> bool:
        """Store the figures (room -> readers, members) and mark the test reported, at once;
        ``False`` when it was reported already."""
        async with self._db.transaction() as tx:
            cursor = await tx.execute(
                "UPDATE alarm_tests SET reported_at = ?, report_event_id = ? "
                "WHERE id = ? AND reported_at IS NULL",
                (now_ms(), report_event_id, test_id),
            )
            if cursor.rowcount == 0:
                return False
            await tx.executemany(
                "UPDATE alarm_test_posts SET readers = ?, members = ? "
                "WHERE test_id = ? AND room_id = ?",
                [(r, m, test_id, room_id) for room_id, (r, m) in figures.items()],
            )
            # Who read what is personal data needed only for the figure: gone once it is made.
            await tx.execute("DELETE FROM alarm_test_reads WHERE test_id = ?", (test_id,))
        return True
