"""A small statistical second opinion beside the vocabulary.

When no category term reaches the threshold, a linear model over character n-grams, trained
at build time on the tuning split only (`tests/quality/train_model.py`), says what the
message most likely is; when the terms did name a category, it overrides them only where it
is sure of another (`bot.domain.classifier`). It catches phrasings nobody wrote a term
for ("peuter zoek op de camping", "hangt half in het raam") because their pieces resemble
words of known reports.

A second model of the same kind reads urgency: trained on the incidents of the tuning
split, it says whether a report reads like something going on now. Where it is sure, it
overrides the terms and the tense (`bot.domain.classifier`): "er staat een busje met
draaiende motor bij de school" has no act word in a tense, but reads live; a long story
whose verbs are present has a "toen" and a "vanochtend" that read as afterwards.

Each model is a logistic regression with binary features, so a class's score is its bias
plus the sum of the weights of the n-grams present: it is stored as plain JSON (no
pickle, no scikit-learn at run time), scores in microseconds, and explains itself by
listing the n-grams that weighed most (`buurtbot classify --explain`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

__all__ = [
    "LIVE",
    "MODEL_PATH",
    "LearnedLayer",
    "LearnedModel",
    "Opinion",
    "features",
    "load_model",
    "word_features",
]

MODEL_PATH = Path(__file__).with_name("learned_model.json")
NGRAMS = (3, 5)  # character n-gram lengths, within words padded with a space each side
ON_TOPIC, OFF_TOPIC = "on_topic", "off_topic"  # the two classes besides the categories
LIVE, LATER = "live", "later"  # the urgency model's classes


def features(folded: str) -> set[str]:
    """The character n-grams of a folded text (see `bot.domain.text.matching_form`).

    Words are padded with a space so "rent " and " rent" differ from "parent"; n-grams
    never span two words, which keeps the feature set of a message small.
    """
    found: set[str] = set()
    for word in set(folded.split()):
        found.update(word_features(word))
    return found


def word_features(word: str) -> tuple[str, ...]:
    """The n-grams of one word (its letters and digits only)."""
    word = "".join(ch for ch in word if ch.isalnum())
    if not word:
        return ()
    padded = f" {word} "
    size = len(padded)
    low, high = NGRAMS
    return tuple(
        padded[i : i + n] for n in range(low, min(high, size) + 1) for i in range(size - n + 1)
    )


@dataclass(frozen=True, slots=True)
class Opinion:
    """The model's verdict: the most likely class and its probability."""

    label: str  # a category, ON_TOPIC or OFF_TOPIC
    probability: float
    probabilities: dict[str, float]
    evidence: tuple[tuple[str, float], ...]  # n-grams that pushed hardest towards `label`


class LearnedModel:
    """Scores folded text with stored weights: {"classes", "bias", "weights"}."""

    def __init__(self, data: dict[str, object]) -> None:
        self.classes: tuple[str, ...] = tuple(data["classes"])  # type: ignore[arg-type]
        self.bias = np.array(data["bias"], dtype=np.float64)  # type: ignore[arg-type]
        weights: dict[str, list[list[float]]] = data["weights"]  # type: ignore[assignment]
        # One dense row of class weights per n-gram: summing the rows of a message's n-grams
        # is one numpy call, where a loop over sparse pairs cost most of a message's budget.
        self._grams = tuple(weights)
        self._row = {gram: row for row, gram in enumerate(self._grams)}
        self._matrix = np.zeros((len(weights) + 1, len(self.classes)))  # last row: none
        for row, pairs in enumerate(weights.values()):
            for index, weight in pairs:
                self._matrix[row, int(index)] = weight
        # The weighted n-grams of a word, remembered: words recur from message to message,
        # and cutting a word into n-grams costs more than scoring them.
        self._known = lru_cache(maxsize=32768)(self._known_rows)

    def _known_rows(self, word: str) -> frozenset[int]:
        return frozenset(self._row[g] for g in word_features(word) if g in self._row)

    def _rows_of(self, folded: str) -> list[int]:
        rows: set[int] = set()  # binary features: an n-gram counts once per message
        for word in set(folded.split()):
            rows |= self._known(word)
        return list(rows) or [len(self._row)]

    def opinion(self, folded: str, explain: int = 0) -> Opinion:
        rows = self._rows_of(folded)
        scores = self.bias + self._matrix[rows].sum(axis=0)
        exps = np.exp(scores - scores.max())
        shares = exps / exps.sum()
        best = int(scores.argmax())
        return Opinion(
            label=self.classes[best],
            probability=float(shares[best]),
            probabilities=dict(zip(self.classes, shares.tolist(), strict=True)),
            evidence=self._evidence(rows, best, explain) if explain else (),
        )

    def _evidence(self, rows: list[int], index: int, k: int) -> tuple[tuple[str, float], ...]:
        pulls = [
            (self._grams[row], float(self._matrix[row, index]))
            for row in rows
            if row < len(self._grams) and self._matrix[row, index] > 0
        ]
        pulls.sort(key=lambda p: -p[1])
        return tuple(pulls[:k])


class LearnedLayer:
    """The stored models: what a message reads like, and whether it reads live."""

    def __init__(self, data: dict[str, object]) -> None:
        self.category = LearnedModel(data["category"])  # type: ignore[arg-type]
        self.urgency = LearnedModel(data["urgency"])  # type: ignore[arg-type]

    def live(self, folded: str) -> float:
        """The probability that an incident report is about something going on now."""
        return self.urgency.opinion(folded).probabilities[LIVE]


@lru_cache(maxsize=4)
def load_model(path: Path = MODEL_PATH) -> LearnedLayer | None:
    """The stored models, or None when they have not been built (the rules then work
    alone)."""
    try:
        return LearnedLayer(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return None
