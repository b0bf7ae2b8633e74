"""When the monthly alarm test is due, and how reach is ranked."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

from bot.domain.alarm_test import Monthly, Reach, total, weakest_first

AMS = ZoneInfo("Europe/Amsterdam")


def ms(*parts: int) -> int:
    return int(datetime(*parts, tzinfo=AMS).timestamp() * 1000)


def test_a_day_of_the_month_in_local_time_clamped_to_short_months() -> None:
    first = Monthly(1, time(19, 0), AMS)
    assert first.latest_due(ms(2026, 12, 1, 19, 0)) == ("2026-12", ms(2026, 12, 1, 19, 0))
    assert first.latest_due(ms(2026, 12, 1, 18, 59)) == ("2026-11", ms(2026, 11, 1, 19, 0))
    assert first.latest_due(ms(2026, 1, 1, 0, 0))[0] == "2025-12"
    assert first.next_due_after(ms(2026, 12, 1, 19, 0)) == ms(2027, 1, 1, 19, 0)
    last = Monthly(31, time(19, 0), AMS)
    assert last.latest_due(ms(2027, 2, 28, 20, 0)) == ("2027-02", ms(2027, 2, 28, 19, 0))
    # Summer time: 19:00 in Amsterdam is 17:00 UTC in July, 18:00 UTC in December.
    assert Monthly(1, time(19, 0), AMS).due_ms(2026, 7) == int(
        datetime(2026, 7, 1, 17, 0, tzinfo=ZoneInfo("UTC")).timestamp() * 1000
    )


def test_the_first_weekday_of_the_month() -> None:
    first_monday = Monthly(1, time(20, 0), AMS, weekday=0)
    assert first_monday.latest_due(ms(2026, 12, 8)) == ("2026-12", ms(2026, 12, 7, 20, 0))
    assert first_monday.latest_due(ms(2026, 12, 3)) == ("2026-11", ms(2026, 11, 2, 20, 0))
    first_tuesday = Monthly(1, time(20, 0), AMS, weekday=1)
    assert first_tuesday.due_ms(2026, 12) == ms(2026, 12, 1, 20, 0)


def test_reach_weakest_first() -> None:
    rooms = [
        Reach("!a", "Noord", 2, 3),
        Reach("!b", "Zuid", 1, 10),
        Reach("!c", "Oost", 0, 0),
        Reach("!d", "West", 5, 5),
        Reach("!e", "Dorp", 1, 2),
    ]
    assert [r.name for r in weakest_first(rooms)] == ["Oost", "Zuid", "Dorp", "Noord", "West"]
    assert rooms[0].percent == 67 and rooms[2].percent == 0
    assert (total(rooms).readers, total(rooms).members) == (9, 20)
