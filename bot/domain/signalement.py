"""Spotting reports that describe a person only by skin colour or origin.

Such a report ("donkere man bij de speeltuin") helps nobody recognise anyone
and turns neighbours into suspects; the bot then privately explains what a
useful description is. Precision matters more than recall: a bot that lectures
people about "zwarte jas" would be muted by its own users. So a report only
qualifies when a skin/origin word actually describes a person AND nothing
useful (clothing, build, vehicle, direction, concrete behaviour) is given.

The vocabulary lives in ``config/signalement.toml``; this module turns it into
a few regular expressions over a normalised token string (one space between
tokens, punctuation kept as its own token so it breaks adjacency).
"""

from __future__ import annotations

import functools
import re
import tomllib
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from bot.resources import config_dir

# A signalement is in the first lines of a report; analysing more only costs time.
MAX_ANALYSED_CHARS = 4000

# Soft hyphen, zero-width characters, bidi embeddings/overrides and isolates.
_INVISIBLE = dict.fromkeys(
    [0x00AD, 0x180E, 0x2060, 0xFEFF, *range(0x200B, 0x2010), *range(0x202A, 0x202F),
     *range(0x2066, 0x206A)]
)  # fmt: skip
_APOSTROPHES = str.maketrans("", "", "'’`´")
_TOKEN = re.compile(r"[a-z0-9]+|[^\sa-z0-9]", re.ASCII)
_B = r"(?<![a-z0-9])"  # token start
_E = r"(?![a-z0-9])"  # token end
_HEIGHT_OR_AGE = re.compile(
    _B
    + r"(?:1 [.,] [4-9][0-9]|1m[4-9][0-9]|1 m [4-9][0-9]|1[4-9][0-9] ?cm"
    + r"|[1-9][0-9] ?(?:jaar|jr|years?|yo)|[1-9][0-9] (?:- |a |tot |to )[1-9][0-9]"
    + r"|(?:ongeveer|ca|circa|rond de|around|about|aged) (?:\. )?[1-9][0-9])"
    + _E,
    re.ASCII,
)


def normalise(text: str) -> str:
    """Lower-case tokens without accents or invisible characters, joined by single spaces."""
    text = text[:MAX_ANALYSED_CHARS].translate(_INVISIBLE).translate(_APOSTROPHES)
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(_TOKEN.findall(plain.replace("-", " ").replace("_", " ")))


def _word_regex(word: str) -> str:
    """A config word as regex: ``*`` at either end stands for more letters there."""
    core = normalise(word.strip("*"))
    regex = " ".join(re.escape(token) for token in core.split(" "))
    if word.startswith("*"):
        regex = "[a-z0-9]*" + regex
    if word.endswith("*"):
        regex += "[a-z0-9]*"
    return regex


def _term_regex(terms: list[str]) -> str:
    """One alternation matching any of ``terms`` as whole tokens."""
    alternatives = sorted(
        {" ".join(_word_regex(word) for word in term.split()) for term in terms if term.strip()},
        key=len,
        reverse=True,
    )
    if not alternatives:
        return "(?!)"
    return _B + "(?:" + "|".join(alternatives) + ")" + _E


@dataclass(frozen=True)
class SignalementVocabulary:
    """Compiled vocabulary: one pattern for profiling terms, one for useful descriptions."""

    profiling: re.Pattern[str]
    description: re.Pattern[str]

    @classmethod
    def from_mapping(cls, data: dict[str, dict[str, list[str]]]) -> SignalementVocabulary:
        try:
            prof = data["profiling"]
            desc = data["description"]
            person = _term_regex(prof["person_nouns"])
            skin = _term_regex(prof["skin_adjectives"])
            skin_bare = _term_regex(prof["skin_adjectives_bare"])
            origin = _term_regex(prof["origin_adjectives"])
            origin_bare = _term_regex(prof["origin_adjectives_bare"])
            neuter = _term_regex(prof["neuter_nouns"])
            looking = _term_regex(prof["looking_words"])
            filler = _term_regex(prof["fillers"])
            skin_head = _term_regex(prof["skin_heads"])
            origin_head = _term_regex(prof["origin_heads"])
            standalone = _term_regex(prof["standalone"])
            described = _term_regex(
                [t for key in ("clothing", "build", "vehicle", "direction", "behaviour")
                 for t in desc[key]]
            )  # fmt: skip
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"signalement vocabulary: missing or invalid list {exc}") from exc
        fill = f"(?: {filler}){{0,2}}"
        profiling = "|".join(
            (
                rf"{skin}{fill} (?:{person}|{skin_head}|{looking})",
                rf"{skin_bare}{fill} (?:{neuter}|{skin_head}|{looking})",
                rf"{origin}{fill} (?:{person}|{origin_head}|{looking})",
                rf"{origin_bare}{fill} (?:{neuter}|{origin_head}|{looking})",
                rf"{_B}er (?:{skin_bare}|{origin_bare}) uit{_E}",  # "zagen er buitenlands uit"
                standalone,
            )
        )
        return cls(re.compile(profiling, re.ASCII), re.compile(described, re.ASCII))


def load_vocabulary(path: Path) -> SignalementVocabulary:
    with path.open("rb") as handle:
        return SignalementVocabulary.from_mapping(tomllib.load(handle))


@functools.cache
def default_vocabulary() -> SignalementVocabulary:
    """The vocabulary from the editable config directory (cached)."""
    return load_vocabulary(config_dir() / "signalement.toml")


@dataclass(frozen=True)
class SignalementAssessment:
    profiling_term: str | None  # the words that triggered, for DEBUG logging only
    has_description: bool

    @property
    def needs_guidance(self) -> bool:
        return self.profiling_term is not None and not self.has_description


def assess(text: str, vocabulary: SignalementVocabulary | None = None) -> SignalementAssessment:
    vocab = vocabulary or default_vocabulary()
    tokens = normalise(text)
    match = vocab.profiling.search(tokens)
    if match is None:
        return SignalementAssessment(None, has_description=False)
    described = bool(vocab.description.search(tokens) or _HEIGHT_OR_AGE.search(tokens))
    return SignalementAssessment(match.group(0), has_description=described)


def needs_signalement_guidance(text: str, vocabulary: SignalementVocabulary | None = None) -> bool:
    """Whether ``text`` describes someone by skin colour or origin and by nothing useful."""
    return assess(text, vocabulary).needs_guidance
