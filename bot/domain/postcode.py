"""Postcodes of the Netherlands and Belgium, and the 4-digit ranges that make up an area.

Netherlands: four digits (the first not 0) and two capital letters, "1182 AB"; people type
"1182ab", "1182 ab" or "1182-AB". The letter pairs SA, SD and SS are never issued. Belgium:
four digits, "1000" to "9999". A group's area is a list of 4-digit ranges, "1181-1183 1187",
so a Dutch and a Belgian postcode are matched alike on their digits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

UNUSED_LETTER_PAIRS = frozenset({"SA", "SD", "SS"})
MAX_RANGES = 50

_POSTCODE = re.compile(
    r"^(?:(?P<country>nl|be|b)[\s-]?)?(?P<digits>[0-9]{4})(?:[\s-]*(?P<letters>\S{2}))?$",
    re.IGNORECASE,
)
_RANGE = re.compile(r"^(?P<low>[0-9]{4})(?:\s*-\s*(?P<high>[0-9]{4}))?$")


class PostcodeProblem(StrEnum):
    EMPTY = "empty"
    NOT_A_POSTCODE = "not_a_postcode"
    LEADING_ZERO = "leading_zero"  # "0000", "0123": no postcode starts with 0
    NOT_LETTERS = "not_letters"  # "1182 A1", "1182 ÄB"
    UNUSED_PAIR = "unused_pair"  # SA, SD, SS
    BELGIAN_LETTERS = "belgian_letters"  # "B-1000 AB"
    REVERSED_RANGE = "reversed_range"  # "1189-1181"
    TOO_MANY_RANGES = "too_many_ranges"


class PostcodeError(ValueError):
    """Bad input, with the problem (a catalogue key suffix) and the part that was wrong."""

    def __init__(self, problem: PostcodeProblem, text: str) -> None:
        super().__init__(f"{problem.value}: {text!r}")
        self.problem = problem
        self.text = text


@dataclass(frozen=True, slots=True)
class Postcode:
    digits: int  # 1000..9999
    letters: str | None = None  # Dutch letter pair, upper case

    @property
    def area(self) -> str:
        """The 4-digit part, what areas are made of and all the bot keeps."""
        return str(self.digits)

    def __str__(self) -> str:
        return f"{self.digits} {self.letters}" if self.letters else str(self.digits)


@dataclass(frozen=True, slots=True, order=True)
class PostcodeRange:
    low: int
    high: int

    def covers(self, digits: int) -> bool:
        return self.low <= digits <= self.high

    def __str__(self) -> str:
        return str(self.low) if self.low == self.high else f"{self.low}-{self.high}"


def _four_digits(text: str, whole: str) -> int:
    if text.startswith("0"):
        raise PostcodeError(PostcodeProblem.LEADING_ZERO, whole)
    return int(text)


def parse_postcode(text: str) -> Postcode:
    """A Dutch or Belgian postcode as people type it, or a ``PostcodeError`` saying why not."""
    cleaned = " ".join(text.split())
    if not cleaned:
        raise PostcodeError(PostcodeProblem.EMPTY, text)
    match = _POSTCODE.match(cleaned)
    if match is None:
        raise PostcodeError(PostcodeProblem.NOT_A_POSTCODE, cleaned)
    digits = _four_digits(match["digits"], cleaned)
    letters = match["letters"]
    if letters is None:
        return Postcode(digits)
    if (match["country"] or "").lower() in ("b", "be"):
        raise PostcodeError(PostcodeProblem.BELGIAN_LETTERS, cleaned)
    if not re.fullmatch(r"[A-Za-z]{2}", letters):
        raise PostcodeError(PostcodeProblem.NOT_LETTERS, cleaned)
    letters = letters.upper()
    if letters in UNUSED_LETTER_PAIRS:
        raise PostcodeError(PostcodeProblem.UNUSED_PAIR, cleaned)
    return Postcode(digits, letters)


def parse_ranges(text: str) -> list[PostcodeRange]:
    """ "1181-1183 1187" (spaces or commas between parts) as sorted, merged ranges."""
    spaced = re.sub(r"\s*-\s*", "-", text.replace(",", " ").replace(";", " "))
    parts = spaced.split()
    if not parts:
        raise PostcodeError(PostcodeProblem.EMPTY, text)
    if len(parts) > MAX_RANGES:
        raise PostcodeError(PostcodeProblem.TOO_MANY_RANGES, str(len(parts)))
    ranges = []
    for part in parts:
        match = _RANGE.match(part)
        if match is None:
            raise PostcodeError(PostcodeProblem.NOT_A_POSTCODE, part)
        low = _four_digits(match["low"], part)
        high = _four_digits(match["high"], part) if match["high"] else low
        if high < low:
            raise PostcodeError(PostcodeProblem.REVERSED_RANGE, part)
        ranges.append(PostcodeRange(low, high))
    return merge_ranges(ranges)


def merge_ranges(ranges: list[PostcodeRange]) -> list[PostcodeRange]:
    """Overlapping or adjacent ranges as one: 1181-1183 and 1184 are 1181-1184."""
    merged: list[PostcodeRange] = []
    for current in sorted(ranges):
        if merged and current.low <= merged[-1].high + 1:
            last = merged[-1]
            merged[-1] = PostcodeRange(last.low, max(last.high, current.high))
        else:
            merged.append(current)
    return merged


def describe_ranges(ranges: list[PostcodeRange]) -> str:
    return " ".join(str(r) for r in ranges)
