"""Loading the editable classifier vocabulary (config/vocabulary/*.toml).

The words people use for incidents differ per region and change over time (new scams,
local slang), so they live in data files a municipality can extend without a release:
every `*.toml` file in the directory is loaded and merged; files named `local*.toml` are
merged last so they can override weights of the shipped files. The file format is
documented at the top of `config/vocabulary/nl.toml`.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from bot.domain.text import matching_form
from bot.resources import config_dir

__all__ = [
    "CATEGORIES",
    "CUE_SECTIONS",
    "Entry",
    "Vocabulary",
    "VocabularyError",
    "default_directory",
    "entry_regex",
    "load_vocabulary",
]

CATEGORIES = (
    "burglary",
    "suspicious",
    "fraud",
    "vandalism",
    "theft",
    "vehicle_crime",
    "robbery",
    "violence",
    "fire",
    "drugs",
    "missing_person",
)
# Sections whose terms are cues about the situation rather than about its subject.
CUE_SECTIONS = ("urgent", "past", "resolved", "police_called", "followup")
_KIND_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
# Doubled letters in a pattern's literal text, not preceded by a backslash ("\bb" stays).
_PATTERN_DOUBLES = re.compile(r"(?<!\\)([a-z])\1+")


class VocabularyError(ValueError):
    """A vocabulary file is missing or malformed; the message names the file and problem."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One vocabulary term in one section, already folded for matching.

    `atoms` are regex fragments, one per character of the folded term, so terms sharing a
    prefix can be merged into a trie; regex terms carry `pattern` instead.
    """

    text: str  # as written in the file
    concern: str  # "category", "off_topic" or one of CUE_SECTIONS
    label: str  # category or off-topic kind; "" for cue sections
    weight: float
    source: str  # file name, for error messages and explanations
    atoms: tuple[str, ...] = ()
    word_start: bool = True
    word_end: bool = True
    stem: bool = False  # trailing "*": any continuation of the word
    tail: str = ""  # regex for the words after the first one in a "~N" proximity term
    pattern: str | None = None

    @property
    def key(self) -> tuple[object, ...]:
        """Entries with equal keys match the same text and share one regex branch."""
        if self.pattern is not None:
            return ("re", self.pattern)
        return (self.atoms, self.word_start, self.word_end, self.stem, self.tail)


@dataclass(frozen=True, slots=True)
class Vocabulary:
    entries: tuple[Entry, ...]
    threshold: float
    urgent_by_default: frozenset[str]
    ongoing: frozenset[str]
    sources: tuple[Path, ...]
    live_by_tense: frozenset[str] = frozenset(CATEGORIES)


def default_directory() -> Path:
    """``vocabulary/`` in the editable config directory (an installation's own wins)."""
    return config_dir() / "vocabulary"


def load_vocabulary(directory: Path | None = None) -> Vocabulary:
    directory = directory or default_directory()
    files = sorted(directory.glob("*.toml"), key=lambda p: (p.name.startswith("local"), p.name))
    if not files:
        raise VocabularyError(f"{directory}: no vocabulary files (*.toml) found")
    merged: dict[tuple[str, str, str, tuple[str, ...]], Entry] = {}
    settings: dict[str, Any] = {
        "threshold": 2.0,
        "urgent_by_default": [],
        "ongoing": [],
        "live_by_tense": list(CATEGORIES),
    }
    for path in files:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise VocabularyError(f"{path}: cannot read: {exc}") from exc
        for entry in _entries(path, data, settings):
            merged[(entry.concern, entry.label, entry.text, entry.atoms)] = entry
    return Vocabulary(
        entries=tuple(merged.values()),
        threshold=float(settings["threshold"]),
        urgent_by_default=frozenset(settings["urgent_by_default"]),
        ongoing=frozenset(settings["ongoing"]),
        sources=tuple(files),
        live_by_tense=frozenset(settings["live_by_tense"]),
    )


def _entries(path: Path, data: dict[str, Any], settings: dict[str, Any]) -> list[Entry]:
    entries: list[Entry] = []
    for section, body in data.items():
        where = f"{path}: [{section}]"
        if not isinstance(body, dict):
            raise VocabularyError(f"{where}: expected a table")
        if section == "settings":
            _merge_settings(where, body, settings)
        elif section == "category":
            for label, terms in body.items():
                if label not in CATEGORIES:
                    raise VocabularyError(
                        f"{path}: [category.{label}]: unknown category; "
                        f"use one of {', '.join(CATEGORIES)}"
                    )
                entries += _section(path, f"category.{label}", terms, "category", label)
        elif section == "off_topic":
            for kind, terms in body.items():
                if not _KIND_NAME.match(kind):
                    raise VocabularyError(f"{path}: [off_topic.{kind}]: invalid kind name")
                entries += _section(path, f"off_topic.{kind}", terms, "off_topic", kind)
        elif section in CUE_SECTIONS:
            entries += _section(path, section, body, section, "")
        else:
            known = ", ".join(("settings", "category", "off_topic", *CUE_SECTIONS))
            raise VocabularyError(f"{where}: unknown section; known sections: {known}")
    return entries


def _merge_settings(where: str, body: dict[str, Any], settings: dict[str, Any]) -> None:
    for key, value in body.items():
        if key == "threshold":
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise VocabularyError(f"{where}: threshold must be a positive number")
        elif key in ("urgent_by_default", "ongoing", "live_by_tense"):
            if not isinstance(value, list) or any(v not in CATEGORIES for v in value):
                raise VocabularyError(f"{where}: {key} must be a list of categories")
        else:
            raise VocabularyError(f"{where}: unknown setting {key!r}")
        settings[key] = value


def _section(path: Path, name: str, terms: object, concern: str, label: str) -> list[Entry]:
    where = f"{path}: [{name}]"
    if not isinstance(terms, dict):
        raise VocabularyError(f"{where}: expected a table of term = weight")
    return [
        entry
        for term, weight in terms.items()
        for entry in _entry(where, path.name, term, weight, concern, label)
    ]


def _entry(
    where: str, source: str, term: str, weight: object, concern: str, label: str
) -> list[Entry]:
    if isinstance(weight, bool) or not isinstance(weight, int | float) or weight < 0:
        raise VocabularyError(f"{where}: weight of {term!r} must be a number >= 0")
    base = Entry(text=term, concern=concern, label=label, weight=float(weight), source=source)
    if term.startswith("re:"):
        pattern = _PATTERN_DOUBLES.sub(r"\1", term[3:])
        try:
            compiled = re.compile(pattern)
        except re.error as exc:
            raise VocabularyError(f"{where}: invalid pattern {term!r}: {exc}") from exc
        if compiled.groups:
            raise VocabularyError(f"{where}: pattern {term!r} has a capturing group; use (?:...)")
        if compiled.match(""):
            raise VocabularyError(f"{where}: pattern {term!r} matches empty text")
        return [replace(base, pattern=pattern)]
    slots = _PROXIMITY.split(term)
    try:
        firsts = [_parse_word(alt) for alt in slots[0].split("|")]
        tail = ""
        for gap, slot in zip(slots[1::2], slots[2::2], strict=True):
            alts = sorted((_word_regex(_parse_word(a)) for a in slot.split("|")), key=len)
            tail += rf"\W+(?:\w+\W+){{0,{int(gap)}}}(?:{'|'.join(reversed(alts))})"
    except ValueError as exc:
        raise VocabularyError(f"{where}: term {term!r}: {exc}") from exc
    return [
        replace(base, atoms=atoms, word_start=start, word_end=end, stem=stem, tail=tail)
        for atoms, start, end, stem in firsts
    ]


_PROXIMITY = re.compile(r"\s+~(\d)\s+")


def _parse_word(text: str) -> tuple[tuple[str, ...], bool, bool, bool]:
    """Atoms, word_start, word_end and stem of one term alternative."""
    folded = " ".join(matching_form(text).split())
    stem = folded.endswith("*")
    core = folded.strip("*").strip()
    if not core or "*" in core or "~" in core:
        raise ValueError("expected words with '*' only at the start or end and ' ~N ' between")
    return (
        tuple(_atom(ch) for ch in core),
        not folded.startswith("*") and _is_word_char(core[0]),
        not stem and _is_word_char(core[-1]),
        stem,
    )


def _word_regex(word: tuple[tuple[str, ...], bool, bool, bool]) -> str:
    atoms, start, end, stem = word
    prefix = "" if start else r"\w*?"
    suffix = r"\w*" if stem else (r"(?!\w)" if end else "")
    return prefix + "".join(atoms) + suffix


def entry_regex(entry: Entry) -> str:
    """A standalone regex for one entry (the classifier merges entries into a trie instead)."""
    if entry.pattern is not None:
        return r"(?<!\w)(?:" + entry.pattern + ")"
    word = _word_regex((entry.atoms, entry.word_start, entry.word_end, entry.stem))
    return (r"(?<!\w)" if entry.word_start else "") + word + entry.tail


def _is_word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def _atom(ch: str) -> str:
    if ch == " ":
        return r"\W+"
    if ch == "-":
        # \s spelled out with the separators \x1c-\x1f, which only Unicode matching counts
        # as space: the classifier scans ASCII text with re.ASCII and must match the same.
        return r"[\s\x1c-\x1f-]?"
    return re.escape(ch)
