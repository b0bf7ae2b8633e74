"""Build the classifier's statistical layer (bot/domain/learned_model.json).

Usage::

    python tests/quality/train_model.py [--check]

Trains two logistic regressions over character n-grams on the **tuning split only**: what
a message is (a category, on topic, off topic) and, on the incidents, whether it is live
(see
`tests.quality.evaluate.load_splits`): held-out rows never reach it, so the held-out
figures stay a measure of messages the whole classifier has never seen. Training is
deterministic; `--check` exits 1 when the stored model differs from a fresh build (the
unit tests use it to catch a model trained on other data).

scikit-learn is needed here only (the `train` extra); the bot scores with the stored
weights.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bot.domain.learned import LATER, LIVE, MODEL_PATH, OFF_TOPIC, ON_TOPIC, features
from bot.domain.text import matching_form
from tests.quality.evaluate import TUNING, load_splits

C = 1.0  # inverse regularisation strength of the category model
URGENCY_C = 1.0  # and of the urgency model (fewer rows, two classes: more regularised)
MIN_DF = 8  # a feature must occur in at least this many training messages (see README)
MIN_WEIGHT = 0.02  # weights smaller than this change no decision and are not stored


def label(row: dict) -> str:
    if row["category"] is not None:
        return row["category"]
    return OFF_TOPIC if row["off_topic"] else ON_TOPIC


def build(rows: list[dict] | None = None) -> dict[str, object]:
    """The models' JSON data, trained on `rows` (default: the tuning split)."""
    if rows is None:
        rows = load_splits()[TUNING]
    incidents = [r for r in rows if r["category"] is not None]
    return {
        "trained_on": f"{TUNING} split, {len(rows)} messages",
        "category": fit([r["text"] for r in rows], [label(r) for r in rows], C),
        "urgency": fit(
            [r["text"] for r in incidents],
            [LIVE if r["urgent"] else LATER for r in incidents],
            URGENCY_C,
        ),
    }


def fit(texts: list[str], labels: list[str], c: float) -> dict[str, object]:
    """One logistic regression over the n-grams of `texts`, as stored JSON weights."""
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = CountVectorizer(
        analyzer=lambda text: sorted(features(" " + matching_form(text))),
        binary=True,
        min_df=MIN_DF,
    )
    x = vectorizer.fit_transform(texts)
    model = LogisticRegression(C=c, max_iter=5000)
    model.fit(x, labels)
    classes = [str(c) for c in model.classes_]
    # scikit-learn keeps one row of weights for two classes (for classes[1]); stored here
    # as one row per class, so scoring is the same for both models.
    coef = model.coef_ if len(classes) > 2 else [-model.coef_[0] / 2, model.coef_[0] / 2]
    bias = (
        model.intercept_
        if len(classes) > 2
        else [-model.intercept_[0] / 2, model.intercept_[0] / 2]
    )
    weights: dict[str, list[list[float]]] = {}
    for gram, column in sorted(vectorizer.vocabulary_.items()):
        pairs = [
            [i, round(float(coef[i][column]), 4)]
            for i in range(len(classes))
            if abs(coef[i][column]) >= MIN_WEIGHT
        ]
        if pairs:
            weights[gram] = pairs
    return {"classes": classes, "bias": [round(float(b), 4) for b in bias], "weights": weights}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the stored model")
    args = parser.parse_args(argv)
    text = json.dumps(build(), ensure_ascii=False, separators=(",", ":"), sort_keys=True) + "\n"
    if args.check:
        same = MODEL_PATH.exists() and MODEL_PATH.read_text(encoding="utf-8") == text
        print("model is up to date" if same else "model differs from a fresh build")
        return 0 if same else 1
    MODEL_PATH.write_text(text, encoding="utf-8")
    print(f"wrote {MODEL_PATH} ({len(text) // 1024} KiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
