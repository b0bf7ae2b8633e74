"""The monthly alarm test: when it is due, and how its reach is summed up.

A month's test is due at its local moment (a day of the month, or the first given weekday,
at a time) and stays worth posting until its window closes; the period key ("2026-12") is what
makes a month's test happen once. Reach is readers out of joined members per room, weakest
first. Read receipts are the only signal: private receipts (``m.read.private``) are invisible,
so every figure is a lower bound.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
WEAKEST_SHOWN = 3


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


@dataclass(frozen=True, slots=True)
class Monthly:
    """Once a month at ``at`` local time: on ``day`` (clamped to the month's last day), or on
    the first ``weekday`` (0 = Monday) of the month when that is given."""

    day: int
    at: time
    tz: ZoneInfo
    weekday: int | None = None

    def _day(self, year: int, month: int) -> date:
        if self.weekday is None:
            return date(year, month, min(self.day, calendar.monthrange(year, month)[1]))
        first = date(year, month, 1)
        return first + timedelta(days=(self.weekday - first.weekday()) % 7)

    def due_ms(self, year: int, month: int) -> int:
        return _ms(datetime.combine(self._day(year, month), self.at, tzinfo=self.tz))

    def latest_due(self, now_ms: int) -> tuple[str, int]:
        """The most recent month whose moment is at or before ``now``: (``"2026-12"``, ms)."""
        today = datetime.fromtimestamp(now_ms / 1000, tz=self.tz)
        year, month = today.year, today.month
        if self.due_ms(year, month) > now_ms:
            year, month = (year, month - 1) if month > 1 else (year - 1, 12)
        return f"{year:04d}-{month:02d}", self.due_ms(year, month)

    def next_due_after(self, now_ms: int) -> int:
        today = datetime.fromtimestamp(now_ms / 1000, tz=self.tz)
        due = self.due_ms(today.year, today.month)
        if due > now_ms:
            return due
        year, month = (today.year, today.month + 1) if today.month < 12 else (today.year + 1, 1)
        return self.due_ms(year, month)


@dataclass(frozen=True, slots=True)
class Reach:
    room_id: str
    name: str
    readers: int
    members: int

    @property
    def percent(self) -> int:
        return round(100 * self.readers / self.members) if self.members else 0


def weakest_first(rooms: list[Reach]) -> list[Reach]:
    """Lowest share first; equal shares by the larger room (more people unreached), then name."""
    return sorted(
        rooms, key=lambda r: (r.readers / r.members if r.members else 0, -r.members, r.name)
    )


def total(rooms: list[Reach]) -> Reach:
    return Reach("", "", sum(r.readers for r in rooms), sum(r.members for r in rooms))
