"""Quality evaluation of the incident classifier against labelled message sets.

Usage::

    python tests/quality/evaluate.py                  # every split side by side, and the gap
    python tests/quality/evaluate.py --misses         # plus the worst misses of the tuning split
    python tests/quality/evaluate.py path/to/set.jsonl  # one file, aggregate figures only

A set holds one JSON object per line in the ``buurtbot classify`` output format plus
the text: ``{"id", "text", "category", "urgent", "off_topic", "plates"}``, optionally
``"police_called"``.

The labelled data is split before any tuning (see `load_splits`):

* ``tuning``: every set that has been looked at: the original set
  (``eval_messages.jsonl``), the second own set (``eval_messages_own2.jsonl``), the
  first independent set (``eval_messages_independent.jsonl``, held out until its figures
  had steered two decisions), the first nine fresh batches (``eval_messages_fresh1.jsonl``
  to ``eval_messages_fresh9.jsonl``, each the held-out batch until its figures had been read
  or used for a decision) and 3,200 messages written for tuning from the same brief
  (``eval_messages_registers*.jsonl``). Vocabulary and
  code may be tuned while looking at these misses, and the statistical layer is trained on
  them.
* ``heldout``: ``heldout.jsonl``, the tenth fresh batch: 600 messages written on
  4 December 2026 by three new authors who had seen neither the vocabulary, the code nor any
  labelled message, only the label definitions in ``HELDOUT_BRIEF.md``; less the few texts
  also in the tuning split. It is replaced by a fresh batch once its figures have been used
  for a decision.

Held-out misses are never printed: `format_report` lists misses only when asked, and
`main` asks only for the tuning split. The gap (tuning minus held-out) is the
overfitting figure. ``--cv`` shows the fair side of that gap for the model: each tuning
row classified by a model trained without the rows of its source file (another author).

Each text is run through ``bot.domain.classifier.classify`` and compared with
its labels. ``evaluate(rows)`` returns a :class:`Report` so tests can assert
floors.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.domain.vocabulary import CATEGORIES

NONE_LABEL = "none"
"""Row label used in the per-category table for ``category == null``."""

DATA = Path(__file__).resolve().parents[1] / "data"
DEFAULT_PATH = DATA / "eval_messages.jsonl"
TUNING_PATHS = (
    DEFAULT_PATH,
    DATA / "eval_messages_own2.jsonl",
    DATA / "eval_messages_independent.jsonl",
    DATA / "eval_messages_fresh1.jsonl",
    DATA / "eval_messages_fresh2.jsonl",
    DATA / "eval_messages_registers.jsonl",
    DATA / "eval_messages_fresh3.jsonl",
    DATA / "eval_messages_registers2.jsonl",
    DATA / "eval_messages_fresh4.jsonl",
    DATA / "eval_messages_registers3.jsonl",
    DATA / "eval_messages_fresh5.jsonl",
    DATA / "eval_messages_registers4.jsonl",
    DATA / "eval_messages_fresh6.jsonl",
    DATA / "eval_messages_fresh7.jsonl",
    DATA / "eval_messages_registers5.jsonl",
    DATA / "eval_messages_fresh8.jsonl",
    DATA / "eval_messages_fresh9.jsonl",
)
HELDOUT_PATH = DATA / "heldout.jsonl"
TUNING, HELDOUT = "tuning", "heldout"
HELDOUT_SPLITS = (HELDOUT,)


@dataclass(frozen=True)
class Score:
    """Precision / recall / F1 for one binary decision or one class."""

    precision: float
    recall: float
    f1: float
    support: int  # number of rows whose label is positive
    predicted: int  # number of rows predicted positive


@dataclass(frozen=True)
class Prediction:
    """What the classifier said about one row, normalised to plain values."""

    category: str | None
    urgent: bool
    off_topic: bool
    plates: frozenset[str]
    police_called: bool | None = None  # None: the row does not say


@dataclass(frozen=True)
class Mistake:
    """One row where the prediction differs from the label in any field."""

    id: str
    text: str
    expected: Prediction
    got: Prediction
    severity: int
    fields: tuple[str, ...]


@dataclass
class Report:
    """All figures of one evaluation run."""

    n: int
    per_category: dict[str, Score]  # the 11 categories plus "none"
    macro_f1: float  # mean F1 over the 11 categories ("none" excluded)
    macro_f1_with_none: float
    category_accuracy: float
    urgent: Score
    off_topic: Score
    police_called: Score | None  # over the rows labelled with it; None if none are
    plate_exact_accuracy: float  # rows whose predicted plate set equals the label set
    plate_precision: float  # micro, over individual plates
    plate_recall: float
    plates_predicted: int
    plates_expected: int
    spurious_plates: list[tuple[str, str]] = field(default_factory=list)  # (row id, plate)
    mistakes: list[Mistake] = field(default_factory=list)  # worst first

    def worst(self, k: int = 20) -> list[Mistake]:
        return self.mistakes[:k]


# --------------------------------------------------------------------------- loading


def load_rows(path: str | Path = DEFAULT_PATH) -> list[dict[str, Any]]:
    """Read a JSON-lines file; blank lines are skipped, bad lines raise with a line number."""
    rows: list[dict[str, Any]] = []
    with Path(path).open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{lineno}: invalid JSON: {exc}") from exc
    return rows


def load_splits() -> dict[str, list[dict[str, Any]]]:
    """The evaluation splits (see the module docstring).

    Each tuning row carries a ``source`` (its file's name) for the cross-validation by
    author. A text that occurs twice (a "👍", an "ok") is kept once: in the tuning split,
    since a message the model was trained on cannot measure generalisation (and once in
    the held-out batch when two of its authors wrote it).
    """
    seen: set[str] = set()
    tuning = [
        {**row, "source": path.stem}
        for path in TUNING_PATHS
        for row in _unseen(load_rows(path), seen)
    ]
    return {TUNING: tuning, HELDOUT: list(_unseen(load_rows(HELDOUT_PATH), seen))}


def _unseen(rows: Iterable[dict[str, Any]], seen: set[str]) -> Iterator[dict[str, Any]]:
    """The rows whose text is not in `seen` yet, adding each text as it passes."""
    for row in rows:
        if row["text"] not in seen:
            seen.add(row["text"])
            yield row


# --------------------------------------------------------------------------- scoring


def _ratio(num: int, den: int, *, empty: float) -> float:
    return num / den if den else empty


def _score(tp: int, fp: int, fn: int) -> Score:
    support = tp + fn
    predicted = tp + fp
    # Nothing predicted: precision is vacuous (1.0) only if there was nothing to find,
    # so a classifier that never says "yes" cannot pass a precision floor.
    precision = _ratio(tp, predicted, empty=1.0 if support == 0 else 0.0)
    recall = _ratio(tp, support, empty=1.0)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Score(precision, recall, f1, support, predicted)


def _binary(pairs: Iterable[tuple[bool, bool]]) -> Score:
    tp = fp = fn = 0
    for expected, got in pairs:
        tp += expected and got
        fp += got and not expected
        fn += expected and not got
    return _score(tp, fp, fn)


def _plain(value: Any) -> Any:
    """Enums and similar wrappers to their plain value."""
    return getattr(value, "value", value)


def _normalise(result: Any) -> Prediction:
    """Accept an object with attributes or a mapping (e.g. a dict from the CLI)."""

    def get(name: str, default: Any = None) -> Any:
        if isinstance(result, Mapping):
            return result.get(name, default)
        return getattr(result, name, default)

    category = _plain(get("category"))
    if isinstance(category, str) and category.lower() in {"", "none", "null"}:
        category = None
    plates = get("plates") or ()
    return Prediction(
        category=category,
        urgent=bool(get("urgent", False)),
        off_topic=bool(get("off_topic", False)),
        plates=frozenset(str(_plain(p)) for p in plates),
        police_called=bool(get("police_called", False)),
    )


def _expected(row: Mapping[str, Any]) -> Prediction:
    police = row.get("police_called")
    return Prediction(
        category=row["category"],
        urgent=bool(row["urgent"]),
        off_topic=bool(row["off_topic"]),
        plates=frozenset(row["plates"]),
        police_called=None if police is None else bool(police),
    )


def _severity(exp: Prediction, got: Prediction) -> tuple[int, tuple[str, ...]]:
    """How much a resident or moderator would suffer from this mistake."""
    sev = 0
    fields: list[str] = []
    if exp.category != got.category:
        fields.append("category")
        sev += 3
        if exp.category is not None and got.category is None:
            sev += 2  # a real incident went unnoticed
    if exp.urgent != got.urgent:
        fields.append("urgent")
        sev += 4 if exp.urgent else 1  # a missed emergency is the worst outcome
    if exp.off_topic != got.off_topic:
        fields.append("off_topic")
        sev += 4 if got.off_topic else 1  # a resident wrongly reprimanded
    if exp.plates != got.plates:
        fields.append("plates")
        sev += 2 * len(got.plates - exp.plates) + len(exp.plates - got.plates)
    if exp.police_called is not None and exp.police_called != got.police_called:
        fields.append("police_called")
        sev += 1  # only the SAAR reminder depends on it
    return sev, tuple(fields)


def evaluate(
    rows: Sequence[Mapping[str, Any]],
    classify: Callable[[str], Any] | None = None,
) -> Report:
    """Run ``classify`` over ``rows`` and compute the report.

    ``classify`` defaults to ``bot.domain.classifier.classify``; pass another
    callable to evaluate something else (it may return an object with the
    attributes ``category, urgent, off_topic, plates`` or a mapping).
    """
    if classify is None:
        from bot.domain.classifier import classify as default_classify

        classify = default_classify

    pairs: list[tuple[Mapping[str, Any], Prediction, Prediction]] = []
    for row in rows:
        pairs.append((row, _expected(row), _normalise(classify(row["text"]))))

    labels = [*CATEGORIES, NONE_LABEL]

    def lab(category: str | None) -> str:
        return NONE_LABEL if category is None else category

    per_category = {
        c: _binary((lab(e.category) == c, lab(g.category) == c) for _, e, g in pairs)
        for c in labels
    }
    # Predictions outside the contract count as wrong for every class (they are
    # false negatives of the true class and nobody's true positive).
    n = len(pairs)
    macro = sum(per_category[c].f1 for c in CATEGORIES) / len(CATEGORIES)
    macro_all = sum(per_category[c].f1 for c in labels) / len(labels)
    accuracy = _ratio(sum(e.category == g.category for _, e, g in pairs), n, empty=0.0)

    urgent = _binary((e.urgent, g.urgent) for _, e, g in pairs)
    off_topic = _binary((e.off_topic, g.off_topic) for _, e, g in pairs)
    police_pairs = [(e.police_called, g.police_called) for _, e, g in pairs]
    police_labelled = [(bool(e), bool(g)) for e, g in police_pairs if e is not None]
    police_called = _binary(police_labelled) if police_labelled else None

    plate_exact = _ratio(sum(e.plates == g.plates for _, e, g in pairs), n, empty=0.0)
    p_tp = sum(len(e.plates & g.plates) for _, e, g in pairs)
    p_pred = sum(len(g.plates) for _, e, g in pairs)
    p_exp = sum(len(e.plates) for _, e, g in pairs)
    spurious = [(str(r["id"]), p) for r, e, g in pairs for p in sorted(g.plates - e.plates)]

    mistakes: list[Mistake] = []
    for row, e, g in pairs:
        sev, fields = _severity(e, g)
        if fields:
            mistakes.append(Mistake(str(row["id"]), row["text"], e, g, sev, fields))
    mistakes.sort(key=lambda m: (-m.severity, m.id))

    return Report(
        n=n,
        per_category=per_category,
        macro_f1=macro,
        macro_f1_with_none=macro_all,
        category_accuracy=accuracy,
        urgent=urgent,
        off_topic=off_topic,
        police_called=police_called,
        plate_exact_accuracy=plate_exact,
        plate_precision=_ratio(p_tp, p_pred, empty=1.0),
        plate_recall=_ratio(p_tp, p_exp, empty=1.0),
        plates_predicted=p_pred,
        plates_expected=p_exp,
        spurious_plates=spurious,
        mistakes=mistakes,
    )


# --------------------------------------------------------------------------- output


def _fmt_pred(p: Prediction) -> str:
    parts = [p.category or "-"]
    if p.urgent:
        parts.append("U")
    if p.off_topic:
        parts.append("OT")
    if p.plates:
        parts.append(",".join(sorted(p.plates)))
    return " ".join(parts)


def _truncate(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def format_report(report: Report, worst: int = 20, *, show_misses: bool = False) -> str:
    """The full table of one report; misses only with `show_misses` (tuning data only)."""
    out: list[str] = []
    out.append(f"Evaluated {report.n} messages\n")
    out.append(f"{'category':<16}{'prec':>7}{'recall':>8}{'f1':>7}{'support':>9}{'pred':>6}")
    out.append("-" * 53)
    for name, s in report.per_category.items():
        out.append(
            f"{name:<16}{s.precision:>7.2f}{s.recall:>8.2f}{s.f1:>7.2f}{s.support:>9}{s.predicted:>6}"
        )
    out.append("-" * 53)
    out.append(f"{'macro F1 (11 categories)':<34}{report.macro_f1:>7.3f}")
    out.append(f"{'macro F1 (incl. none)':<34}{report.macro_f1_with_none:>7.3f}")
    out.append(f"{'category accuracy':<34}{report.category_accuracy:>7.3f}")
    out.append("")
    binaries = [("urgent", report.urgent), ("off_topic", report.off_topic)]
    if report.police_called is not None:
        binaries.append(("police", report.police_called))
    for name, s in binaries:
        out.append(
            f"{name:<10} precision {s.precision:.3f}  recall {s.recall:.3f}  "
            f"f1 {s.f1:.3f}  (labelled {s.support}, predicted {s.predicted})"
        )
    out.append(
        f"plates     exact-set accuracy {report.plate_exact_accuracy:.3f}  "
        f"precision {report.plate_precision:.3f}  recall {report.plate_recall:.3f}  "
        f"(labelled {report.plates_expected}, predicted {report.plates_predicted})"
    )
    if not show_misses:
        return "\n".join(out)
    if report.spurious_plates:
        shown = ", ".join(f"{i}:{p}" for i, p in report.spurious_plates[:10])
        out.append(f"           spurious plates: {shown}")
    out.append("")
    mistakes = report.worst(worst)
    out.append(f"{len(report.mistakes)} rows with any mistake; worst {len(mistakes)}:")
    out.append(f"{'id':<6}{'sev':>4}  {'expected':<26}{'got':<26}text")
    for m in mistakes:
        out.append(
            f"{m.id:<6}{m.severity:>4}  {_truncate(_fmt_pred(m.expected), 25):<26}"
            f"{_truncate(_fmt_pred(m.got), 25):<26}{_truncate(m.text, 70)}"
        )
    return "\n".join(out)


# The held-out targets of issue 11: (label, how to read it off a report, floor).
# A measure without a floor is reported for information.
MEASURES: tuple[tuple[str, Callable[[Report], float | None], float | None], ...] = (
    ("category accuracy", lambda r: r.category_accuracy, 0.93),
    ("macro-F1 (11 categories)", lambda r: r.macro_f1, 0.92),
    ("urgent precision", lambda r: r.urgent.precision, 0.90),
    ("urgent recall", lambda r: r.urgent.recall, 0.90),
    ("off-topic precision", lambda r: r.off_topic.precision, 0.97),
    ("off-topic recall", lambda r: r.off_topic.recall, None),
    ("plates exact-set accuracy", lambda r: r.plate_exact_accuracy, 0.98),
    ("plate precision", lambda r: r.plate_precision, None),
    ("plate recall", lambda r: r.plate_recall, None),
    ("police_called precision", lambda r: r.police_called and r.police_called.precision, None),
    ("police_called recall", lambda r: r.police_called and r.police_called.recall, None),
)
MAX_GAP = 0.03  # tuning minus held-out macro-F1: the overfitting figure


def gap(tuning: Report, heldout: Report) -> float:
    """How much better the classifier does on data it was tuned on (macro-F1 points)."""
    return tuning.macro_f1 - heldout.macro_f1


def format_splits(reports: Mapping[str, Report]) -> str:
    """Aggregate figures of every split side by side, with the targets and the gaps.

    Only aggregates: this is what may be shown for held-out data.
    """
    names = list(reports)
    out = [f"{'measure':<28}" + "".join(f"{n:>13}" for n in names) + f"{'target':>9}"]
    out.append(f"{'messages':<28}" + "".join(f"{reports[n].n:>13}" for n in names))
    out.append("-" * len(out[0]))
    for label, read, floor in MEASURES:
        cells = []
        for name in names:
            value = read(reports[name])
            mark = ""
            if value is not None and floor is not None and name in HELDOUT_SPLITS:
                mark = " " if value >= floor else "!"
            cells.append(f"{'-' if value is None else f'{value:.3f}'}{mark:1}".rjust(13))
        target = "" if floor is None else f">= {floor:.2f}"
        out.append(f"{label:<28}" + "".join(cells) + f"{target:>9}")
    out.append("-" * len(out[0]))
    for tuned in (n for n in names if n.startswith(TUNING)):
        for name in names:
            if name in HELDOUT_SPLITS:
                value = gap(reports[tuned], reports[name])
                verdict = "ok" if value <= MAX_GAP else "over the target"
                out.append(
                    f"gap (macro-F1, {tuned} - {name}): {value:+.3f}  "
                    f"(target <= {MAX_GAP:.2f}: {verdict})"
                )
    out.append("! marks a held-out figure below its target")
    return "\n".join(out)


def cross_validated(rows: Sequence[Mapping[str, Any]]) -> Report:
    """The tuning split scored as if the model had not seen its author: each row is
    classified with a model trained on the rows of the *other* source files (needs
    scikit-learn, the `train` extra).

    The plain tuning figure includes the model's own training rows; this one is the fair
    side of the overfitting gap for the model (the terms were still tuned on every row).
    Leaving out a whole file rather than random rows asks what a held-out batch asks: how
    the classifier does on a writer it has never read.
    """
    from bot.domain.classifier import Classifier
    from bot.domain.learned import LearnedLayer
    from bot.domain.vocabulary import load_vocabulary
    from tests.quality.train_model import build

    vocabulary = load_vocabulary()
    sources = sorted({r["source"] for r in rows})
    classifiers = {
        source: Classifier(
            vocabulary, LearnedLayer(build([r for r in rows if r["source"] != source]))
        )
        for source in sources
    }
    by_text = {r["text"]: classifiers[r["source"]].classify(r["text"]) for r in rows}
    return evaluate(rows, by_text.__getitem__)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Classifier quality per split.")
    parser.add_argument("path", nargs="?", type=Path, help="evaluate one file (aggregates only)")
    parser.add_argument(
        "--misses", action="store_true", help="list the worst misses of the tuning split"
    )
    parser.add_argument("--worst", type=int, default=40)
    parser.add_argument(
        "--ablation",
        action="store_true",
        help="also the figures without the model, and without the model and the tense",
    )
    parser.add_argument(
        "--cv",
        action="store_true",
        help="also the tuning split with a model that never read the row's author",
    )
    args = parser.parse_args(argv)
    if args.path is not None:
        print(format_report(evaluate(load_rows(args.path))))
        return 0
    splits = load_splits()
    reports = {name: evaluate(rows) for name, rows in splits.items()}
    print(format_splits(reports))
    if args.cv:
        print("\nTuning split, each row classified with a model trained on the other authors:")
        print(format_splits({f"{TUNING}_cv": cross_validated(splits[TUNING]), **reports}))
    if args.ablation:
        from bot.domain.classifier import Classifier
        from bot.domain.vocabulary import load_vocabulary

        vocabulary = load_vocabulary()
        for title, classifier in (
            ("terms and tense, no model", Classifier(vocabulary)),
            ("terms alone (no tense, no model)", Classifier(vocabulary, tense=False)),
        ):
            print(f"\n{title}:")
            print(format_splits({n: evaluate(r, classifier) for n, r in splits.items()}))
    if args.misses:
        print()
        print(f"Tuning split ({TUNING}) in full:")
        print(format_report(reports[TUNING], args.worst, show_misses=True))
    return 0


if __name__ == "__main__":
    # Allow `python tests/quality/evaluate.py` from the project root without install.
    root = str(Path(__file__).resolve().parents[2])
    if root not in sys.path:
        sys.path.insert(0, root)
    raise SystemExit(main())
