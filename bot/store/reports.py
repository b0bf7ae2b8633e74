"""Read-only figures over the store for reports (``!overzicht`` first; ``!stats``, the digest
and exports should read here too, so a figure never differs between chat and export)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.store.database import Database


@dataclass(frozen=True, slots=True)
class IncidentSummary:
    recent: int  # reports since the cut-off
    last_ts: int | None  # the newest report still stored (retention bounds how far back)


async def incident_summary(db: Database, since_ms: int) -> dict[str, IncidentSummary]:
    """Per room: reports since ``since_ms`` and the time of the last one; rooms without any
    stored report are absent."""
    rows = await db.fetchall(
        "SELECT room_id, SUM(ts >= ?) AS recent, MAX(ts) AS last_ts FROM incidents "
        "GROUP BY room_id",
        (since_ms,),
    )
    return {
        str(row["room_id"]): IncidentSummary(int(row["recent"] or 0), row["last_ts"])
        for row in rows
    }
