"""A small statistical second opinion for messages the vocabulary cannot place.

The vocabulary decides whenever its terms say enough. When they do not (no category term
reaches the threshold), a linear model over character n-grams, trained at build time on
the tuning split only (`tests/quality/train_model.py`), says what the message most likely
is. It catches phrasings nobody wrote a term for ("peuter zoek op de camping", "hangt half
in het raam") because their pieces resemble words of known reports.

The model is a logistic regression with binary features, so a class's score is its bias
plus the sum of the weights of the n-grams present: it is stored as plain JSON (no
pickle, no scikit-learn at run time), scores in microseconds, and explains itself by
listing the n-grams that weighed most (`buurtbot classify --explain`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

__all__ = [
    "MODEL_PATH",
    "LearnedModel",
    "Opinion",
    "features",
    "load_model",
    "word_features",
]

MODEL_PATH = Path(__file__).with_name("learned_model.json")
NGRAMS = (3, 5)  # character n-gram lengths, within words padded with a space each side
ON_TOPIC, OFF_TOPIC = "on_topic", "off_topic"  # the two classes besides the categories


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
        self.bias: tuple[float, ...] = tuple(data["bias"])  # type: ignore[arg-type]
        weights: dict[str, list[list[float]]] = data["weights"]  # type: ignore[assignment]
        # n-gram -> ((class index, weight), ...): sparse, most n-grams matter for few classes
        self.weights = {
            gram: tuple((int(i), float(w)) for i, w in pairs) for gram, pairs in weights.items()
        }
        # The weighted n-grams of a word, remembered: words recur from message to message,
        # and cutting a word into n-grams costs more than scoring them.
        self._known = lru_cache(maxsize=32768)(self._known_grams)

    def _known_grams(self, word: str) -> frozenset[str]:
        return frozenset(g for g in word_features(word) if g in self.weights)

    def opinion(self, folded: str, explain: int = 0) -> Opinion:
        grams: set[str] = set()
        for word in set(folded.split()):
            grams |= self._known(word)
        scores = list(self.bias)
        for gram in grams:
            for index, weight in self.weights[gram]:
                scores[index] += weight
        top = max(scores)
        exps = [math.exp(s - top) for s in scores]
        total = sum(exps)
        probabilities = {c: e / total for c, e in zip(self.classes, exps, strict=True)}
        best = max(range(len(scores)), key=scores.__getitem__)
        return Opinion(
            label=self.classes[best],
            probability=exps[best] / total,
            probabilities=probabilities,
            evidence=self._evidence(grams, best, explain) if explain else (),
        )

    def _evidence(self, grams: Iterable[str], index: int, k: int) -> tuple[tuple[str, float], ...]:
        pulls = []
        for gram in grams:
            for i, weight in self.weights[gram]:
                if i == index and weight > 0:
                    pulls.append((gram, weight))
        pulls.sort(key=lambda p: -p[1])
        return tuple(pulls[:k])


@lru_cache(maxsize=4)
def load_model(path: Path = MODEL_PATH) -> LearnedModel | None:
    """The stored model, or None when it has not been built (the rules then work alone)."""
    try:
        return LearnedModel(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return None
