"""Invitation codes: Synapse registration tokens linked to the watch room they open."""

from __future__ import annotations

from dataclasses import dataclass

from bot.store.database import Database, from_row, now_ms


@dataclass(frozen=True, slots=True)
class InvitationCode:
    code: str
    room_id: str
    created_by: str
    created_at: int
    uses_allowed: int
    admissions: int
    expires_at: int
    revoked_at: int | None = None

    @property
    def admissions_left(self) -> int:
        return max(0, self.uses_allowed - self.admissions)

    def usable(self, at_ms: int) -> bool:
        return self.revoked_at is None and at_ms < self.expires_at and self.admissions_left > 0


class InvitationRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(
        self, code: str, room_id: str, created_by: str, uses_allowed: int, expires_at: int
    ) -> InvitationCode:
        created = now_ms()
        await self._db.execute(
            "INSERT INTO invitation_codes (code, room_id, created_by, created_at, uses_allowed, "
            "expires_at) VALUES (?, ?, ?, ?, ?, ?)",
            (code, room_id, created_by, created, uses_allowed, expires_at),
        )
        return InvitationCode(code, room_id, created_by, created, uses_allowed, 0, expires_at)

    async def get(self, code: str) -> InvitationCode | None:
        row = await self._db.fetchone("SELECT * FROM invitation_codes WHERE code = ?", (code,))
        return from_row(InvitationCode, row) if row else None

    async def active(self, room_id: str, at_ms: int | None = None) -> list[InvitationCode]:
        """Codes of a room that can still let someone in, soonest expiry first."""
        rows = await self._db.fetchall(
            "SELECT * FROM invitation_codes WHERE room_id = ? AND revoked_at IS NULL "
            "AND expires_at > ? AND admissions < uses_allowed ORDER BY expires_at",
            (room_id, now_ms() if at_ms is None else at_ms),
        )
        return [from_row(InvitationCode, row) for row in rows]

    async def use(self, code: str, room_id: str, at_ms: int | None = None) -> bool:
        """Take one use of a usable code for this room; ``False`` when it has none left.

        One conditional update, so two knocks at once can never both take the last use.
        """
        changed = await self._db.execute(
            "UPDATE invitation_codes SET admissions = admissions + 1 WHERE code = ? "
            "AND room_id = ? AND revoked_at IS NULL AND expires_at > ? "
            "AND admissions < uses_allowed",
            (code, room_id, now_ms() if at_ms is None else at_ms),
        )
        return changed > 0

    async def give_back(self, code: str) -> None:
        """Return a use taken for an admission whose invite then failed."""
        await self._db.execute(
            "UPDATE invitation_codes SET admissions = MAX(0, admissions - 1) WHERE code = ?",
            (code,),
        )

    async def revoke(self, code: str, actor: str) -> bool:
        changed = await self._db.execute(
            "UPDATE invitation_codes SET revoked_at = ?, revoked_by = ? "
            "WHERE code = ? AND revoked_at IS NULL",
            (now_ms(), actor, code),
        )
        return changed > 0
