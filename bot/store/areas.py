"""Postcode areas of the watch rooms: which group covers which 4-digit postcodes."""

from __future__ import annotations

from bot.domain.postcode import PostcodeRange
from bot.store.database import Database


class AreaRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def set_area(self, room_id: str, ranges: list[PostcodeRange]) -> None:
        """Replace a room's area in one transaction (an empty list clears it)."""
        async with self._db.transaction() as tx:
            await tx.execute("DELETE FROM room_areas WHERE room_id = ?", (room_id,))
            await tx.executemany(
                "INSERT OR IGNORE INTO room_areas (room_id, low, high) VALUES (?, ?, ?)",
                [(room_id, r.low, r.high) for r in ranges],
            )

    async def all_areas(self) -> dict[str, list[PostcodeRange]]:
        rows = await self._db.fetchall("SELECT * FROM room_areas ORDER BY low, high")
        areas: dict[str, list[PostcodeRange]] = {}
        for row in rows:
            areas.setdefault(row["room_id"], []).append(PostcodeRange(row["low"], row["high"]))
        return areas

    async def rooms_covering(self, digits: int) -> list[str]:
        rows = await self._db.fetchall(
            "SELECT DISTINCT room_id FROM room_areas WHERE low <= ? AND high >= ? ORDER BY room_id",
            (digits, digits),
        )
        return [str(row["room_id"]) for row in rows]
