"""The room registry: which rooms the bot is in and what role each plays."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.store.database import Database, now_ms


class RoomRole(StrEnum):
    WATCH = "watch"
    COORDINATION = "coordination"
    DIRECT = "direct"  # a private conversation with one person


@dataclass(frozen=True, slots=True)
class KnownRoom:
    room_id: str
    role: RoomRole
    name: str | None
    joined: bool
    emergency_number: str | None = None


class RoomRepository:
    """Rooms are read on every sync batch and every event but change rarely, so reads are
    memoised; every write goes through here and forgets the room's cached row."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._cache: dict[str, KnownRoom | None] = {}

    async def joined(self, room_id: str, role: RoomRole, name: str | None = None) -> None:
        await self._db.execute(
            "INSERT INTO rooms (room_id, role, name, joined_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (room_id) DO UPDATE SET role = excluded.role, "
            "name = COALESCE(excluded.name, rooms.name), left_at = NULL",
            (room_id, role.value, name, now_ms()),
        )
        self._cache.pop(room_id, None)

    async def left(self, room_id: str) -> None:
        await self._db.execute(
            "UPDATE rooms SET left_at = ? WHERE room_id = ? AND left_at IS NULL",
            (now_ms(), room_id),
        )
        self._cache.pop(room_id, None)

    async def forget(self, room_id: str) -> None:
        """A room that is none of the roles (the policy room) must not stay in the registry."""
        await self._db.execute("DELETE FROM rooms WHERE room_id = ?", (room_id,))
        self._cache.pop(room_id, None)

    async def rename(self, room_id: str, name: str) -> None:
        await self._db.execute("UPDATE rooms SET name = ? WHERE room_id = ?", (name, room_id))
        self._cache.pop(room_id, None)

    async def set_emergency_number(self, room_id: str, number: str) -> None:
        await self._db.execute(
            "UPDATE rooms SET emergency_number = ? WHERE room_id = ?", (number, room_id)
        )
        self._cache.pop(room_id, None)

    async def get(self, room_id: str) -> KnownRoom | None:
        if room_id not in self._cache:
            row = await self._db.fetchone("SELECT * FROM rooms WHERE room_id = ?", (room_id,))
            self._cache[room_id] = _room(row) if row else None
        return self._cache[room_id]

    async def list(self, role: RoomRole | None = None, joined_only: bool = True) -> list[KnownRoom]:
        sql = "SELECT * FROM rooms WHERE 1=1"
        params: list[object] = []
        if role is not None:
            sql += " AND role = ?"
            params.append(role.value)
        if joined_only:
            sql += " AND left_at IS NULL"
        rows = await self._db.fetchall(sql + " ORDER BY joined_at", tuple(params))
        return [_room(row) for row in rows]


def _room(row: object) -> KnownRoom:
    return KnownRoom(
        room_id=row["room_id"],  # type: ignore[index]
        role=RoomRole(row["role"]),  # type: ignore[index]
        name=row["name"],  # type: ignore[index]
        joined=row["left_at"] is None,  # type: ignore[index]
        emergency_number=row["emergency_number"],  # type: ignore[index]
    )
