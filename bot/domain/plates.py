"""Find Dutch and Belgian licence plates in free text and bring them to normal form.

A plate ends up in alerts that go to the coordination room and the police, so precision
wins over recall: a shape that could just as well be a postcode, date, time, unit or
abbreviation is only accepted in a form people do not use for those (with the plate's own
dashes) or when the message talks about a plate ("kenteken", "nummerplaat", "plate").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from bot.domain.text import clean

__all__ = ["PLATE_NORMAL_FORM", "extract_plates", "extract_plates_clean", "normalize_plate"]

PLATE_NORMAL_FORM = re.compile(
    r"^[A-Z0-9]{1,3}-[A-Z0-9]{2,3}-[A-Z0-9]{1,3}$|^[A-Z0-9]{3}-[A-Z0-9]{3}$"
)


@dataclass(frozen=True, slots=True)
class _Format:
    """One plate layout. `strict` layouts (no vowels etc.) are safe without context."""

    groups: tuple[str, ...]  # e.g. ("LL", "99", "99")
    country: str
    sidecode: int  # Dutch sidecode; 0 for Belgian layouts
    spaced_ok: bool  # may be accepted typed with spaces or nothing, without plate context


# Dutch sidecodes 1-3 date from before 1978 and allow vowels, so "om 12 30" would read as
# one; they (and Belgian plates, which allow vowels too) need dashes or context.
_FORMATS = (
    _Format(("LL", "99", "99"), "NL", 1, False),
    _Format(("99", "99", "LL"), "NL", 2, False),
    _Format(("99", "LL", "99"), "NL", 3, False),
    _Format(("LL", "99", "LL"), "NL", 4, True),
    _Format(("LL", "LL", "99"), "NL", 5, True),
    _Format(("99", "LL", "LL"), "NL", 6, True),
    _Format(("99", "LLL", "9"), "NL", 7, True),
    _Format(("9", "LLL", "99"), "NL", 8, True),
    _Format(("LL", "999", "L"), "NL", 9, True),
    _Format(("L", "999", "LL"), "NL", 10, True),
    _Format(("LLL", "99", "L"), "NL", 11, True),
    _Format(("L", "99", "LLL"), "NL", 12, True),
    _Format(("9", "LL", "999"), "NL", 13, True),
    _Format(("999", "LL", "9"), "NL", 14, True),
    _Format(("9", "LLL", "999"), "BE", 0, False),
    _Format(("LLL", "999"), "BE", 0, False),
    _Format(("999", "LLL"), "BE", 0, False),
)


# Candidates hold only a-z and 0-9 once separators are split off; a shape is the text
# with letters as L and digits as 9, e.g. "LL-999-L".
_SHAPE_TABLE = str.maketrans("abcdefghijklmnopqrstuvwxyz0123456789", "L" * 26 + "9" * 10)
_DIGITS_TABLE = str.maketrans("", "", "0123456789")
_BY_SHAPE = {"-".join(f.groups): f for f in _FORMATS}
# Compact tokens ("vnl38p") carry no group boundaries; sidecodes 1, 2, 5 and 6 have two
# adjacent groups of the same kind, but each compact shape still maps to one layout.
_BY_COMPACT_SHAPE = {"".join(f.groups): f for f in _FORMATS}

# Since sidecode 4 Dutch plates use no vowels and no C or Q (Y is not used either).
_NL_MODERN_LETTERS = frozenset("bdfghjklmnprstvwxz")
# The one month abbreviation without vowels: "4-mrt-24" is a date, not sidecode 8.
_DATE_WORDS = frozenset({"mrt"})

_SEP = r"(?:\s*-\s*|\s)"
_WINDOW = 8  # "vnl - 38 - p": the longest lead before a digit, with spaced dashes
# A candidate starts after a character that cannot be part of a plate. Matching that
# character (instead of a look-behind) lets the regex engine skip from separator to
# separator, and the look-ahead for a first digit within _WINDOW characters (possessive:
# no backtracking) skips the many short words ("op de hoek") that have the shape of a
# spaced plate but no digit.
_GROUP = r"[a-z0-9]{1,3}"
_CANDIDATE = re.compile(
    rf"[^a-z0-9-](?=[a-z\s-]{{0,{_WINDOW}}}+[0-9])"
    rf"(?=({_GROUP}{_SEP}{_GROUP}(?:{_SEP}{_GROUP})?|[a-z0-9]{{6,7}})(?![a-z0-9]|-[a-z0-9]))"
)
_GROUP_SPLIT = re.compile(r"(\s*-\s*|\s+)")
_CONTEXT = re.compile(
    r"kenteken|nummerpla|nummerbord|\bplaat|\bkent\b|\bplate|registration|\breg\b|licen[cs]e"
)
_HAS_DIGIT = re.compile(r"[0-9]")


@lru_cache(maxsize=1)
def _mentions_plate(text: str) -> bool:
    """Whether the message talks about a plate; searched once, and only if a layout needs it."""
    return _CONTEXT.search(text) is not None


def _validate(groups: tuple[str, ...], dashed: bool, text: str) -> str | None:
    joined = "-".join(groups)
    fmt = _BY_SHAPE.get(joined.translate(_SHAPE_TABLE))
    if fmt is None:
        return None
    letters = "".join(groups).translate(_DIGITS_TABLE)
    if fmt.country == "NL" and fmt.sidecode >= 4 and not _NL_MODERN_LETTERS.issuperset(letters):
        return None
    if letters in _DATE_WORDS:
        return None
    if fmt.country == "BE" and len(groups) == 3 and groups[0] not in ("1", "2"):
        return None
    if not (dashed or fmt.spaced_ok or _mentions_plate(text)):
        return None
    return joined.upper()


def _parse(candidate: str, text: str) -> str | None:
    pieces = _GROUP_SPLIT.split(candidate)  # groups with the separators between them
    if len(pieces) == 1:
        fmt = _BY_COMPACT_SHAPE.get(candidate.translate(_SHAPE_TABLE))
        # Compact sidecode 2 ("1234ab") is exactly how people write a postcode.
        if fmt is None or fmt.sidecode == 2:
            return None
        groups: list[str] = []
        pos = 0
        for g in fmt.groups:
            groups.append(candidate[pos : pos + len(g)])
            pos += len(g)
        return _validate(tuple(groups), False, text)
    parts = tuple(pieces[::2])
    dashed = all("-" in sep for sep in pieces[1::2])
    plate = _validate(parts, dashed, text)
    if plate is None and len(parts) == 3:
        # "abc 123 op": a two-group Belgian plate followed by an ordinary word.
        plate = _validate(parts[:2], dashed, text)
    return plate


def extract_plates(text: str, *, limit: int = 10) -> tuple[str, ...]:
    """Plates in `text` in normal form ("VNL-38-P", "1-ABC-234"), first occurrence order.

    Accepts any case and dashes, spaces or nothing between the groups. Layouts that clash
    with everyday notations (old sidecodes 1-3, Belgian plates) are only accepted with
    dashes or when the message mentions a plate.
    """
    # Fold first: full-width digits ("３８") only become 0-9 in `clean`.
    return extract_plates_clean(clean(text), limit=limit)


def extract_plates_clean(text: str, *, limit: int = 10) -> tuple[str, ...]:
    """`extract_plates` for text already passed through `text.clean`."""
    first_digit = _HAS_DIGIT.search(text)
    if first_digit is None:
        return ()
    found: list[str] = []
    pos = 0  # candidates must start here or later: text before it belongs to a plate
    # The leading space stands in for the start of the text, so a match's start (the
    # separator in the padded text) is the candidate's start in `text`. A candidate starts
    # at most _WINDOW characters before its first digit.
    for m in _CANDIDATE.finditer(" " + text, max(0, first_digit.start() - _WINDOW)):
        if m.start() < pos:
            continue
        candidate = m.group(1)
        digit = _HAS_DIGIT.search(candidate)
        if digit is None or digit.start() > _WINDOW:
            continue
        plate = _parse(candidate, text)
        if plate is None:
            continue
        pos = m.start() + len(candidate)
        if plate not in found:
            found.append(plate)
            if len(found) >= limit:
                break
    return tuple(found)


def normalize_plate(text: str) -> str | None:
    """The normal form of a single plate as typed, or None if it is not a valid plate."""
    plates = extract_plates(f"kenteken {text}")
    if len(plates) != 1:
        return None
    return plates[0]
