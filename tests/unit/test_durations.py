"""Durations moderators type after !mute, in Dutch or English."""

from __future__ import annotations

import pytest

from bot.domain.durations import DurationError, DurationErrorCode, format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30m", 1800),
        ("2h", 7200),
        ("1d", 86400),
        ("1w", 604800),
        ("90s", 90),
        ("1u", 3600),
        ("2 uur", 7200),
        ("3 dagen", 3 * 86400),
        ("1h30m", 5400),
        ("45 min", 2700),
        ("1 uur en 30 minuten", 5400),
        ("1 hour, 30 minutes", 5400),
        ("2 weken", 14 * 86400),
        ("1,5 uur", 5400),
        ("1.5h", 5400),
        ("  24H ", 86400),
        ("1 jaar", 365 * 86400),
    ],
)
def test_moderators_can_type_durations_naturally(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("-5m", DurationErrorCode.NEGATIVE),
        ("10 jaar", DurationErrorCode.TOO_LONG),
        ("400d", DurationErrorCode.TOO_LONG),
        ("abc", DurationErrorCode.UNPARSEABLE),
        ("30", DurationErrorCode.UNPARSEABLE),  # minutes or hours? ask instead of guessing
        ("", DurationErrorCode.UNPARSEABLE),
        ("5 parsecs", DurationErrorCode.UNPARSEABLE),
        ("1h zomaar", DurationErrorCode.UNPARSEABLE),
        ("0m", DurationErrorCode.ZERO),
        ("9" * 60 + "d", DurationErrorCode.TOO_LONG),
        ("1d" * 40, DurationErrorCode.UNPARSEABLE),  # absurdly long input
    ],
)
def test_bad_durations_name_the_problem(text: str, code: DurationErrorCode) -> None:
    with pytest.raises(DurationError) as excinfo:
        parse_duration(text)
    assert excinfo.value.code is code
    assert excinfo.value.text == text


def test_the_maximum_is_configurable() -> None:
    assert parse_duration("2h", max_seconds=7200) == 7200
    with pytest.raises(DurationError) as excinfo:
        parse_duration("3h", max_seconds=7200)
    assert excinfo.value.code is DurationErrorCode.TOO_LONG


@pytest.mark.parametrize(
    ("seconds", "nl", "en"),
    [
        (5400, "1 uur 30 minuten", "1 hour 30 minutes"),
        (86400, "1 dag", "1 day"),
        (2 * 86400, "2 dagen", "2 days"),
        (7 * 86400, "1 week", "1 week"),
        (10 * 86400, "10 dagen", "10 days"),
        (3600, "1 uur", "1 hour"),
        (7200, "2 uur", "2 hours"),
        (60, "1 minuut", "1 minute"),
        (1, "1 seconde", "1 second"),
        (0, "0 seconden", "0 seconds"),
    ],
)
def test_durations_read_naturally_in_both_languages(seconds: int, nl: str, en: str) -> None:
    assert format_duration(seconds, "nl") == nl
    assert format_duration(seconds, "en") == en


@pytest.mark.parametrize("text", ["30m", "1h30m", "3 dagen", "1w", "90s", "2,5 dag"])
def test_formatted_durations_parse_back_to_the_same_length(text: str) -> None:
    seconds = parse_duration(text)
    assert parse_duration(format_duration(seconds, "nl")) == seconds
    assert parse_duration(format_duration(seconds, "en")) == seconds
