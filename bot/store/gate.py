"""The house-rules gate: per-room switch, members still to accept, and stored acceptances.

``enabled`` is read for every join and every message in a watch room but changes rarely, so it
is memoised; every write goes through here and forgets the cached value.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.store.database import Database, now_ms


@dataclass(frozen=True, slots=True)
class Pending:
    room_id: str
    user_id: str
    since: int
    greeting_room_id: str | None
    greeting_event_id: str | None
    restricted: bool


@dataclass(frozen=True, slots=True)
class Acceptance:
    room_id: str
    user_id: str
    rules_version: str
    accepted_at: int
    via: str
    event_id: str | None
    left_at: int | None


class GateRepository:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._enabled: dict[str, bool] = {}

    # -- the per-room switch ---------------------------------------------------------------

    async def set_enabled(self, room_id: str, enabled: bool, actor: str | None = None) -> None:
        await self._db.execute(
            "INSERT INTO gate_rooms (room_id, enabled, changed_at, changed_by) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (room_id) DO UPDATE SET enabled = excluded.enabled, "
            "changed_at = excluded.changed_at, changed_by = excluded.changed_by",
            (room_id, int(enabled), now_ms(), actor),
        )
        self._enabled.pop(room_id, None)

    async def enabled(self, room_id: str) -> bool:
        if room_id not in self._enabled:
            row = await self._db.fetchone(
                "SELECT enabled FROM gate_rooms WHERE room_id = ?", (room_id,)
            )
            self._enabled[room_id] = bool(row and row["enabled"])
        return self._enabled[room_id]

    async def enabled_rooms(self) -> set[str]:
        rows = await self._db.fetchall("SELECT room_id FROM gate_rooms WHERE enabled = 1")
        return {str(r["room_id"]) for r in rows}

    # -- members still to accept -----------------------------------------------------------

    async def add_pending(self, room_id: str, user_id: str) -> bool:
        """``False`` when the person was already pending here (a repeated join event)."""
        return (
            await self._db.execute(
                "INSERT OR IGNORE INTO gate_pending (room_id, user_id, since) VALUES (?, ?, ?)",
                (room_id, user_id, now_ms()),
            )
            > 0
        )

    async def pending(self, room_id: str, user_id: str) -> Pending | None:
        row = await self._db.fetchone(
            "SELECT * FROM gate_pending WHERE room_id = ? AND user_id = ?", (room_id, user_id)
        )
        return _pending(row) if row else None

    async def pending_for_user(self, user_id: str) -> list[Pending]:
        rows = await self._db.fetchall(
            "SELECT * FROM gate_pending WHERE user_id = ? ORDER BY since", (user_id,)
        )
        return [_pending(r) for r in rows]

    async def pending_in_room(self, room_id: str) -> list[Pending]:
        rows = await self._db.fetchall(
            "SELECT * FROM gate_pending WHERE room_id = ? ORDER BY since", (room_id,)
        )
        return [_pending(r) for r in rows]

    async def pending_by_greeting(self, event_id: str) -> Pending | None:
        row = await self._db.fetchone(
            "SELECT * FROM gate_pending WHERE greeting_event_id = ?", (event_id,)
        )
        return _pending(row) if row else None

    async def set_greeting(self, room_id: str, user_id: str, dm_id: str, event_id: str) -> None:
        await self._db.execute(
            "UPDATE gate_pending SET greeting_room_id = ?, greeting_event_id = ? "
            "WHERE room_id = ? AND user_id = ?",
            (dm_id, event_id, room_id, user_id),
        )

    async def set_restricted(self, room_id: str, user_id: str) -> None:
        await self._db.execute(
            "UPDATE gate_pending SET restricted = 1 WHERE room_id = ? AND user_id = ?",
            (room_id, user_id),
        )

    async def clear_pending(self, room_id: str, user_id: str) -> Pending | None:
        """Forget that the person still has to accept; returns what was stored, if anything."""
        found = await self.pending(room_id, user_id)
        if found is not None:
            await self._db.execute(
                "DELETE FROM gate_pending WHERE room_id = ? AND user_id = ?", (room_id, user_id)
            )
        return found

    # -- acceptances (proof of consent) -----------------------------------------------------

    async def accept(
        self,
        room_id: str,
        user_id: str,
        rules_version: str,
        via: str,
        event_id: str | None,
        ts: int | None = None,
    ) -> None:
        """Store the acceptance and end the pending state, in one transaction."""
        async with self._db.transaction() as tx:
            await tx.execute(
                "INSERT INTO rule_acceptances (room_id, user_id, rules_version, accepted_at, via, "
                "event_id) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET left_at = NULL",
                (room_id, user_id, rules_version, ts or now_ms(), via, event_id),
            )
            await tx.execute(
                "DELETE FROM gate_pending WHERE room_id = ? AND user_id = ?", (room_id, user_id)
            )

    async def acceptances(self, room_id: str, user_id: str) -> list[Acceptance]:
        rows = await self._db.fetchall(
            "SELECT * FROM rule_acceptances WHERE room_id = ? AND user_id = ? ORDER BY accepted_at",
            (room_id, user_id),
        )
        return [_acceptance(r) for r in rows]

    async def has_accepted(self, room_id: str, user_id: str) -> bool:
        """Any version counts: a change of the rules does not silence earlier members."""
        row = await self._db.fetchone(
            "SELECT 1 FROM rule_acceptances WHERE room_id = ? AND user_id = ? LIMIT 1",
            (room_id, user_id),
        )
        return row is not None

    async def rejoined(self, room_id: str, user_id: str) -> None:
        await self._db.execute(
            "UPDATE rule_acceptances SET left_at = NULL WHERE room_id = ? AND user_id = ?",
            (room_id, user_id),
        )

    async def left(self, room_id: str, user_id: str, ts: int | None = None) -> None:
        """The member is gone: no longer pending; acceptances start their retention period."""
        async with self._db.transaction() as tx:
            await tx.execute(
                "DELETE FROM gate_pending WHERE room_id = ? AND user_id = ?", (room_id, user_id)
            )
            await tx.execute(
                "UPDATE rule_acceptances SET left_at = ? WHERE room_id = ? AND user_id = ? "
                "AND left_at IS NULL",
                (ts or now_ms(), room_id, user_id),
            )

    async def purge_acceptances(self, left_before_ms: int) -> int:
        """Retention: acceptances of members who left before ``left_before_ms``."""
        return await self._db.execute(
            "DELETE FROM rule_acceptances WHERE left_at IS NOT NULL AND left_at < ?",
            (left_before_ms,),
        )

    async def erase_user(self, user_id: str) -> int:
        """AVG/GDPR: forget a person's acceptances and pending state everywhere."""
        async with self._db.transaction() as tx:
            await tx.execute("DELETE FROM gate_pending WHERE user_id = ?", (user_id,))
            cursor = await tx.execute("DELETE FROM rule_acceptances WHERE user_id = ?", (user_id,))
            return int(cursor.rowcount)


def _pending(row: object) -> Pending:
    return Pending(
        row["room_id"],  # type: ignore[index]
        row["user_id"],  # type: ignore[index]
        row["since"],  # type: ignore[index]
        row["greeting_room_id"],  # type: ignore[index]
        row["greeting_event_id"],  # type: ignore[index]
        bool(row["restricted"]),  # type: ignore[index]
    )


def _acceptance(row: object) -> Acceptance:
    return Acceptance(
        row["room_id"],  # type: ignore[index]
        row["user_id"],  # type: ignore[index]
        row["rules_version"],  # type: ignore[index]
        row["accepted_at"],  # type: ignore[index]
        row["via"],  # type: ignore[index]
        row["event_id"],  # type: ignore[index]
        row["left_at"],  # type: ignore[index]
    )
