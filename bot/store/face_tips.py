"""When each person last got the privacy tip about recognisable faces in their photos."""

from __future__ import annotations

from bot.store.database import Database


class FaceTipRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def claim(self, user_id: str, now_ms: int, interval_ms: int) -> bool:
        """Record a tip for ``user_id`` unless one was given within ``interval_ms``.

        One statement decides and records, so two photos handled at once give one tip.
        """
        changed = await self._db.execute(
            "INSERT INTO face_tips (user_id, sent_at) VALUES (?, ?) "
            "ON CONFLICT (user_id) DO UPDATE SET sent_at = excluded.sent_at "
            "WHERE face_tips.sent_at <= ?",
            (user_id, now_ms, now_ms - interval_ms),
        )
        return changed > 0

    async def erase_user(self, user_id: str) -> int:
        """AVG/GDPR: forget that this person ever got the tip."""
        return await self._db.execute("DELETE FROM face_tips WHERE user_id = ?", (user_id,))

    async def purge_older_than(self, cutoff_ms: int) -> int:
        """A record older than the tip interval decides nothing any more."""
        return await self._db.execute("DELETE FROM face_tips WHERE sent_at < ?", (cutoff_ms,))
