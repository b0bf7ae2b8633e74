"""The durable inbox between sync and the handlers.

Sync writes every new timeline event here together with the new sync token in one transaction;
per-room workers take events out in order and mark them handled. A crash anywhere in between
means the event is handled after the restart, and the handled-events table means never twice.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from bot.store.database import Database, now_ms

HANDLED_RETENTION_MS = 7 * 24 * 3600 * 1000


@dataclass(frozen=True, slots=True)
class InboxItem:
    seq: int
    event_id: str
    room_id: str
    event: dict[str, Any]


class InboxRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def accept_batch(
        self, next_batch: str, events: Iterable[tuple[str, dict[str, Any]]]
    ) -> list[InboxItem]:
        """Store a sync batch's events and its token atomically; returns the new items.

        Events already handled or already waiting are skipped, so a repeated sync is harmless.
        """
        added: list[InboxItem] = []
        received = now_ms()
        async with self._db.transaction() as tx:
            for room_id, event in events:
                event_id = event.get("event_id")
                if not isinstance(event_id, str):
                    continue
                async with tx.execute(
                    "SELECT 1 FROM handled_events WHERE event_id = ?", (event_id,)
                ) as cursor:
                    if await cursor.fetchone():
                        continue
                cursor = await tx.execute(
                    "INSERT OR IGNORE INTO inbox (event_id, room_id, event, received) "
                    "VALUES (?, ?, ?, ?)",
                    (event_id, room_id, json.dumps(event, ensure_ascii=False), received),
                )
                if cursor.rowcount:
                    added.append(InboxItem(int(cursor.lastrowid or 0), event_id, room_id, event))
            await tx.execute(
                "INSERT INTO kv (key, value) VALUES ('sync_token', ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (next_batch,),
            )
        return added

    async def pending(self) -> list[InboxItem]:
        rows = await self._db.fetchall("SELECT * FROM inbox ORDER BY seq")
        return [
            InboxItem(row["seq"], row["event_id"], row["room_id"], json.loads(row["event"]))
            for row in rows
        ]

    async def mark_handled(self, item: InboxItem) -> None:
        async with self._db.transaction() as tx:
            await tx.execute("DELETE FROM inbox WHERE seq = ?", (item.seq,))
            await tx.execute(
                "INSERT OR IGNORE INTO handled_events (event_id, handled_at) VALUES (?, ?)",
                (item.event_id, now_ms()),
            )
