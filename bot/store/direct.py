"""Which direct chat the bot uses with each person (the table behind ``matrix/direct.py``)."""

from __future__ import annotations

from bot.store.database import Database


class DirectRoomRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, user_id: str) -> str | None:
        row = await self._db.fetchone(
            "SELECT room_id FROM direct_rooms WHERE user_id = ?", (user_id,)
        )
        return str(row["room_id"]) if row else None

    async def save(self, user_id: str, room_id: str) -> None:
        await self._db.execute(
            "INSERT INTO direct_rooms (user_id, room_id) VALUES (?, ?) "
            "ON CONFLICT (user_id) DO UPDATE SET room_id = excluded.room_id",
            (user_id, room_id),
        )

    async def user_of(self, room_id: str) -> str | None:
        row = await self._db.fetchone(
            "SELECT user_id FROM direct_rooms WHERE room_id = ?", (room_id,)
        )
        return str(row["user_id"]) if row else None
