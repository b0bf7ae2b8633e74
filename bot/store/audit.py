"""The audit trail: who did what to whom, where, why and when."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from bot.store.database import Database, now_ms


@dataclass(frozen=True, slots=True)
class AuditEntry:
    actor: str
    action: str
    room_id: str | None = None
    target: str | None = None
    reason: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    ts: int = 0
    id: int = 0


class AuditRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def record(self, entry: AuditEntry) -> AuditEntry:
        ts = entry.ts or now_ms()
        new_id = await self._db.insert(
            "INSERT INTO audit (ts, room_id, actor, action, target, reason, details) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                ts,
                entry.room_id,
                entry.actor,
                entry.action,
                entry.target,
                entry.reason,
                json.dumps(entry.details, ensure_ascii=False),
            ),
        )
        return AuditEntry(
            entry.actor,
            entry.action,
            entry.room_id,
            entry.target,
            entry.reason,
            entry.details,
            ts,
            new_id,
        )

    async def recent(
        self, room_id: str | None = None, target: str | None = None, limit: int = 50
    ) -> list[AuditEntry]:
        sql = "SELECT * FROM audit WHERE 1=1"
        params: list[object] = []
        if room_id is not None:
            sql += " AND room_id = ?"
            params.append(room_id)
        if target is not None:
            sql += " AND target = ?"
            params.append(target)
        rows = await self._db.fetchall(sql + " ORDER BY id DESC LIMIT ?", (*params, limit))
        return [
            AuditEntry(
                actor=row["actor"],
                action=row["action"],
                room_id=row["room_id"],
                target=row["target"],
                reason=row["reason"],
                details=json.loads(row["details"] or "{}"),
                ts=row["ts"],
                id=row["id"],
            )
            for row in rows
        ]
