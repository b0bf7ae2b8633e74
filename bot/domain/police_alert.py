"""Parsing the body of "!alarm" (police alerts, Burgernet style) and "!alarm einde <nr>".

An officer types the alert on a phone under time pressure, so the parser is
forgiving about spelling (Dutch or English field names, any case, with or
without accents, "Locatie :" with a space) and never raises: it reports what
is missing or unknown so the bot can ask for exactly that.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field, fields
from enum import StrEnum

DEFAULT_ACTION = "Zie je iets? Bel direct 112. Geen spoed: 0900-8844."


class AlertField(StrEnum):
    """Fields in display order; the value is the canonical (Dutch) field name."""

    WHAT = "wat"
    DESCRIPTION = "signalement"
    VEHICLE = "voertuig"
    PLATE = "kenteken"
    LOCATION = "locatie"
    DIRECTION = "richting"
    ACTION = "actie"


FIELD_ORDER: tuple[AlertField, ...] = tuple(AlertField)

FIELD_LABELS: dict[AlertField, dict[str, str]] = {
    AlertField.WHAT: {"nl": "Wat", "en": "What"},
    AlertField.DESCRIPTION: {"nl": "Signalement", "en": "Description"},
    AlertField.VEHICLE: {"nl": "Voertuig", "en": "Vehicle"},
    AlertField.PLATE: {"nl": "Kenteken", "en": "Licence plate"},
    AlertField.LOCATION: {"nl": "Locatie", "en": "Location"},
    AlertField.DIRECTION: {"nl": "Vluchtrichting", "en": "Direction"},
    AlertField.ACTION: {"nl": "Actie", "en": "What to do"},
}

# At least one of these must be given: an alert nobody can recognise is noise.
IDENTIFYING_FIELDS: tuple[AlertField, ...] = (
    AlertField.DESCRIPTION,
    AlertField.VEHICLE,
    AlertField.PLATE,
)
REQUIRED_FIELDS: tuple[AlertField, ...] = (AlertField.WHAT, AlertField.LOCATION)
# How the "one of" requirement appears in ``AlertParseResult.missing``.
MISSING_IDENTIFYING = "/".join(IDENTIFYING_FIELDS)

_ALIASES: dict[str, AlertField] = {
    **dict.fromkeys(("wat", "what", "gebeurtenis", "incident", "melding"), AlertField.WHAT),
    **dict.fromkeys(
        ("signalement", "description", "persoon", "person", "dader", "verdachte", "suspect"),
        AlertField.DESCRIPTION,
    ),
    **dict.fromkeys(("voertuig", "vehicle", "auto", "car"), AlertField.VEHICLE),
    **dict.fromkeys(
        ("kenteken", "plate", "plaat", "licenceplate", "licenseplate", "nummerplaat", "nummerbord"),
        AlertField.PLATE,
    ),
    **dict.fromkeys(
        ("locatie", "location", "plaats", "place", "waar", "where"), AlertField.LOCATION
    ),
    **dict.fromkeys(("richting", "direction", "vluchtrichting", "heading"), AlertField.DIRECTION),
    **dict.fromkeys(("actie", "action", "wat te doen", "what to do"), AlertField.ACTION),
}

# "Veld: waarde". A label is at most three words of letters so that a sentence
# with a colon in it ("Let op: gewapend", "om 14:30") stays part of the value.
_FIELD_LINE = re.compile(r"^\s*([^\W\d_][^\W\d_ .'-]*(?:[ .'-][^\W\d_]+){0,2})\s*:(?!//)\s*(.*)$")

_END_KEYWORDS = frozenset({"einde", "end", "stop", "beeindigd", "beeindig", "klaar"})


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())


@dataclass(frozen=True)
class AlertFields:
    what: str = ""
    description: str = ""
    vehicle: str = ""
    plate: str = ""
    location: str = ""
    direction: str = ""
    action: str = DEFAULT_ACTION

    def get(self, alert_field: AlertField) -> str:
        return str(getattr(self, _ATTRIBUTE[alert_field]))

    def items(self) -> list[tuple[AlertField, str]]:
        """Non-empty fields in display order, for rendering."""
        return [(f, self.get(f)) for f in FIELD_ORDER if self.get(f)]


_ATTRIBUTE: dict[AlertField, str] = dict(
    zip(FIELD_ORDER, (f.name for f in fields(AlertFields)), strict=True)
)


@dataclass(frozen=True)
class AlertParseResult:
    fields: AlertFields
    missing: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Complete enough to send. ``unknown`` is a warning worth echoing (often a typo)."""
        return not self.missing


def _classify_line(line: str) -> tuple[AlertField | None, str, str] | None:
    """(field or None if unknown, label as typed, value) for a field line, else None."""
    match = _FIELD_LINE.match(line)
    if match is None:
        return None
    label, value = match.group(1).strip(), match.group(2)
    known = _ALIASES.get(_fold(label).replace("-", " ")) or _ALIASES.get(
        _fold(label).replace(" ", "").replace("-", "")
    )
    if known is not None:
        return known, label, value
    if " " not in label:  # a longer phrase before a colon is prose, not a field
        return None, label, value
    return None


def _join(lines: list[str]) -> str:
    return "\n".join(stripped for line in lines if (stripped := line.strip()))


def parse_alert(body: str, *, default_action: str = DEFAULT_ACTION) -> AlertParseResult:
    """Parse ``veld: waarde`` lines; a value continues on following lines until the next field.

    Text before the first field counts as ``wat`` when no ``wat`` field is given,
    so "!alarm Overval Jumbo\\nlocatie: ..." works. A field given twice keeps both
    values, one per line. Lines with an unknown label stay in the current value
    and the label is listed in ``unknown``.
    """
    values: dict[AlertField, list[str]] = {}
    unknown: list[str] = []
    seen_unknown: set[str] = set()  # a list lookup per line would be quadratic
    preamble: list[str] = []
    current = preamble
    for line in body.splitlines():
        parsed = _classify_line(line)
        if parsed is None:
            current.append(line)
            continue
        known, label, value = parsed
        if known is None:
            # Kept as text of the field it appears in: dropping "Opgelet: gewapend"
            # from a police alert would be worse than showing it oddly placed.
            if label not in seen_unknown:
                seen_unknown.add(label)
                unknown.append(label)
            current.append(line)
            continue
        current = values.setdefault(known, [])
        current.append(value)

    found = {f: _join(v) for f, v in values.items()}
    if not found.get(AlertField.WHAT) and _join(preamble):
        found[AlertField.WHAT] = _join(preamble)
    if not found.get(AlertField.ACTION):
        found[AlertField.ACTION] = default_action
    alert = AlertFields(**{_ATTRIBUTE[f]: v for f, v in found.items()})

    missing = [str(f) for f in REQUIRED_FIELDS if not alert.get(f)]
    if not any(alert.get(f) for f in IDENTIFYING_FIELDS):
        missing.append(MISSING_IDENTIFYING)
    return AlertParseResult(alert, missing, unknown)


class AlertEndErrorCode(StrEnum):
    MISSING_NUMBER = "missing_number"
    INVALID_NUMBER = "invalid_number"


class AlertEndError(ValueError):
    """Bad "!alarm einde" arguments; ``code`` lets the caller answer in the room's language."""

    def __init__(self, code: AlertEndErrorCode, text: str) -> None:
        super().__init__(f"{code.value}: {text!r}")
        self.code = code
        self.text = text


def is_alert_end(args: str) -> bool:
    """Whether "!alarm <args>" closes an alert ("einde", "beëindigd") rather than opens one."""
    words = args.split(maxsplit=1)
    return bool(words) and _fold(words[0]).rstrip(":") in _END_KEYWORDS


def parse_alert_end(args: str) -> tuple[int, str | None]:
    """Alert number and optional closing text from "<nr> [tekst]" (a leading "einde" is skipped).

    Accepts "#12" as well as "12" because the bot shows numbers that way.
    """
    words = args.split(maxsplit=1)
    if words and is_alert_end(args):
        words = words[1].split(maxsplit=1) if len(words) > 1 else []
    if not words:
        raise AlertEndError(AlertEndErrorCode.MISSING_NUMBER, args)
    number_text = words[0].removeprefix("#").rstrip(":,.")
    if not (number_text.isascii() and number_text.isdigit()) or len(number_text) > 9:
        raise AlertEndError(AlertEndErrorCode.INVALID_NUMBER, words[0])
    number = int(number_text)
    if number <= 0:
        raise AlertEndError(AlertEndErrorCode.INVALID_NUMBER, words[0])
    text = words[1].strip() if len(words) > 1 else ""
    return number, text or None
