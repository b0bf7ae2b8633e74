"""Text normalisation shared by the classifier, the plate finder and the vocabulary loader.

Residents type fast on phones, shout ("INBRAAAK!!"), paste text with invisible formatting
characters, and sometimes try to dodge filters with look-alike characters. Everything that
matches vocabulary against text first folds both sides the same way, so the vocabulary can
be written in plain lower-case Dutch.
"""

from __future__ import annotations

import re
import unicodedata

# Characters that render as nothing (or only change direction) but split words for a regex:
# soft hyphen, zero-width space/joiners, LTR/RTL marks, word joiner, BOM, bidi overrides
# and isolates, combining grapheme joiner, Mongolian vowel separator.
_INVISIBLE = dict.fromkeys(
    [
        0x00AD,
        0x034F,
        0x180E,
        0x2060,
        0xFEFF,
        *range(0x200B, 0x2010),
        *range(0x202A, 0x202F),
        *range(0x2066, 0x206A),
    ]
)
_MARKS = re.compile(r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]+")
_TRIPLES = re.compile(r"([a-z])\1\1+")
_PAIRS = tuple((c + c, c) for c in "abcdefghijklmnopqrstuvwxyz")


def clean(text: str) -> str:
    """Lower-case, accent-free, compatibility-folded text with invisible characters removed.

    Letter runs are kept as typed, so plates such as "GG-12-BB" survive; use `normalize`
    for comparing words.
    """
    if text.isascii():
        return text.lower()
    text = unicodedata.normalize("NFKD", text.translate(_INVISIBLE))
    text = _MARKS.sub("", text).lower()
    # Lower-casing can yield new decomposable characters (e.g. U+0130); fold once more so
    # the result is stable under a second pass.
    text = unicodedata.normalize("NFKD", text)
    return _MARKS.sub("", text).translate(_INVISIBLE)


def normalize(text: str) -> str:
    """`clean` plus shouting folded: runs of three or more equal letters become two.

    Two is kept because Dutch spells long vowels and many consonants double ("inbraak",
    "gestolen" vs "bellen"); `squash` goes further for matching.
    """
    return _TRIPLES.sub(r"\1\1", clean(text))


def squash(text: str) -> str:
    """Collapse every run of equal letters to one ("inbraak" -> "inbrak").

    Matching on this form makes "verdachtte", "verdachte" and "VERDACHTEEE" the same word,
    at the cost of rare collisions ("maan"/"man") that the vocabulary avoids.
    """
    # str.replace per letter is several times faster than a backreference regex here
    # (this runs on every message); the loop handles runs longer than two.
    for pair, single in _PAIRS:
        while pair in text:
            text = text.replace(pair, single)
    return text


def matching_form(text: str) -> str:
    """The form vocabulary is matched against: `clean` followed by `squash`."""
    return squash(clean(text))
