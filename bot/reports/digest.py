"""The weekly digest: figures of one ISO week against the week before, as text and chart.

``build`` reads (through ``ReportQueries``) and returns plain numbers, the same dict that is
stored in the ``digests`` table and stays after the underlying personal data is purged.
Urgent reports are listed in the posted text with links, but only counted in the stored
figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain.periods import IsoWeek
from bot.reports.queries import IncidentRow, ReportQueries


@dataclass(frozen=True, slots=True)
class Digest:
    week: IsoWeek
    figures: dict[str, Any]
    urgent: list[IncidentRow]


async def build(queries: ReportQueries, week: IsoWeek, tz: ZoneInfo) -> Digest:
    this_window, last_window = week.window(tz), week.previous().window(tz)
    this_rooms = await queries.room_figures(this_window)
    ids = [room.room_id for room in this_rooms]
    last_rooms = {room.room_id: room for room in await queries.room_figures(last_window, ids)}
    moderation: dict[str, int] = {}
    for room in this_rooms:
        for action, count in room.moderation.items():
            moderation[action] = moderation.get(action, 0) + count
    reach = await queries.bulletin_reach(this_window)
    urgent = await queries.incidents(this_window, urgent_only=True)
    figures = {
        "week": week.key,
        "previous": week.previous().key,
        "window_ms": [this_window.start_ms, this_window.end_ms],
        "rooms": [
            {
                "room_id": room.room_id,
                "name": room.name,
                "this_week": room.incidents,
                "last_week": last_rooms[room.room_id].incidents,
                "urgent": room.urgent,
                "members": room.members,
                "new_members": room.new_members,
                "moderation": room.moderation_total,
                "bulletins": room.bulletins,
            }
            for room in this_rooms
        ],
        "hours": await queries.busiest_hours(this_window, tz),
        "urgent": len(urgent),
        "moderation": dict(sorted(moderation.items())),
        "bulletins": {
            "sent": len(reach),
            "rooms_reached": sum(r.rooms_sent for r in reach),
            "rooms_failed": sum(r.rooms_failed for r in reach),
            "members_reached": sum(r.members_reached for r in reach),
        },
    }
    return Digest(week, figures, urgent)


def busiest(hours: list[int], top: int = 3) -> list[tuple[int, int]]:
    """The ``top`` hours with most reports, as (hour, count), busiest first, ties by hour."""
    ranked = sorted(((count, -hour) for hour, count in enumerate(hours) if count), reverse=True)
    return [(-neg_hour, count) for count, neg_hour in ranked[:top]]
