"""Local calendar periods for reports and schedules: ISO weeks and days in one time zone.

Everything is computed on local wall-clock dates and converted to UTC only at the edges, so a
week that contains a daylight-saving change is simply 167 or 169 hours long and every event
lands in the week (and hour) a resident would name.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class Window:
    """A half-open interval ``[start_ms, end_ms)`` of unix milliseconds."""

    start_ms: int
    end_ms: int

    def contains(self, ts_ms: int) -> bool:
        return self.start_ms <= ts_ms < self.end_ms


@dataclass(frozen=True, slots=True)
class IsoWeek:
    year: int
    week: int

    @property
    def key(self) -> str:
        return f"{self.year}-W{self.week:02d}"

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.week, 1)

    def previous(self) -> IsoWeek:
        return week_of_date(self.monday - timedelta(days=7))

    def window(self, tz: ZoneInfo) -> Window:
        """Monday 00:00 to the next Monday 00:00, local time."""
        return Window(local_midnight_ms(self.monday, tz), local_midnight_ms(self.monday + WEEK, tz))


WEEK = timedelta(days=7)


def week_of_date(day: date) -> IsoWeek:
    year, week, _ = day.isocalendar()
    return IsoWeek(year, week)


def local(ts_ms: int, tz: ZoneInfo) -> datetime:
    return datetime.fromtimestamp(ts_ms / 1000, tz=UTC).astimezone(tz)


def week_of(ts_ms: int, tz: ZoneInfo) -> IsoWeek:
    return week_of_date(local(ts_ms, tz).date())


def local_midnight_ms(day: date, tz: ZoneInfo) -> int:
    return to_ms(datetime.combine(day, time(0), tzinfo=tz))


def to_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def local_hour(ts_ms: int, tz: ZoneInfo) -> int:
    return local(ts_ms, tz).hour


def last_complete_week(now_ms: int, tz: ZoneInfo) -> IsoWeek:
    """The most recent Monday–Sunday week that has fully ended by ``now``."""
    return week_of(now_ms, tz).previous()


def days_window(now_ms: int, days: int, tz: ZoneInfo) -> Window:
    """The last ``days`` local calendar days up to now: from midnight ``days - 1`` days ago."""
    today = local(now_ms, tz).date()
    return Window(local_midnight_ms(today - timedelta(days=days - 1), tz), now_ms)


def dates_window(since: date, until: date | None, now_ms: int, tz: ZoneInfo) -> Window:
    """``since`` 00:00 up to the end of ``until`` (inclusive), or up to now without one."""
    end = local_midnight_ms(until + timedelta(days=1), tz) if until else now_ms
    return Window(local_midnight_ms(since, tz), end)
