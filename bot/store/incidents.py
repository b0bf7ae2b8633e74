"""Incident records: one row per recognised report, updated on edit, removed on redaction."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

from bot.domain.geo import GeoPoint
from bot.store.database import Database, now_ms


@dataclass(frozen=True, slots=True)
class Incident:
    room_id: str
    event_id: str
    sender: str
    ts: int
    category: str
    urgent: bool
    plates: tuple[str, ...]
    excerpt: str
    alert_event_id: str | None = None
    reminder_event_id: str | None = None
    attachment: str | None = None  # "image", "video" or "file" when the report had one
    location: GeoPoint | None = None  # shared by the reporter; stored rounded (~10 m)
    id: int = 0

    def with_(self, **changes: object) -> Incident:
        return replace(self, **changes)  # type: ignore[arg-type]


class IncidentRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def save(self, incident: Incident) -> Incident:
        """Insert, or update the record of the same event (an edit re-classifies it)."""
        await self._db.execute(
            "INSERT INTO incidents (room_id, event_id, sender, ts, category, urgent, plates, "
            "excerpt, alert_event_id, reminder_event_id, attachment, latitude, longitude, "
            "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (event_id) DO UPDATE SET category = excluded.category, "
            "urgent = excluded.urgent, plates = excluded.plates, excerpt = excluded.excerpt, "
            "alert_event_id = excluded.alert_event_id, "
            "reminder_event_id = excluded.reminder_event_id, attachment = excluded.attachment, "
            "latitude = excluded.latitude, longitude = excluded.longitude, "
            "updated_at = excluded.updated_at",
            (
                incident.room_id,
                incident.event_id,
                incident.sender,
                incident.ts,
                incident.category,
                int(incident.urgent),
                json.dumps(list(incident.plates)),
                incident.excerpt,
                incident.alert_event_id,
                incident.reminder_event_id,
                incident.attachment,
                *_coordinates(incident.location),
                now_ms(),
            ),
        )
        saved = await self.get(incident.event_id)
        assert saved is not None
        return saved

    async def get(self, event_id: str) -> Incident | None:
        row = await self._db.fetchone("SELECT * FROM incidents WHERE event_id = ?", (event_id,))
        return _incident(row) if row else None

    async def delete(self, event_id: str) -> bool:
        return await self._db.execute("DELETE FROM incidents WHERE event_id = ?", (event_id,)) > 0

    async def recent(self, room_id: str | None = None, limit: int = 20) -> list[Incident]:
        if room_id is None:
            rows = await self._db.fetchall(
                "SELECT * FROM incidents ORDER BY ts DESC LIMIT ?", (limit,)
            )
        else:
            rows = await self._db.fetchall(
                "SELECT * FROM incidents WHERE room_id = ? ORDER BY ts DESC LIMIT ?",
                (room_id, limit),
            )
        return [_incident(row) for row in rows]

    async def latest_by(self, room_id: str, sender: str, since_ms: int) -> Incident | None:
        """The newest report of ``sender`` in the room since ``since_ms`` (a location shared
        right after a report belongs to it)."""
        row = await self._db.fetchone(
            "SELECT * FROM incidents WHERE room_id = ? AND sender = ? AND ts >= ? "
            "ORDER BY ts DESC, id DESC LIMIT 1",
            (room_id, sender, since_ms),
        )
        return _incident(row) if row else None


def _incident(row: object) -> Incident:
    r = row  # sqlite3.Row
    return Incident(
        room_id=r["room_id"],  # type: ignore[index]
        event_id=r["event_id"],  # type: ignore[index]
        sender=r["sender"],  # type: ignore[index]
        ts=r["ts"],  # type: ignore[index]
        category=r["category"],  # type: ignore[index]
        urgent=bool(r["urgent"]),  # type: ignore[index]
        plates=tuple(json.loads(r["plates"])),  # type: ignore[index]
        excerpt=r["excerpt"],  # type: ignore[index]
        alert_event_id=r["alert_event_id"],  # type: ignore[index]
        reminder_event_id=r["reminder_event_id"],  # type: ignore[index]
        attachment=r["attachment"],  # type: ignore[index]
        location=None
        if r["latitude"] is None  # type: ignore[index]
        else GeoPoint(r["latitude"], r["longitude"]),  # type: ignore[index]
        id=r["id"],  # type: ignore[index]
    )


def _coordinates(point: GeoPoint | None) -> tuple[float | None, float | None]:
    """Only the rounded point is ever written: the exact one is not needed to follow up."""
    if point is None:
        return None, None
    rounded = point.rounded()
    return rounded.latitude, rounded.longitude
