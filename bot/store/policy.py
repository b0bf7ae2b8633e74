"""The municipality's ban list: which users are listed, and which room holds the policy events.

Every join and knock in every watch room is checked against the list, so the entities are
memoised and every write goes through here.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.policy import entity_matches
from bot.store.database import Database, now_ms

POLICY_ROOM_KEY = "policy_room"


@dataclass(frozen=True, slots=True)
class ListedBan:
    entity: str
    reason: str | None
    actor: str
    created_at: int


class PolicyRepository:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._entities: frozenset[str] | None = None
        self._room: str | None = None
        self._room_read = False  # "no policy room" is remembered too: asked on every sync

    async def room_id(self) -> str | None:
        if not self._room_read:
            row = await self._db.fetchone("SELECT value FROM kv WHERE key = ?", (POLICY_ROOM_KEY,))
            self._room = str(row["value"]) if row else None
            self._room_read = True
        return self._room

    async def set_room_id(self, room_id: str) -> None:
        await self._db.execute(
            "INSERT INTO kv (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (POLICY_ROOM_KEY, room_id),
        )
        self._room, self._room_read = room_id, True

    async def add(self, entity: str, reason: str | None, actor: str) -> bool:
        """``False`` if the entity was listed already (the reason is updated)."""
        existed = await self.get(entity) is not None
        await self._db.execute(
            "INSERT INTO policy_bans (entity, reason, actor, created_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (entity) DO UPDATE SET reason = excluded.reason",
            (entity, reason, actor, now_ms()),
        )
        self._entities = None
        return not existed

    async def remove(self, entity: str) -> bool:
        """Take the entity off the list and forget where it was banned because of it."""
        async with self._db.transaction() as tx:
            cursor = await tx.execute("DELETE FROM policy_bans WHERE entity = ?", (entity,))
            removed = cursor.rowcount
            await tx.execute("DELETE FROM policy_room_bans WHERE entity = ?", (entity,))
        self._entities = None
        return removed > 0

    async def banned_in(self, entity: str, room_id: str) -> None:
        await self._db.execute(
            "INSERT OR IGNORE INTO policy_room_bans (entity, room_id) VALUES (?, ?)",
            (entity, room_id),
        )

    async def rooms_banned(self, entity: str) -> list[str]:
        rows = await self._db.fetchall(
            "SELECT room_id FROM policy_room_bans WHERE entity = ? ORDER BY room_id", (entity,)
        )
        return [str(row["room_id"]) for row in rows]

    async def get(self, entity: str) -> ListedBan | None:
        row = await self._db.fetchone("SELECT * FROM policy_bans WHERE entity = ?", (entity,))
        return _ban(row) if row else None

    async def all(self) -> list[ListedBan]:
        rows = await self._db.fetchall("SELECT * FROM policy_bans ORDER BY created_at")
        return [_ban(row) for row in rows]

    async def banned_pairs(self) -> set[tuple[str, str]]:
        """Every (entity, room) where the list already banned someone."""
        rows = await self._db.fetchall("SELECT entity, room_id FROM policy_room_bans")
        return {(str(row["entity"]), str(row["room_id"])) for row in rows}

    async def listed(self, user_id: str) -> str | None:
        """The entry that covers ``user_id`` (an exact ID or a glob), if any. Admission and
        the gate should ask this before they queue or greet someone."""
        for entity in await self.entities():
            if entity_matches(entity, user_id):
                return entity
        return None

    async def entities(self) -> frozenset[str]:
        if self._entities is None:
            rows = await self._db.fetchall("SELECT entity FROM policy_bans")
            self._entities = frozenset(str(row["entity"]) for row in rows)
        return self._entities


def _ban(row: object) -> ListedBan:
    return ListedBan(
        entity=row["entity"],  # type: ignore[index]
        reason=row["reason"],  # type: ignore[index]
        actor=row["actor"],  # type: ignore[index]
        created_at=row["created_at"],  # type: ignore[index]
    )
