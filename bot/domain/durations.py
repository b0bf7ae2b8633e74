"""Durations typed by moderators ("!mute Jan 2u") and written in config ("24h").

Moderators type in Dutch or English, with or without spaces ("1h30m",
"1 uur 30 minuten", "2,5 dag"). Errors carry a machine-readable code rather than
a sentence so the caller can answer in the room's language.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from enum import StrEnum

MINUTE = 60
HOUR = 60 * MINUTE
DAY = 24 * HOUR
WEEK = 7 * DAY
YEAR = 365 * DAY
DEFAULT_MAX_SECONDS = 365 * DAY
# Nobody types a duration longer than this; longer input is garbage, not a duration.
_MAX_INPUT_CHARS = 64

_UNITS: dict[str, int] = {
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds", "seconde", "seconden"), 1),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes", "minuut", "minuten"), MINUTE),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours", "u", "uur", "uren"), HOUR),
    **dict.fromkeys(("d", "day", "days", "dag", "dagen"), DAY),
    **dict.fromkeys(("w", "wk", "week", "weeks", "weken"), WEEK),
    **dict.fromkeys(("mnd", "maand", "maanden", "month", "months"), 30 * DAY),
    **dict.fromkeys(("j", "jr", "jaar", "jaren", "y", "yr", "year", "years"), YEAR),
}
_PART = re.compile(r"([0-9]+(?:[.,][0-9]+)?)\s*([a-z]+)", re.ASCII)
# Words people put between parts: "1 uur en 30 minuten", "1 hour, 30 minutes".
_FILLER = re.compile(r"(?:\s|,|\ben\b|\band\b)*", re.ASCII)


class DurationErrorCode(StrEnum):
    UNPARSEABLE = "unparseable"
    NEGATIVE = "negative"
    ZERO = "zero"
    TOO_LONG = "too_long"


class DurationError(ValueError):
    """A duration the caller should explain back to the moderator, in their language."""

    def __init__(self, code: DurationErrorCode, text: str) -> None:
        super().__init__(f"{code.value}: {text!r}")
        self.code = code
        self.text = text


def parse_duration(text: str, *, max_seconds: int = DEFAULT_MAX_SECONDS) -> int:
    """Seconds in ``text``; raises :class:`DurationError` when unusable.

    A bare number is rejected rather than guessed (minutes? hours?): a mute that
    lasts sixty times longer than intended is worse than asking again.
    """
    raw = text
    text = text.strip().lower()
    if not text or len(text) > _MAX_INPUT_CHARS:
        raise DurationError(DurationErrorCode.UNPARSEABLE, raw)
    negative = text[0] in "-−"
    if negative or text[0] == "+":
        text = text[1:].lstrip()
    total = Decimal(0)
    pos = _FILLER.match(text).end()  # type: ignore[union-attr]
    seen_part = False
    while pos < len(text):
        part = _PART.match(text, pos)
        if part is None or part.group(2) not in _UNITS:
            raise DurationError(DurationErrorCode.UNPARSEABLE, raw)
        try:
            amount = Decimal(part.group(1).replace(",", "."))
        except InvalidOperation as exc:  # pragma: no cover - the regex admits only numbers
            raise DurationError(DurationErrorCode.UNPARSEABLE, raw) from exc
        total += amount * _UNITS[part.group(2)]
        seen_part = True
        pos = _FILLER.match(text, part.end()).end()  # type: ignore[union-attr]
    if not seen_part:
        raise DurationError(DurationErrorCode.UNPARSEABLE, raw)
    if negative and total > 0:
        raise DurationError(DurationErrorCode.NEGATIVE, raw)
    seconds = int(total.to_integral_value())
    if seconds <= 0:
        raise DurationError(DurationErrorCode.ZERO, raw)
    if seconds > max_seconds:
        raise DurationError(DurationErrorCode.TOO_LONG, raw)
    return seconds


# (seconds, Dutch singular, Dutch plural, English singular, English plural)
_NAMES = (
    (WEEK, "week", "weken", "week", "weeks"),
    (DAY, "dag", "dagen", "day", "days"),
    (HOUR, "uur", "uur", "hour", "hours"),
    (MINUTE, "minuut", "minuten", "minute", "minutes"),
    (1, "seconde", "seconden", "second", "seconds"),
)


def format_duration(seconds: int, lang: str = "nl") -> str:
    """Human wording for ``seconds``: "1 uur 30 minuten", "2 days"; "0 seconden" for nothing.

    Weeks are used only when they divide the whole: "10 dagen" reads better than
    "1 week 3 dagen".
    """
    remaining = max(0, int(seconds))
    english = lang.lower().startswith("en")
    words = []
    for unit, nl_one, nl_many, en_one, en_many in _NAMES:
        if unit == WEEK and remaining % WEEK:
            continue
        amount, remaining = divmod(remaining, unit)
        if amount:
            one, many = (en_one, en_many) if english else (nl_one, nl_many)
            words.append(f"{amount} {one if amount == 1 else many}")
    if not words:
        return "0 seconds" if english else "0 seconden"
    return " ".join(words)
