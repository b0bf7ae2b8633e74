"""Strikes and mutes."""

from __future__ import annotations

from dataclasses import dataclass

from bot.store.database import Database


@dataclass(frozen=True, slots=True)
class Strike:
    room_id: str
    user_id: str
    ts: int
    rule_id: str
    actor: str
    event_id: str | None = None


@dataclass(frozen=True, slots=True)
class Mute:
    room_id: str
    user_id: str
    until_ms: int
    previous_level: int | None
    actor: str
    reason: str | None = None


class ConductRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    # -- strikes -------------------------------------------------------------------------

    async def add_strike(self, strike: Strike) -> bool:
        """Record a strike; ``False`` if this event already earned one (handled twice)."""
        return (
            await self._db.execute(
                "INSERT OR IGNORE INTO strikes (room_id, user_id, ts, rule_id, event_id, actor) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (
                    strike.room_id,
                    strike.user_id,
                    strike.ts,
                    strike.rule_id,
                    strike.event_id,
                    strike.actor,
                ),
            )
            > 0
        )

    async def strikes(self, room_id: str, user_id: str, since_ms: int = 0) -> list[Strike]:
        rows = await self._db.fetchall(
            "SELECT * FROM strikes WHERE room_id = ? AND user_id = ? AND ts > ? ORDER BY ts",
            (room_id, user_id, since_ms),
        )
        return [
            Strike(r["room_id"], r["user_id"], r["ts"], r["rule_id"], r["actor"], r["event_id"])
            for r in rows
        ]

    async def clear_strikes(self, room_id: str, user_id: str) -> int:
        return await self._db.execute(
            "DELETE FROM strikes WHERE room_id = ? AND user_id = ?", (room_id, user_id)
        )

    # -- mutes ---------------------------------------------------------------------------

    async def save_mute(self, mute: Mute) -> None:
        await self._db.execute(
            "INSERT INTO mutes (room_id, user_id, until_ms, previous_level, actor, reason) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (room_id, user_id) DO UPDATE SET "
            "until_ms = excluded.until_ms, actor = excluded.actor, reason = excluded.reason",
            (
                mute.room_id,
                mute.user_id,
                mute.until_ms,
                mute.previous_level,
                mute.actor,
                mute.reason,
            ),
        )

    async def mute(self, room_id: str, user_id: str) -> Mute | None:
        row = await self._db.fetchone(
            "SELECT * FROM mutes WHERE room_id = ? AND user_id = ?", (room_id, user_id)
        )
        return _mute(row) if row else None

    async def forget_previous_level(self, room_id: str, user_id: str) -> None:
        """Unmuting should restore the room default (e.g. the gate's restriction is over)."""
        await self._db.execute(
            "UPDATE mutes SET previous_level = NULL WHERE room_id = ? AND user_id = ?",
            (room_id, user_id),
        )

    async def delete_mute(self, room_id: str, user_id: str) -> None:
        await self._db.execute(
            "DELETE FROM mutes WHERE room_id = ? AND user_id = ?", (room_id, user_id)
        )

    async def mutes(self) -> list[Mute]:
        return [_mute(r) for r in await self._db.fetchall("SELECT * FROM mutes ORDER BY until_ms")]

    async def erase_user(self, user_id: str) -> int:
        """AVG/GDPR: forget a person's strikes (mutes stay until lifted, for safety)."""
        return await self._db.execute("DELETE FROM strikes WHERE user_id = ?", (user_id,))


def _mute(row: object) -> Mute:
    return Mute(
        row["room_id"],  # type: ignore[index]
        row["user_id"],  # type: ignore[index]
        row["until_ms"],  # type: ignore[index]
        row["previous_level"],  # type: ignore[index]
        row["actor"],  # type: ignore[index]
        row["reason"],  # type: ignore[index]
    )
