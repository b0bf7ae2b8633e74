"""Classify a watch-room message: incident category, urgency, off-topic kind and plates.

This runs on every message of every room, so the vocabulary is compiled once into a few
regexes: one group for what a message is about (categories, off-topic kinds) and one for
situational cues ("nu", "vannacht", "112 gebeld"). Terms are merged into a trie so the
regex engine branches on characters rather than trying hundreds of words at each
position. A match consumes its text, which lets a specific phrase ("auto gestolen") win
over the vaguer term inside it ("gestolen").

Urgency also reads the tense of the words that named the act (bot.domain.tense): "een man
bedreigt" is live without a "nu". A statistical layer trained on the tuning split
(bot.domain.learned) names the category where no term says enough, overrides the terms
where it is sure of another category, and overrides the urgency where it is sure the report
reads live or told afterwards; `Classifier.explain` shows which terms, tenses and n-grams
decided.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from itertools import takewhile
from pathlib import Path
from typing import Any, NamedTuple

from bot.domain.learned import OFF_TOPIC, LearnedLayer, load_model
from bot.domain.plates import extract_plates_clean
from bot.domain.tense import Aspect, act_aspect, act_aspects, load_lemmas
from bot.domain.text import clean, squash
from bot.domain.vocabulary import CATEGORIES, CUE_SECTIONS, Entry, Vocabulary, load_vocabulary

__all__ = [
    "CATEGORIES_OR_NONE",
    "MAX_CHARS",
    "Classification",
    "Classifier",
    "classifier_for",
    "classify",
    "to_contract",
]

# Incident reports are short; anything past this is pasted noise and must not cost time.
MAX_CHARS = 4000
# On equal scores the more specific or more serious category wins; "suspicious" is the
# catch-all for things that are not (yet) a crime.
_PRIORITY = (
    "robbery",
    "violence",
    "fire",
    "missing_person",
    "vehicle_crime",
    "burglary",
    "fraud",
    "drugs",
    "vandalism",
    "theft",
    "suspicious",
)
_RANK = {c: i for i, c in enumerate(_PRIORITY)}
CATEGORIES_OR_NONE = frozenset((*CATEGORIES, None))
assert set(_PRIORITY) == set(CATEGORIES)
_URGENT, _PAST, _RESOLVED, _POLICE, _FOLLOWUP = range(len(CUE_SECTIONS))
_CUE_SLOT = {name: i for i, name in enumerate(CUE_SECTIONS)}
_ALNUM = re.compile(r"[^\W_]")
_PLATE_WEIGHT = 2.0
_PLATE_SUSPICION = 1.0
_EMOJI_WEIGHT = 2.0
# The tense of the act (see bot.domain.tense): a present form is as good as "nu"; a past
# form or participle weighs against urgency, less than a past-time cue ("vannacht").
_LIVE_ACT_WEIGHT = 2.0
_PAST_ACT_WEIGHT = 1.0
_WORDS = re.compile(r"\w+")
# The statistical layer (bot.domain.learned) speaks only where the terms are silent: it
# names a category when it is this sure, and vetoes an off-topic verdict when it gives
# "off topic" less than this probability (0.7: the smallest of 0.5-0.9 whose by-batch CV
# off-topic precision on the tuning split reaches 0.975, a margin over the 0.97 target;
# a reminder for a real report costs more than a missed one).
_MODEL_CATEGORY_P = 0.4
_MODEL_OFF_TOPIC_P = 0.7
# Where the terms did name a category, the model overrides it only when it is this sure of
# another; and the urgency model overrides the terms and the tense when it reads a report
# as live (or as told afterwards) with this confidence. Chosen on the tuning split with
# each author's rows scored by models trained on the other authors (evaluate.py --cv).
_MODEL_OVERRIDE_P = 0.7
_LIVE_P, _LATER_P = 0.7, 0.2
# A decisive term (weight 3) is overridden only when the model is this sure, and terms that
# add up to 4 (a rule written at 4, or two strong terms) never are.
_MODEL_OVERRIDE_DECISIVE_P = 0.95
_SURE_TERMS = 4.0
_DECISIVE = 3.0  # a term of this weight ("decisive on its own") is never vetoed


class Classification(NamedTuple):
    """The verdict on one message.

    A named tuple rather than a frozen dataclass: one is built for every message, and a
    frozen dataclass's `__init__` (a guarded `object.__setattr__` per field) took over a
    microsecond of that message's budget; a named tuple is just as immutable.
    """

    category: str | None
    urgent: bool  # a live situation: 112 (101 in Belgium) territory
    off_topic: bool  # against the house rules of a watch room
    off_topic_kind: str | None
    plates: tuple[str, ...]
    police_called: bool  # the text says 112/101/the police was called or informed
    score: float  # evidence for the category (or off-topic kind, or follow-up) chosen
    decided_by: str = "terms"  # "terms", or "model" where the statistical layer spoke


@dataclass(slots=True)
class _Trie:
    children: dict[str, _Trie]
    leaves: dict[str, tuple[object, ...]]  # leaf regex -> entry key


_Key = tuple[object, ...]
_Sub = tuple[re.Pattern[str], list[tuple[Entry, ...]]]


class _Matcher:
    """Compiled vocabulary for one concern group.

    Finding terms and identifying them are split: a regex with a thousand capturing groups
    is several times slower to run, so `word` and `inner` scan without groups, and only at
    a hit a small regex for the terms starting with that character (`*_subs`) is matched
    once to learn, from `lastindex`, which term it was.

    `word` matches at word starts. It begins with a non-word character (the text gets a
    leading space) instead of a look-behind, so the regex engine can skip from separator to
    separator in its fast scanning loop. `inner` holds terms that may start inside a word
    ("*diefstal"); they are also put in `word`, and inner hits at a word start are ignored,
    so each occurrence counts once.

    Inner terms are few and rarely occur, but a regex that may match anywhere is tried at
    nearly every character; `inner_anchors` lets the scan be skipped with a few `in`
    tests instead (see `_anchors`).
    """

    def __init__(self, entries: Iterable[Entry]) -> None:
        entries = list(entries)
        self.has_patterns = any(e.pattern is not None for e in entries)
        inner = [e for e in entries if not e.word_start and e.pattern is None]
        words = [e for e in entries if e.word_start or e.pattern is not None]
        words += [replace(e, word_start=True) for e in inner if e.atoms[0][-1:].isalnum()]
        self.word, self.word_subs = _compile(words, r"\W")
        self.inner, self.inner_subs = _compile(inner, "")
        self.inner_anchors = _anchors(inner)


def _anchors(entries: list[Entry]) -> tuple[str, ...] | None:
    """Strings one of which occurs in any text where one of `entries` matches.

    A term's anchor is its literal beginning, up to its first space, hyphen or escaped
    character (atoms of one character are the character itself). Shorter anchors are taken
    first and make the longer ones that contain them redundant ("dief" covers "diefstal").
    None when some term starts with no literal character: then only the scan can tell.
    """
    literals = set()
    for entry in entries:
        literal = "".join(takewhile(lambda atom: len(atom) == 1, entry.atoms))
        if not literal:
            return None
        literals.add(literal)
    anchors: list[str] = []
    for literal in sorted(literals, key=lambda lit: (len(lit), lit)):
        if not any(anchor in literal for anchor in anchors):
            anchors.append(literal)
    return tuple(anchors)


def _compile(entries: list[Entry], lead: str) -> tuple[re.Pattern[str], dict[str, _Sub]]:
    patterns = [e for e in _unique(entries) if e.pattern is not None]
    trie = _build_trie(e for e in entries if e.pattern is None)
    heads = [f"(?:{e.pattern})" for e in patterns]
    branches = [atom + _emit(child, None) for atom, child in trie.children.items()]
    if not heads and not branches:
        return re.compile(r"(?!)"), {}
    scan = re.compile(lead + "(?:" + "|".join(heads + branches) + ")")
    subs: dict[str, _Sub] = {}
    for atom, child in trie.children.items():
        order: list[_Key] = [e.key for e in patterns]
        alternatives = [f"({e.pattern})" for e in patterns] + [atom + _emit(child, order)]
        subs[atom[-1]] = (re.compile("|".join(alternatives)), _labels(entries, order))
    # For a hit whose first character keys none of the above: a pattern starting with "\\d",
    # or a term whose first atom is a class ("-" also matches a space). Slower, but complete.
    order = [e.key for e in patterns]
    alternatives = [f"({e.pattern})" for e in patterns]
    alternatives += [atom + _emit(child, order) for atom, child in trie.children.items()]
    subs[""] = (re.compile("|".join(alternatives)), _labels(entries, order))
    return scan, subs


def _unique(entries: Iterable[Entry]) -> list[Entry]:
    seen: set[_Key] = set()
    unique = []
    for entry in entries:
        if entry.key not in seen:
            seen.add(entry.key)
            unique.append(entry)
    return unique


def _labels(entries: list[Entry], order: list[_Key]) -> list[tuple[Entry, ...]]:
    """Entries per capturing group (group 0 unused); weight-0 entries only block."""
    by_key: dict[_Key, list[Entry]] = {}
    for entry in entries:
        group = by_key.setdefault(entry.key, [])
        if entry.weight > 0:
            group.append(entry)
    return [()] + [tuple(by_key[key]) for key in order]


def _build_trie(entries: Iterable[Entry]) -> _Trie:
    root = _Trie({}, {})
    for entry in _unique(entries):
        node = root
        for atom in entry.atoms:
            node = node.children.setdefault(atom, _Trie({}, {}))
        leaf = r"\w*" if entry.stem else (r"(?!\w)" if entry.word_end else "")
        node.leaves[leaf + entry.tail] = entry.key
    return root


def _emit(node: _Trie, order: list[_Key] | None) -> str:
    """Regex for a trie node; with `order`, leaves capture and their keys are appended to
    it in group order.

    Proximity terms go first, longest first (they are the most specific: "vermist* ~3 kat"
    must beat the word "vermiste"), then longer words, then the node's own word, then its
    stem.
    """
    leaves = sorted(node.leaves, key=lambda lf: (-len(node.leaves[lf][-1]), lf == r"\w*"))
    near = [lf for lf in leaves if node.leaves[lf][-1]]
    plain = [lf for lf in leaves if not node.leaves[lf][-1]]
    parts = [_leaf(node, lf, order) for lf in near]
    for atom in sorted(node.children, key=lambda a: (a.endswith("?"), a)):
        parts.append(atom + _emit(node.children[atom], order))
    parts += [_leaf(node, lf, order) for lf in plain]
    return parts[0] if len(parts) == 1 else "(?:" + "|".join(parts) + ")"


def _leaf(node: _Trie, leaf: str, order: list[_Key] | None) -> str:
    if order is None:
        return f"(?:{leaf})" if "|" in leaf else leaf
    order.append(node.leaves[leaf])
    return f"({leaf})"


# What one vocabulary hit adds: (tally, key, weight). `tally` picks the per-message dict
# (categories, off-topic kinds or cues); weights of equal keys add up.
_Label = tuple[int, Any, float]
_CATEGORY_TALLY, _KIND_TALLY, _CUE_TALLY = range(3)
_NO_CUES = dict.fromkeys(range(len(CUE_SECTIONS)), 0.0)
# Identified hits remembered per scan: a few hundred distinct words cover nearly all hits;
# the memo is emptied when full, and long matches (stems, proximity) are not kept.
_MEMO_ENTRIES = 4096
_MEMO_KEY_CHARS = 48


class _Scan:
    """One pass over the text for a group of terms, and identification of its hits.

    Identifying a hit re-runs the capturing regex for its first character, which costs
    more than finding it. Which term that regex picks depends only on the matched text
    and, through `(?!\\w)`, on the character after it, so labels are memoised by that
    text. ASCII text (nearly all messages) is scanned by a re.ASCII copy of the regex:
    its \\w and \\W are table look-ups instead of Unicode property calls, and on ASCII
    text both agree (the vocabulary spells out the one difference, in \\s). Vocabulary
    patterns (`re:`) are free-form, so a scan that has them takes neither shortcut.

    With `anchors` (see `_anchors`) the scan is skipped for text that contains none of
    them; `ascii_anchors` are the ones that can occur in ASCII text.
    """

    __slots__ = (
        "_entries",
        "_memoise",
        "_subs",
        "anchors",
        "ascii_anchors",
        "ascii_finditer",
        "finditer",
        "lead",
        "memo",
    )

    def __init__(
        self,
        regex: re.Pattern[str],
        subs: dict[str, _Sub],
        lead: int,
        label: Callable[[Entry], _Label],
        fast: bool,
        anchors: tuple[str, ...] | None,
    ) -> None:
        self.finditer = regex.finditer
        ascii_regex = re.compile(regex.pattern, re.ASCII) if fast else regex
        self.ascii_finditer = ascii_regex.finditer
        self.lead = lead  # 1: the regex consumes the separator before the term
        self.anchors = anchors
        self.ascii_anchors = None if anchors is None else tuple(a for a in anchors if a.isascii())
        self.memo: dict[str, tuple[_Label, ...]] = {}
        self._memoise = fast
        self._subs = {
            ch: (rx.match, [tuple(label(e) for e in group) for group in groups])
            for ch, (rx, groups) in subs.items()
        }
        self._entries = {ch: (rx.match, groups) for ch, (rx, groups) in subs.items()}

    def entries(self, text: str, start: int) -> tuple[tuple[Entry, ...], int]:
        """The vocabulary entries of the term matched at `start`, and where it ends (for
        explanations; `identify` is the fast path)."""
        sub = self._entries.get(text[start])
        hit = sub[0](text, start) if sub else None
        if sub is None or hit is None or hit.lastindex is None:
            return (), start
        return sub[1][hit.lastindex], hit.end()

    def identify(self, text: str, start: int, key: str) -> tuple[_Label, ...]:
        """Labels of the term matched at `start`; `key` is the hit plus the next character."""
        sub = self._subs.get(text[start]) or self._subs.get("")
        hit = sub[0](text, start) if sub else None
        if sub is None or hit is None or hit.lastindex is None:
            return ()
        found = sub[1][hit.lastindex]
        if self._memoise and len(key) <= _MEMO_KEY_CHARS:
            if len(self.memo) >= _MEMO_ENTRIES:
                self.memo.clear()
            self.memo[key] = found
        return found


class Classifier:
    """Classifies message bodies with one vocabulary; build once, call for every message."""

    def __init__(
        self, vocabulary: Vocabulary, model: LearnedLayer | None = None, *, tense: bool = True
    ) -> None:
        """`model`: the statistical layer (None: terms alone); `tense`: read the tense of
        act words for urgency (off only to measure what it adds)."""
        self.vocabulary = vocabulary
        entries = vocabulary.entries
        topic = _Matcher(e for e in entries if e.concern in ("category", "off_topic"))
        cues = _Matcher(e for e in entries if e.concern in CUE_SECTIONS)
        self._scans = _scans(topic) + _scans(cues)
        self._threshold = vocabulary.threshold
        self._urgent_by_default = vocabulary.urgent_by_default
        self._ongoing = vocabulary.ongoing
        self._model = model
        self._live_by_tense = vocabulary.live_by_tense if tense else frozenset()
        if tense:
            load_lemmas()

    def __call__(self, text: str) -> Classification:
        return self.classify(text)

    def classify(self, text: str) -> Classification:
        cleaned = clean(text[:MAX_CHARS])
        folded = " " + squash(cleaned)
        categories: dict[str, float] = {}
        kinds: dict[str, float] = {}
        cues = _NO_CUES.copy()
        tallies = (categories, kinds, cues)
        acts: list[int] = []  # where category terms matched: the words naming the act
        ascii_text = folded.isascii()
        for scan in self._scans:
            anchors = scan.ascii_anchors if ascii_text else scan.anchors
            if anchors is not None and not _contains_any(folded, anchors):
                continue
            lead, memo = scan.lead, scan.memo
            for m in (scan.ascii_finditer if ascii_text else scan.finditer)(folded):
                start = m.start() + lead
                if not lead and _at_word_start(folded, start):
                    continue
                key = folded[start : m.end() + 1]
                labels = memo.get(key)
                if labels is None:
                    labels = scan.identify(folded, start, key)
                for tally, label, weight in labels:
                    scores = tallies[tally]
                    scores[label] = scores.get(label, 0.0) + weight
                    if tally == _CATEGORY_TALLY:
                        acts.append(start)
        plates = extract_plates_clean(cleaned)
        police_called = cues[_POLICE] > 0
        if plates:
            # Residents note a plate when a vehicle worries them: with any other hint of
            # suspicion that is a suspicious-vehicle report.
            categories["suspicious"] = categories.get("suspicious", 0.0) + _PLATE_SUSPICION

        category, best = None, 0.0
        if categories:
            category = min(categories, key=lambda c: (-categories[c], _RANK[c]))
            best = categories[category]
        # A live situation lowers the bar ("NU iemand bezig bij de auto"), while an update
        # or closing message ("brand is geblust", "update: ...") reports no new incident.
        needed = 1.0 if cues[_URGENT] >= self._threshold else self._threshold
        if category is not None and best >= needed and cues[_RESOLVED] < self._threshold:
            decided_by = "terms"
            if self._model is not None:
                opinion = self._model.category.opinion(folded)
                if (
                    opinion.label in _RANK
                    and opinion.probability >= _MODEL_OVERRIDE_P
                    and best < _SURE_TERMS
                    and (best < _DECISIVE or opinion.probability >= _MODEL_OVERRIDE_DECISIVE_P)
                ):
                    decided_by = "terms" if opinion.label == category else "model"
                    category = opinion.label
            if acts and category in self._live_by_tense:
                self._weigh_tense(cues, category, *_act_aspects_at(cleaned, folded, acts))
            return Classification(
                category=category,
                urgent=self._live(category, cues, folded),
                off_topic=False,
                off_topic_kind=None,
                plates=plates,
                police_called=police_called,
                score=best,
                decided_by=decided_by,
            )

        kind, off_score = None, 0.0
        if kinds:
            kind = max(kinds, key=kinds.__getitem__)
            off_score = kinds[kind]
        if off_score < _EMOJI_WEIGHT and folded.strip() and not _ALNUM.search(folded):
            kind, off_score = "thanks_ok_emoji", _EMOJI_WEIGHT
        # Weak incident words, follow-up cues and plates all argue for "on topic".
        on_topic = (
            cues[_URGENT]
            + cues[_FOLLOWUP]
            + cues[_POLICE]
            + cues[_RESOLVED]
            + best
            + (_PLATE_WEIGHT if plates else 0.0)
        )
        # An update that closes an incident ("is terecht", "aangehouden") is on topic
        # whatever thanks it carries; a thanks for an update ("bedankt voor de update") is not.
        off_topic = (off_score > on_topic or on_topic == 0) and cues[_RESOLVED] < _DECISIVE
        opinion = self._model.category.opinion(folded) if self._model is not None else None
        if opinion is not None and cues[_RESOLVED] < self._threshold:
            if opinion.label in _RANK and opinion.probability >= _MODEL_CATEGORY_P:
                # No term said enough, but the message reads like reports of this kind.
                if opinion.label in self._live_by_tense:
                    words = _WORDS.findall(cleaned)
                    aspects = act_aspect(words, list(range(len(words))))
                    self._weigh_tense(cues, opinion.label, *aspects)
                return Classification(
                    category=opinion.label,
                    urgent=self._live(opinion.label, cues, folded),
                    off_topic=False,
                    off_topic_kind=None,
                    plates=plates,
                    police_called=police_called,
                    score=opinion.probability,
                    decided_by="model",
                )
            if (
                off_topic
                and off_score < _DECISIVE
                and opinion.probabilities[OFF_TOPIC] < _MODEL_OFF_TOPIC_P
            ):
                # A reminder for a real report hurts more than none.
                return Classification(
                    category=None,
                    urgent=False,
                    off_topic=False,
                    off_topic_kind=None,
                    plates=plates,
                    police_called=police_called,
                    score=1.0 - opinion.probabilities[OFF_TOPIC],
                    decided_by="model",
                )
        return Classification(
            category=None,
            urgent=False,
            off_topic=off_topic,
            off_topic_kind=(kind or "chit_chat") if off_topic else None,
            plates=plates,
            police_called=police_called,
            score=off_score if off_topic else on_topic,
        )

    def explain(self, text: str, ngrams: int = 8) -> dict[str, Any]:
        """What decided the verdict on `text`: the vocabulary terms that matched (with
        their section, weight and file), the tense of the act words, and the model's
        opinion with the character n-grams that weighed most. For `classify --explain`;
        slower than `classify` and not used on the live path.
        """
        verdict = self.classify(text)
        cleaned = clean(text[:MAX_CHARS])
        folded = " " + squash(cleaned)
        terms: list[dict[str, Any]] = []
        acts: list[int] = []
        for scan in self._scans:
            for m in scan.finditer(folded):
                start = m.start() + scan.lead
                if not scan.lead and _at_word_start(folded, start):
                    continue
                entries, end = scan.entries(folded, start)
                for entry in entries:
                    section = entry.concern
                    if entry.label:
                        section += "." + entry.label
                        acts += [start] if entry.concern == "category" else []
                    terms.append(
                        {
                            "text": folded[start:end].strip(),
                            "term": entry.text,
                            "section": section,
                            "weight": entry.weight,
                            "file": entry.source,
                        }
                    )
        words = _WORDS.findall(cleaned)
        indices = _word_indices(folded, acts, len(words))
        tense = act_aspects(
            words, indices if verdict.decided_by == "terms" else list(range(len(words)))
        )
        explanation: dict[str, Any] = {
            "decided_by": verdict.decided_by,
            "terms": terms,
            "tense": [{"word": w, "aspect": a.value} for w, a in tense if a is not Aspect.UNKNOWN],
            "model": None,
        }
        if self._model is not None:
            opinion = self._model.category.opinion(folded, explain=ngrams)
            urgency = self._model.urgency.opinion(folded, explain=ngrams)
            explanation["model"] = {
                "label": opinion.label,
                "probability": round(opinion.probability, 3),
                "ngrams": [{"ngram": g, "weight": w} for g, w in opinion.evidence],
                "urgency": {
                    "label": urgency.label,
                    "probability": round(urgency.probability, 3),
                    "ngrams": [{"ngram": g, "weight": w} for g, w in urgency.evidence],
                },
            }
        return explanation

    def _weigh_tense(self, cues: dict[int, float], category: str, live: bool, over: bool) -> None:
        """Add the tense of the act to the cues: a present act counts like "nu", a past
        one (for categories that are not live by default) against urgency."""
        if live:
            cues[_URGENT] += _LIVE_ACT_WEIGHT
        elif over and category not in self._urgent_by_default:
            cues[_PAST] += _PAST_ACT_WEIGHT

    def _live(self, category: str, cues: Mapping[int, float], folded: str) -> bool:
        """The terms' and the tense's verdict on urgency, unless the urgency model is sure
        the report reads otherwise. An update ("is terecht", "geblust") stays not urgent."""
        urgent = self._urgent(category, cues)
        if self._model is None or cues[_RESOLVED] > 0:
            return urgent
        live = self._model.live(folded)
        if urgent:
            return live >= _LATER_P
        return live >= _LIVE_P

    def _urgent(self, category: str, cues: Mapping[int, float]) -> bool:
        """Live now, as opposed to reported afterwards or already over."""
        if cues[_RESOLVED] > 0:
            return False
        live, past = cues[_URGENT], cues[_PAST]
        if category in self._urgent_by_default:
            return category in self._ongoing or past <= live
        return live >= self._threshold and live > past


def _act_aspects_at(cleaned: str, folded: str, starts: Iterable[int]) -> tuple[bool, bool]:
    """Whether any act word at `starts` (offsets in `folded`) is live, and whether any is
    over (see `bot.domain.tense.act_aspect`)."""
    words = _WORDS.findall(cleaned)
    return act_aspect(words, _word_indices(folded, starts, len(words)))


def _word_indices(folded: str, starts: Iterable[int], count: int) -> list[int]:
    """Indices of the words of `cleaned` (`count` of them) at offsets `starts` of `folded`.

    Tense needs the words as typed, not their squashed matching form ("slaat", not
    "slat"): squashing only shortens letter runs, so the n-th word of `folded` is the n-th
    word of `cleaned`.
    """
    folded_starts = [m.start() for m in _WORDS.finditer(folded)]
    if len(folded_starts) != count:
        return []  # a character that squashing merged: no tense rather than a wrong one
    return sorted({bisect_right(folded_starts, start) - 1 for start in starts} - {-1})


def _scans(matcher: _Matcher) -> tuple[_Scan, ...]:
    """The word and inner scans of a matcher.

    A scan with nothing to find still costs a pass over the text, so empty ones are left
    out.
    """
    fast = not matcher.has_patterns
    return tuple(
        _Scan(regex, subs, lead, _label, fast, anchors)
        for regex, subs, lead, anchors in (
            (matcher.word, matcher.word_subs, 1, None),
            (matcher.inner, matcher.inner_subs, 0, matcher.inner_anchors),
        )
        if subs
    )


def _label(entry: Entry) -> _Label:
    if entry.concern == "category":
        return (_CATEGORY_TALLY, entry.label, entry.weight)
    if entry.concern == "off_topic":
        return (_KIND_TALLY, entry.label, entry.weight)
    return (_CUE_TALLY, _CUE_SLOT[entry.concern], entry.weight)


def _contains_any(text: str, needles: tuple[str, ...]) -> bool:
    """`any(n in text for n in needles)` without the cost of a generator."""
    for needle in needles:  # noqa: SIM110 (any() with a generator is slower)
        if needle in text:
            return True
    return False


def _at_word_start(text: str, start: int) -> bool:
    """An inner-term hit that begins a word was already counted by the word scan."""
    return text[start].isalnum() and not text[start - 1].isalnum()


@lru_cache(maxsize=1)
def _default_classifier() -> Classifier:
    return Classifier(load_vocabulary(), load_model())


def classify(text: str) -> Classification:
    """Classify with the default vocabulary (loaded once per process)."""
    return _default_classifier().classify(text)


def classifier_for(directory: Path | None = None) -> Classifier:
    """A classifier for a vocabulary directory; None means the default (cached) one."""
    if directory is None:
        return _default_classifier()
    return Classifier(load_vocabulary(directory), load_model())


def to_contract(message_id: Any, c: Classification) -> dict[str, Any]:
    """The `buurtbot classify` output object for one message (DESIGN.md section 2), plus
    `police_called` (an extension: the writer says 112/101/the police was called)."""
    return {
        "id": message_id,
        "category": c.category,
        "urgent": c.urgent,
        "off_topic": c.off_topic,
        "plates": list(c.plates),
        "police_called": c.police_called,
    }
