"""Tense and aspect of the word that names an act: is it going on, or is it over?

A resident rarely writes "nu" when something is happening in front of them: "een man
bedreigt voorbijgangers met een mes", "ze slopen het bushokje", "someone is kicking in
the doors". The tense of the act says it: a present (or progressive) form is live, a
participle or simple past reports something that already happened ("is gestolen",
"sloeg", "broke in"), which only a just-now cue ("net", "zojuist", "just") makes live
again. Past-time cues ("vannacht", "vorige week") are vocabulary; this module only reads
verb forms.

Word forms are recognised by their shape (Dutch participles "ge…d/t/en", English "-ing"
and "-ed") and, where the shape is ambiguous, by the lemma simplemma gives: "slaat" is a
present form because its lemma is the verb "slaan", "sloeg" a past form of the same verb,
and "vlucht" (a noun too) stays undecided because it is its own lemma.
"""

from __future__ import annotations

import re
from enum import Enum
from functools import lru_cache

from simplemma import Lemmatizer
from simplemma.strategies import DefaultStrategy, StreamDictionaryFactory

__all__ = ["Aspect", "act_aspect", "act_aspects", "aspect", "load_lemmas"]


class Aspect(Enum):
    LIVE = "live"  # present or progressive: going on now
    OVER = "over"  # participle or simple past: it happened
    UNKNOWN = "unknown"  # a noun, an infinitive, or a form that could be either


# Separable particles that go before "ge" in a Dutch participle: "ingebroken",
# "opengebroken", "weggereden", "omvergeduwd".
_PARTICLE_PARTICIPLE = re.compile(
    r"^(?:aan|af|binnen|door|in|kapot|leeg|mee|neer|om|omver|onder|op|open|over|stuk|"
    r"terug|uit|vast|weg)?ge[a-z]{2,}(?:d|t|en)$"
)
# Inseparable prefixes take no "ge": "beroofd", "bedreigd", "vernield", "ontvreemd". Their
# participles in "-t" ("betrapt") look like the present tense and are left to the lemma.
_PREFIX_PARTICIPLE = re.compile(r"^(?:be|ver|ont|her|mis)[a-z]{2,}d$")
_ENGLISH_PAST = re.compile(r"^[a-z]{3,}ed$")
_ENGLISH_PROGRESSIVE = re.compile(r"^[a-z]{2,}[^aeiou]ing$")
_WORD = re.compile(r"[a-z]+")
# "een brandende auto", "rennende jongens": the Dutch present participle.
_PRESENT_PARTICIPLE = re.compile(r"^[a-z]{3,}[^aeiou]ende?$")


_LANGUAGES = ("nl", "en")
# simplemma's default tables are Python dicts: 75 MiB for Dutch and English, a quarter of the
# bot's memory at a municipality's size. The stream factory reads the same lemma data from its
# compressed form on demand: 11 MiB, about 2 µs a lookup (and `aspect` caches its answers).
_LEMMATIZER = Lemmatizer(
    lemmatization_strategy=DefaultStrategy(dictionary_factory=StreamDictionaryFactory())
)


def load_lemmas() -> None:
    """Load simplemma's Dutch and English data now rather than at the first message.

    simplemma reads a language's lemma table on first use: 0.2–0.4 s per language, which
    would fall on the first report after every start (its 👀 would come half a second late).
    """
    for lang in _LANGUAGES:
        _LEMMATIZER.lemmatize("test", lang=lang)


@lru_cache(maxsize=8192)
def aspect(word: str) -> Aspect:
    """The aspect of one lower-case, accent-free word that named an act.

    Cached: the same few hundred act words come back in message after message.
    """
    if not _WORD.fullmatch(word) or len(word) < 3:
        return Aspect.UNKNOWN
    if _ENGLISH_PROGRESSIVE.match(word) or _PRESENT_PARTICIPLE.match(word):
        return Aspect.LIVE
    if _PARTICLE_PARTICIPLE.match(word) or _ENGLISH_PAST.match(word):
        return Aspect.OVER
    dutch = _LEMMATIZER.lemmatize(word, lang="nl")
    if dutch != word and dutch.endswith("n"):
        # An inflected form of a Dutch verb (its lemma is an infinitive).
        if word.endswith("t") and not _PREFIX_PARTICIPLE.match(word):
            return Aspect.LIVE  # 3rd person present: "slaat", "bedreigt", "steelt"
        if word.endswith(("de", "te", "den", "ten")) or not word.endswith(("t", "d", "en")):
            return Aspect.OVER  # simple past: "bedreigde", "sloeg", "brak"
    if _PREFIX_PARTICIPLE.match(word):
        return Aspect.OVER
    english = _LEMMATIZER.lemmatize(word, lang="en")
    if english != word and not word.endswith("s") and (dutch == word or word.endswith("en")):
        return Aspect.OVER  # an irregular English past: "stole", "stolen", "fled"
    return Aspect.UNKNOWN


# Plural subjects right before a form in "-en" make it a present tense ("ze slopen",
# "twee mannen bedreigen") rather than an infinitive or a plural noun.
_PLURAL_SUBJECTS = frozenset(("ze", "zij", "we", "wij", "jullie", "they"))
# "wordt ingebroken", "er wordt geschoten", "is being attacked": a passive present.
_PASSIVE = frozenset(("wordt", "word", "worden", "being"))
# "ik hoor glas breken", "ik zie iemand binnen lopen": perceiving the act as it happens.
_PERCEPTION = frozenset(("hoor", "horen", "zie", "zien", "hear", "see"))
# "staat te wrikken", "zit aan de auto te prutsen", "ligt te slapen": posture + te + verb.
_POSTURE = frozenset(
    ("staat", "staan", "zit", "zitten", "ligt", "liggen", "loopt", "lopen", "hangt", "hangen")
)
_WINDOW = 6  # words an auxiliary may stand before the verb it belongs to
_TE_WINDOW = 10  # "staat [een man met een koevoet aan de kelderdeur] te wrikken"
_ING_NOUNS = frozenset(("phishing", "spoofing", "evening", "morning", "building", "parking"))


def _plural_present(previous: str, word: str) -> bool:
    return (
        word.endswith("en")
        and len(word) > 4
        and (previous in _PLURAL_SUBJECTS or (len(previous) > 4 and previous.endswith(("en", "s"))))
    )


def _progressive(words: list[str], i: int) -> bool:
    """Whether word `i` is the verb of a progressive: "aan het slaan", "staat te loeren"."""
    if i >= 2 and words[i - 2] == "aan" and words[i - 1] in ("het", "t"):
        return True
    if i >= 1 and words[i - 1] == "te":
        return any(w in _POSTURE for w in words[max(0, i - 1 - _TE_WINDOW) : i - 1])
    return False


def _live_in_context(words: list[str], i: int, found: Aspect) -> bool:
    """A participle after "wordt" is a passive present; an infinitive-like form is live
    after a plural subject, in a progressive, or after a verb of perception."""
    before = words[max(0, i - _WINDOW) : i]
    if found is Aspect.OVER:
        return bool(_PASSIVE.intersection(before))
    if found is Aspect.UNKNOWN:
        word = words[i]
        return (
            _plural_present(before[-1] if before else "", word)
            or _progressive(words, i)
            or (word.endswith("en") and bool(_PERCEPTION.intersection(before)))
        )
    return False


def act_aspects(words: list[str], acts: list[int]) -> list[tuple[str, Aspect]]:
    """Each act word (indices into `words`, the message's lower-case words) with its
    aspect in context."""
    found = []
    for i in acts:
        word = words[i]
        own = Aspect.UNKNOWN if word in _ING_NOUNS else aspect(word)
        found.append((word, Aspect.LIVE if _live_in_context(words, i, own) else own))
    return found


def act_aspect(words: list[str], acts: list[int]) -> tuple[bool, bool]:
    """Whether any act word is live, and whether any is over (see `act_aspects`).

    A progressive ("staat aan de deur te wrikken", "zijn aan het vechten") is live
    whichever verb it has: the act word may be a noun ("koevoet") next to it.
    """
    aspects = {a for _, a in act_aspects(words, acts)}
    live = Aspect.LIVE in aspects or any(_progressive(words, i) for i in range(len(words)))
    return live, Aspect.OVER in aspects
