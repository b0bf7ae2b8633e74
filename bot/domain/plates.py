"""Find Dutch and Belgian licence plates in free text and bring them to normal form.

A plate ends up in alerts that go to the coordination room and the police, so precision
wins over recall: a shape that could just as well be a postcode, date, time, unit or
abbreviation is only accepted in a form people do not use for those (with the plate's own
dashes) or when the message talks about a plate ("kenteken", "nummerplaat", "plate").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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


def _shape(groups: tuple[str, ...]) -> tuple[str, ...]:
    return tuple("".join("9" if ch.isdigit() else "L" for ch in g) for g in groups)


def _runs(compact: str) -> tuple[str, ...]:
    """Letter/digit runs of a compact token; the run shape identifies the layout."""
    return tuple(m.group() for m in re.finditer(r"[a-z]+|[0-9]+", compact))


_BY_GROUPS = {f.groups: f for f in _FORMATS}
# Compact tokens are split at letter/digit changes; sidecodes 1, 2, 5 and 6 have two
# adjacent groups of the same kind, so their run shapes map back to a fixed split.
_BY_RUNS: dict[tuple[str, ...], _Format] = {}
for _f in _FORMATS:
    _merged: list[str] = []
    for _g in _f.groups:
        if _merged and _merged[-1][0] == _g[0]:
            _merged[-1] += _g
        else:
            _merged.append(_g)
    _BY_RUNS[tuple(_merged)] = _f

# Since sidecode 4 Dutch plates use no vowels and no C or Q (Y is not used either).
_NL_MODERN_LETTERS = frozenset("bdfghjklmnprstvwxz")
# The one month abbreviation without vowels: "4-mrt-24" is a date, not sidecode 8.
_DATE_WORDS = frozenset({"mrt"})

_SEP = r"(?:\s*-\s*|\s)"
_CANDIDATE = re.compile(
    r"(?<![a-z0-9-])(?=("
    r"[a-z0-9]{1,3}" + _SEP + r"[a-z0-9]{1,3}(?:" + _SEP + r"[a-z0-9]{1,3})?"
    r"|[a-z0-9]{6,7}"
    r")(?![a-z0-9]|-[a-z0-9]))"
)
_GROUP_SPLIT = re.compile(r"\s*-\s*|\s+")
_CONTEXT = re.compile(
    r"kenteken|nummerpla|nummerbord|\bplaat|\bkent\b|\bplate|registration|\breg\b|licen[cs]e"
)
_HAS_DIGIT = re.compile(r"[0-9]")
_DIGIT_RUN = re.compile(r"[0-9]+")
_WINDOW = 8  # "vnl - 38 - p": the longest lead before a digit, with spaced dashes


def _validate(groups: tuple[str, ...], dashed: bool, context: bool) -> str | None:
    fmt = _BY_GROUPS.get(_shape(groups))
    if fmt is None:
        return None
    letters = "".join(g for g in groups if g.isalpha())
    if fmt.country == "NL" and fmt.sidecode >= 4 and not _NL_MODERN_LETTERS.issuperset(letters):
        return None
    if letters in _DATE_WORDS:
        return None
    if fmt.country == "BE" and len(groups) == 3 and groups[0] not in ("1", "2"):
        return None
    if not (dashed or context or fmt.spaced_ok):
        return None
    return "-".join(groups).upper()


def _parse(candidate: str, context: bool) -> str | None:
    separators = _GROUP_SPLIT.findall(candidate)
    if not separators:
        fmt = _BY_RUNS.get(_shape(_runs(candidate)))
        # Compact sidecode 2 ("1234ab") is exactly how people write a postcode.
        if fmt is None or fmt.sidecode == 2:
            return None
        groups: list[str] = []
        pos = 0
        for g in fmt.groups:
            groups.append(candidate[pos : pos + len(g)])
            pos += len(g)
        return _validate(tuple(groups), False, context)
    parts = tuple(_GROUP_SPLIT.split(candidate))
    dashed = all("-" in sep for sep in separators)
    plate = _validate(parts, dashed, context)
    if plate is None and len(parts) == 3:
        # "abc 123 op": a two-group Belgian plate followed by an ordinary word.
        plate = _validate(parts[:2], dashed, context)
    return plate


def extract_plates(text: str, *, limit: int = 10) -> tuple[str, ...]:
    """Plates in `text` in normal form ("VNL-38-P", "1-ABC-234"), first occurrence order.

    Accepts any case and dashes, spaces or nothing between the groups. Layouts that clash
    with everyday notations (old sidecodes 1-3, Belgian plates) are only accepted with
    dashes or when the message mentions a plate.
    """
    if not _HAS_DIGIT.search(text):
        return ()
    return extract_plates_clean(clean(text), limit=limit)


def extract_plates_clean(text: str, *, limit: int = 10) -> tuple[str, ...]:
    """`extract_plates` for text already passed through `text.clean`."""
    found: list[str] = []
    context: bool | None = None
    pos = 0  # candidates must start here or later: text before it belongs to a plate
    # Every plate contains digits, so only the few places around digit runs are searched;
    # a candidate can start at most _WINDOW characters before its first digit.
    for digits in _DIGIT_RUN.finditer(text):
        if digits.end() <= pos:
            continue
        for start in range(max(pos, digits.start() - _WINDOW), digits.start() + 1):
            m = _CANDIDATE.match(text, start)
            if m is None:
                continue
            candidate = m.group(1)
            if m.start() < pos or not _HAS_DIGIT.search(candidate):
                continue
            if context is None:
                context = _CONTEXT.search(text) is not None
            plate = _parse(candidate, context)
            if plate is None:
                continue
            pos = m.start() + len(candidate)
            if plate not in found:
                found.append(plate)
                if len(found) >= limit:
                    return tuple(found)
    return tuple(found)


def normalize_plate(text: str) -> str | None:
    """The normal form of a single plate as typed, or None if it is not a valid plate."""
    plates = extract_plates(f"kenteken {text}")
    if len(plates) != 1:
        return None
    return plates[0]
