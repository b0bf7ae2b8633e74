"""Weeks in Europe/Amsterdam across both daylight-saving changes, and the scheduler's periods."""

from __future__ import annotations

from datetime import UTC, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.domain.periods import IsoWeek, days_window, last_complete_week, week_of
from bot.reports.digest import build, busiest
from bot.reports.queries import ReportQueries
from bot.scheduler import Daily, Weekly
from bot.store import Store
from bot.store.incidents import Incident
from bot.store.rooms import RoomRole

AMS = ZoneInfo("Europe/Amsterdam")
ROOM = "!noord:example.org"


def utc_ms(*parts: int) -> int:
    return int(datetime(*parts, tzinfo=UTC).timestamp() * 1000)


def test_weeks_with_a_dst_change_are_167_and_169_hours_long() -> None:
    spring = IsoWeek(2026, 13).window(AMS)  # 23–29 March 2026, clocks go forward on the 29th
    autumn = IsoWeek(2026, 43).window(AMS)  # 19–25 October 2026, clocks go back on the 25th
    assert (spring.end_ms - spring.start_ms) / 3_600_000 == 167
    assert (autumn.end_ms - autumn.start_ms) / 3_600_000 == 169
    assert spring.start_ms == utc_ms(2026, 3, 22, 23)  # Monday 00:00 CET
    assert spring.end_ms == utc_ms(2026, 3, 29, 22)  # next Monday 00:00 CEST
    assert autumn.end_ms == utc_ms(2026, 10, 25, 23)  # next Monday 00:00 CET


def test_an_event_just_after_local_midnight_belongs_to_the_new_local_week() -> None:
    # Sunday 22:30 UTC is Monday 00:30 in Amsterdam in summer time ...
    assert week_of(utc_ms(2026, 3, 29, 22, 30), AMS) == IsoWeek(2026, 14)
    assert week_of(utc_ms(2026, 3, 29, 21, 30), AMS) == IsoWeek(2026, 13)
    # ... and Sunday 23:30 UTC is Monday 00:30 in winter time.
    assert week_of(utc_ms(2026, 10, 25, 23, 30), AMS) == IsoWeek(2026, 44)
    assert week_of(utc_ms(2026, 10, 25, 22, 30), AMS) == IsoWeek(2026, 43)
    assert last_complete_week(utc_ms(2026, 3, 30, 7), AMS) == IsoWeek(2026, 13)
    assert IsoWeek(2026, 1).previous() == IsoWeek(2025, 52)


def test_weekly_and_daily_schedules_keep_local_time_across_dst() -> None:
    weekly = Weekly(1, time(8, 0), AMS)
    assert weekly.latest_due(utc_ms(2026, 3, 30, 6, 0)) == ("2026-W14", utc_ms(2026, 3, 30, 6))
    assert weekly.latest_due(utc_ms(2026, 3, 30, 5, 59)) == ("2026-W13", utc_ms(2026, 3, 23, 7))
    assert weekly.next_due_after(utc_ms(2026, 3, 23, 7)) == utc_ms(2026, 3, 30, 6)
    assert weekly.next_due_after(utc_ms(2026, 10, 20, 0)) == utc_ms(2026, 10, 26, 7)
    daily = Daily(time(3, 30), AMS)
    assert daily.latest_due(utc_ms(2026, 10, 25, 2, 30)) == (
        "2026-10-25",
        utc_ms(2026, 10, 25, 2, 30),
    )
    assert daily.latest_due(utc_ms(2026, 10, 25, 1, 0))[0] == "2026-10-24"
    assert daily.next_due_after(utc_ms(2026, 3, 28, 3)) == utc_ms(2026, 3, 29, 1, 30)


def test_days_window_starts_at_local_midnight() -> None:
    now = utc_ms(2026, 3, 30, 10)
    window = days_window(now, 7, AMS)
    assert window.start_ms == utc_ms(2026, 3, 23, 23)  # Tuesday 24 March 00:00 CET: 7 days
    assert window.end_ms == now


async def test_weekly_aggregation_across_both_dst_changes(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "bot.sqlite3")
    try:
        await store.rooms.joined(ROOM, RoomRole.WATCH, "Noord")
        reports = {
            "$a": (utc_ms(2026, 3, 29, 21, 30), "burglary"),  # Sun 23:30 CEST: W13
            "$b": (utc_ms(2026, 3, 29, 22, 30), "theft"),  # Mon 00:30 CEST: W14
            "$c": (utc_ms(2026, 10, 25, 22, 30), "fire"),  # Sun 23:30 CET: W43
            "$d": (utc_ms(2026, 10, 25, 23, 30), "fraud"),  # Mon 00:30 CET: W44
        }
        for event_id, (ts, category) in reports.items():
            await store.incidents.save(
                Incident(ROOM, event_id, "@anna:x", ts, category, False, (), "tekst")
            )
        queries = ReportQueries(store)
        spring = await build(queries, IsoWeek(2026, 14), AMS)
        [room] = spring.figures["rooms"]
        assert room["this_week"] == {"theft": 1} and room["last_week"] == {"burglary": 1}
        assert busiest(spring.figures["hours"]) == [(0, 1)]
        autumn = await build(queries, IsoWeek(2026, 43), AMS)
        [room] = autumn.figures["rooms"]
        assert room["this_week"] == {"fire": 1} and room["last_week"] == {}
        assert busiest(autumn.figures["hours"]) == [(23, 1)]
        assert (await build(queries, IsoWeek(2026, 44), AMS)).figures["rooms"][0]["this_week"] == {
            "fraud": 1
        }
    finally:
        await store.close()
