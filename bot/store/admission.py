"""Join requests: the one table behind knocks (and later postcode sign-ups and invitation codes).

The short number moderators type is the row id. Deciding is a conditional update from
``open``: when two moderators answer at once, exactly one update changes a row and the other
learns who was first, so a request is never decided twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.store.database import Database, now_ms


class Source(StrEnum):
    KNOCK = "knock"
    POSTCODE = "postcode"
    CODE = "code"


class Status(StrEnum):
    OPEN = "open"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"  # the requester took it back
    CLEARED = "cleared"  # the person left or was removed some other way


@dataclass(frozen=True, slots=True)
class JoinRequest:
    id: int
    room_id: str
    user_id: str
    source: Source
    source_ref: str | None
    display_name: str | None
    reason: str | None
    created_at: int
    status: Status
    decided_by: str | None = None
    decided_at: int | None = None
    decision_reason: str | None = None
    notice_room_id: str | None = None
    notice_event_id: str | None = None
    note: str | None = None  # for the moderators, from a pre-decision hook (e.g. a bad code)

    @property
    def is_open(self) -> bool:
        return self.status is Status.OPEN


class AdmissionRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def request(
        self,
        room_id: str,
        user_id: str,
        source: Source,
        source_ref: str | None = None,
        display_name: str | None = None,
        reason: str | None = None,
        ts: int | None = None,
    ) -> tuple[JoinRequest, bool]:
        """File a request; ``(request, True)`` when new, ``(existing open one, False)`` when the
        person already waits for this room or this very source event was filed before."""
        async with self._db.transaction() as tx:
            async with tx.execute(
                "SELECT * FROM join_requests WHERE (room_id = ? AND user_id = ? AND status = "
                "'open') OR (source = ? AND source_ref IS ? AND source_ref IS NOT NULL) "
                "ORDER BY id DESC LIMIT 1",
                (room_id, user_id, source.value, source_ref),
            ) as cursor:
                row = await cursor.fetchone()
            if row is not None:
                return _request(row), False
            cursor = await tx.execute(
                "INSERT INTO join_requests (room_id, user_id, source, source_ref, display_name, "
                "reason, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    room_id,
                    user_id,
                    source.value,
                    source_ref,
                    display_name,
                    reason,
                    ts or now_ms(),
                ),
            )
            new_id = int(cursor.lastrowid or 0)
        found = await self.get(new_id)
        assert found is not None
        return found, True

    async def get(self, request_id: int) -> JoinRequest | None:
        row = await self._db.fetchone("SELECT * FROM join_requests WHERE id = ?", (request_id,))
        return _request(row) if row else None

    async def by_notice(self, event_id: str) -> JoinRequest | None:
        row = await self._db.fetchone(
            "SELECT * FROM join_requests WHERE notice_event_id = ?", (event_id,)
        )
        return _request(row) if row else None

    async def latest(self, room_id: str, user_id: str) -> JoinRequest | None:
        """The person's most recent request for this room, open or decided."""
        row = await self._db.fetchone(
            "SELECT * FROM join_requests WHERE room_id = ? AND user_id = ? "
            "ORDER BY id DESC LIMIT 1",
            (room_id, user_id),
        )
        return _request(row) if row else None

    async def open_for_user(self, user_id: str) -> list[JoinRequest]:
        rows = await self._db.fetchall(
            "SELECT * FROM join_requests WHERE user_id = ? AND status = 'open' ORDER BY id",
            (user_id,),
        )
        return [_request(r) for r in rows]

    async def open_requests(self, room_id: str | None = None) -> list[JoinRequest]:
        sql = "SELECT * FROM join_requests WHERE status = 'open'"
        params: tuple[str, ...] = ()
        if room_id is not None:
            sql, params = sql + " AND room_id = ?", (room_id,)
        return [_request(r) for r in await self._db.fetchall(sql + " ORDER BY id", params)]

    async def open_count_by_room(self) -> dict[str, int]:
        """Open requests per watch room, for the municipality's overview."""
        rows = await self._db.fetchall(
            "SELECT room_id, COUNT(*) AS n FROM join_requests WHERE status = 'open' "
            "GROUP BY room_id"
        )
        return {str(r["room_id"]): int(r["n"]) for r in rows}

    async def set_note(self, request_id: int, note: str | None) -> None:
        await self._db.execute("UPDATE join_requests SET note = ? WHERE id = ?", (note, request_id))

    async def set_notice(self, request_id: int, room_id: str, event_id: str) -> None:
        await self._db.execute(
            "UPDATE join_requests SET notice_room_id = ?, notice_event_id = ? WHERE id = ?",
            (room_id, event_id, request_id),
        )

    async def decide(
        self,
        request_id: int,
        status: Status,
        actor: str,
        reason: str | None = None,
        ts: int | None = None,
    ) -> bool:
        """Close an open request; ``False`` when it was already closed (by someone else)."""
        changed = await self._db.execute(
            "UPDATE join_requests SET status = ?, decided_by = ?, decided_at = ?, "
            "decision_reason = ? WHERE id = ? AND status = 'open'",
            (status.value, actor, ts or now_ms(), reason, request_id),
        )
        return changed > 0

    async def reopen(self, request_id: int) -> None:
        """Undo a decision whose Matrix action failed, so it can be decided again."""
        await self._db.execute(
            "UPDATE join_requests SET status = 'open', decided_by = NULL, decided_at = NULL, "
            "decision_reason = NULL WHERE id = ?",
            (request_id,),
        )

    async def close_open(
        self, room_id: str, user_id: str, status: Status, actor: str, reason: str | None = None
    ) -> JoinRequest | None:
        """Close the person's open request for a room, if any, and return it closed."""
        async with self._db.transaction() as tx:
            async with tx.execute(
                "SELECT id FROM join_requests WHERE room_id = ? AND user_id = ? "
                "AND status = 'open'",
                (room_id, user_id),
            ) as cursor:
                row = await cursor.fetchone()
            if row is None:
                return None
            await tx.execute(
                "UPDATE join_requests SET status = ?, decided_by = ?, decided_at = ?, "
                "decision_reason = ? WHERE id = ?",
                (status.value, actor, now_ms(), reason, row["id"]),
            )
        return await self.get(int(row["id"]))


def _request(row: object) -> JoinRequest:
    r = row  # sqlite3.Row
    return JoinRequest(
        id=int(r["id"]),  # type: ignore[index]
        room_id=r["room_id"],  # type: ignore[index]
        user_id=r["user_id"],  # type: ignore[index]
        source=Source(r["source"]),  # type: ignore[index]
        source_ref=r["source_ref"],  # type: ignore[index]
        display_name=r["display_name"],  # type: ignore[index]
        reason=r["reason"],  # type: ignore[index]
        created_at=r["created_at"],  # type: ignore[index]
        status=Status(r["status"]),  # type: ignore[index]
        decided_by=r["decided_by"],  # type: ignore[index]
        decided_at=r["decided_at"],  # type: ignore[index]
        decision_reason=r["decision_reason"],  # type: ignore[index]
        notice_room_id=r["notice_room_id"],  # type: ignore[index]
        notice_event_id=r["notice_event_id"],  # type: ignore[index]
        note=r["note"],  # type: ignore[index]
    )
