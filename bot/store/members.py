"""Member history of watch rooms: who joined when, who left when.

Fed from the ``m.room.member`` events the bot sees (state and timeline of every sync batch, see
``bot/membership.py``); a full-state batch (every start) also reconciles, so a member who left
while the bot was down is closed off and a first start seeds the history from the rooms' current
state with the members' real join times. Replaying a batch after a crash changes nothing: a join
is recorded once per join event, and events older than what is recorded are ignored.

People who left before the bot joined a room are unknown to it, so counts of the past are lower
bounds for the time before the bot arrived.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import aiosqlite

from bot.store.database import Database, now_ms


@dataclass(frozen=True, slots=True)
class MemberChange:
    """One membership event: ``joined`` is True for ``join``, False for leave/kick/ban/invite."""

    user_id: str
    joined: bool
    ts: int
    event_id: str | None = None


@dataclass(frozen=True, slots=True)
class Stint:
    room_id: str
    user_id: str
    joined_ts: int
    left_ts: int | None


class MemberRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def apply(
        self,
        room_id: str,
        changes: Sequence[MemberChange],
        *,
        complete: bool = False,
        now: int | None = None,
    ) -> None:
        """Record a room's membership events, oldest first, in one transaction.

        ``complete`` says the changes describe the room's whole current membership (a
        full-state sync): anyone recorded as a member who is not joined in them has left, at
        ``now``, since we cannot know exactly when.
        """
        left_at = now if now is not None else now_ms()
        async with self._db.transaction() as conn:
            for change in changes:
                await _apply_one(conn, room_id, change)
            if complete:
                final = {change.user_id: change.joined for change in changes}
                still = [user for user, joined in final.items() if joined]
                marks = ",".join("?" * len(still))
                await conn.execute(
                    "UPDATE member_history SET left_ts = ? WHERE room_id = ? AND left_ts IS NULL"
                    + (f" AND user_id NOT IN ({marks})" if still else ""),
                    (left_at, room_id, *still),
                )

    async def room_closed(self, room_id: str, ts: int | None = None) -> int:
        """The bot left the room: it can no longer see who is in it, so every stint ends."""
        return await self._db.execute(
            "UPDATE member_history SET left_ts = ? WHERE room_id = ? AND left_ts IS NULL",
            (ts if ts is not None else now_ms(), room_id),
        )

    async def members(self, room_id: str, at: int | None = None) -> list[str]:
        """User IDs of the room's members now, or at the unix-ms time ``at``."""
        clause, params = _member_at(at)
        rows = await self._db.fetchall(
            f"SELECT DISTINCT user_id FROM member_history WHERE room_id = ? AND {clause} "
            "ORDER BY user_id",
            (room_id, *params),
        )
        return [row["user_id"] for row in rows]

    async def counts(
        self, at: int | None = None, room_ids: Iterable[str] | None = None
    ) -> dict[str, int]:
        """Members per room now (or at ``at``); rooms without members are absent."""
        clause, params = _member_at(at)
        sql = f"SELECT room_id, COUNT(DISTINCT user_id) AS n FROM member_history WHERE {clause}"
        sql, params = _in_rooms(sql, params, room_ids)
        rows = await self._db.fetchall(sql + " GROUP BY room_id", tuple(params))
        return {row["room_id"]: int(row["n"]) for row in rows}

    async def joined_since(
        self, since: int, until: int | None = None, room_ids: Iterable[str] | None = None
    ) -> dict[str, int]:
        """New members per room: people whose stint began in ``[since, until)``."""
        sql = (
            "SELECT room_id, COUNT(DISTINCT user_id) AS n FROM member_history WHERE joined_ts >= ?"
        )
        params: list[object] = [since]
        if until is not None:
            sql += " AND joined_ts < ?"
            params.append(until)
        sql, params = _in_rooms(sql, params, room_ids)
        rows = await self._db.fetchall(sql + " GROUP BY room_id", tuple(params))
        return {row["room_id"]: int(row["n"]) for row in rows}

    async def stints(
        self, since: int, until: int, room_ids: Iterable[str] | None = None
    ) -> list[Stint]:
        """Every stint that overlaps ``[since, until)``, oldest first (for exports)."""
        sql = (
            "SELECT room_id, user_id, joined_ts, left_ts FROM member_history "
            "WHERE joined_ts < ? AND (left_ts IS NULL OR left_ts >= ?)"
        )
        sql, params = _in_rooms(sql, [until, since], room_ids)
        rows = await self._db.fetchall(sql + " ORDER BY joined_ts, id", tuple(params))
        return [Stint(r["room_id"], r["user_id"], r["joined_ts"], r["left_ts"]) for r in rows]

    async def erase_user(self, user_id: str) -> int:
        """AVG/GDPR: forget that this person was ever a member anywhere."""
        return await self._db.execute("DELETE FROM member_history WHERE user_id = ?", (user_id,))

    async def purge_left_before(self, cutoff_ms: int) -> int:
        """Drop stints that ended before the cut-off (their member is long gone)."""
        return await self._db.execute(
            "DELETE FROM member_history WHERE left_ts IS NOT NULL AND left_ts < ?", (cutoff_ms,)
        )


async def _apply_one(conn: aiosqlite.Connection, room_id: str, change: MemberChange) -> None:
    async with conn.execute(
        "SELECT id, joined_ts, left_ts FROM member_history WHERE room_id = ? AND user_id = ? "
        "ORDER BY COALESCE(left_ts, joined_ts) DESC, id DESC LIMIT 1",
        (room_id, change.user_id),
    ) as cursor:
        latest = await cursor.fetchone()
    is_open = latest is not None and latest["left_ts"] is None
    if change.joined:
        if is_open:
            return  # a profile change, or the same join seen again
        if latest is not None and change.ts < latest["left_ts"]:
            return  # older than the leave we already know of
        await conn.execute(
            "INSERT OR IGNORE INTO member_history (room_id, user_id, joined_ts, join_event_id) "
            "VALUES (?, ?, ?, ?)",
            (room_id, change.user_id, change.ts, change.event_id),
        )
    elif is_open and latest is not None and change.ts >= latest["joined_ts"]:
        await conn.execute(
            "UPDATE member_history SET left_ts = ? WHERE id = ?", (change.ts, latest["id"])
        )


def _member_at(at: int | None) -> tuple[str, list[object]]:
    if at is None:
        return "left_ts IS NULL", []
    return "joined_ts <= ? AND (left_ts IS NULL OR left_ts > ?)", [at, at]


def _in_rooms(
    sql: str, params: list[object], room_ids: Iterable[str] | None
) -> tuple[str, list[object]]:
    if room_ids is None:
        return sql, params
    rooms = list(room_ids)
    if not rooms:
        return sql + " AND 0", params
    return sql + f" AND room_id IN ({','.join('?' * len(rooms))})", [*params, *rooms]
