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
            # One read and two batched writes, however many members: a first start in a
            # room of 250 is 250 changes, and a round trip each held up the sync loop.
            async with conn.execute(
                "SELECT id, user_id, joined_ts, left_ts, join_event_id FROM member_history "
                "WHERE room_id = ? ORDER BY COALESCE(left_ts, joined_ts), id",
                (room_id,),
            ) as cursor:
                recorded = [_Stint(**dict(row)) for row in await cursor.fetchall()]
            opened, closed = _plan(recorded, changes)
            await conn.executemany(
                "UPDATE member_history SET left_ts = ? WHERE id = ?",
                [(stint.left_ts, stint.id) for stint in closed],
            )
            await conn.executemany(
                "INSERT OR IGNORE INTO member_history "
                "(room_id, user_id, joined_ts, left_ts, join_event_id) VALUES (?, ?, ?, ?, ?)",
                [(room_id, s.user_id, s.joined_ts, s.left_ts, s.join_event_id) for s in opened],
            )
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


@dataclass(slots=True)
class _Stint:
    """A stint as recorded (``id`` set) or as opened by the batch being planned (``None``)."""

    id: int | None
    user_id: str
    joined_ts: int
    left_ts: int | None
    join_event_id: str | None


def _plan(
    recorded: Sequence[_Stint], changes: Sequence[MemberChange]
) -> tuple[list[_Stint], list[_Stint]]:
    """The stints a batch opens and the recorded stints it closes.

    ``recorded`` is the room's history, oldest first, so the last stint per member is the
    one a change applies to. A join while a member (a profile change, a replay) or older than
    the last known leave changes nothing, and neither does a join event already recorded.
    """
    latest = {stint.user_id: stint for stint in recorded}
    seen = {stint.join_event_id for stint in recorded if stint.join_event_id}
    opened: list[_Stint] = []
    closed: list[_Stint] = []
    for change in changes:
        last = latest.get(change.user_id)
        is_open = last is not None and last.left_ts is None
        if change.joined:
            if is_open or (change.event_id is not None and change.event_id in seen):
                continue
            if last is not None and last.left_ts is not None and change.ts < last.left_ts:
                continue
            stint = _Stint(None, change.user_id, change.ts, None, change.event_id)
            opened.append(stint)
            latest[change.user_id] = stint
            if change.event_id is not None:
                seen.add(change.event_id)
        elif is_open and last is not None and change.ts >= last.joined_ts:
            last.left_ts = change.ts
            if last.id is not None:
                closed.append(last)
    return opened, closed


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
