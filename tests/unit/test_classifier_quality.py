"""Quality floors for the incident classifier, on the held-out splits.

The labelled data is split before tuning (tests/quality/evaluate.py `load_splits`):
the tuning split may be looked at, the held-out ones only as aggregate figures. The
first group of tests checks that the sets are well-formed (they must pass without a
classifier); the second runs the classifier and asserts the floors a resident or
moderator would notice, on messages nobody tuned the vocabulary or the model to.

Floors are issue 11's targets where the classifier meets them. Where it does not yet,
the floor is the measured figure minus a small margin, so a regression still fails while
the miss stays visible in README.md. MEASURED notes the held-out figure each floor guards.
"""

from __future__ import annotations

import re
from collections import Counter

import pytest

from tests.quality.evaluate import (
    CATEGORIES,
    DEFAULT_PATH,
    HELDOUT,
    HELDOUT_PATH,
    MAX_GAP,
    TUNING,
    TUNING_PATHS,
    Report,
    evaluate,
    gap,
    load_rows,
    load_splits,
)

KEYS = {"id", "text", "category", "urgent", "off_topic", "plates"}
OPTIONAL_KEYS = {"police_called"}
PLATE_SHAPE = re.compile(r"^[A-Z0-9]{1,3}-[A-Z0-9]{2,3}-[A-Z0-9]{1,3}$|^[A-Z0-9]{3}-[A-Z0-9]{3}$")
# Dutch sidecodes 1-14 (L letter, 9 digit) and the Belgian formats, in normal form.
_SIDECODES = [
    "LL-99-99",
    "99-99-LL",
    "99-LL-99",
    "LL-99-LL",
    "LL-LL-99",
    "99-LL-LL",
    "99-LLL-9",
    "9-LLL-99",
    "LL-999-L",
    "L-999-LL",
    "LLL-99-L",
    "L-99-LLL",
    "9-LL-999",
    "999-LL-9",
]
_BELGIAN = ["9-LLL-999", "LLL-999", "999-LLL"]


def _pattern(code: str) -> re.Pattern[str]:
    return re.compile("^" + code.replace("L", "[A-Z]").replace("9", "[0-9]") + "$")


DUTCH = [_pattern(c) for c in _SIDECODES]
BELGIAN = [_pattern(c) for c in _BELGIAN]


def _valid_plate(plate: str) -> bool:
    for sidecode, pattern in enumerate(DUTCH, 1):
        if pattern.match(plate):
            return sidecode < 4 or not re.search("[AEIOU]", plate)
    return any(p.match(plate) for p in BELGIAN)


LABELLED_FILES = [*TUNING_PATHS, HELDOUT_PATH]


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    return load_rows(DEFAULT_PATH)


@pytest.fixture(scope="module", params=LABELLED_FILES, ids=lambda p: p.name)
def labelled(request) -> list[dict]:
    return load_rows(request.param)


# --------------------------------------------------------------------------- the set


def test_set_is_large_enough_with_unique_ids(rows):
    assert len(rows) >= 300
    ids = [r["id"] for r in rows]
    assert len(set(ids)) == len(ids), [i for i, c in Counter(ids).items() if c > 1]
    texts = [r["text"] for r in rows]
    assert len(set(texts)) == len(texts), "duplicate texts"


def test_rows_follow_the_contract(labelled):
    # Failures name the row id only: a held-out row's text must never be printed.
    for r in labelled:
        i = r.get("id")
        assert KEYS <= set(r) <= KEYS | OPTIONAL_KEYS, i
        assert isinstance(r.get("police_called", False), bool), i
        assert isinstance(r["id"], str) and r["id"], i
        assert isinstance(r["text"], str) and r["text"].strip(), i
        assert r["category"] is None or r["category"] in CATEGORIES, i
        assert isinstance(r["urgent"], bool), i
        assert isinstance(r["off_topic"], bool), i
        assert isinstance(r["plates"], list), i
        # consistency of the labels themselves
        if r["category"] is not None:
            assert not r["off_topic"], f"an incident is never off-topic: {i}"
        else:
            assert not r["urgent"], f"a non-incident is never urgent: {i}"


def test_plates_are_in_normal_form_and_occur_in_the_text(labelled):
    for r in labelled:
        squashed = re.sub(r"[^A-Z0-9]", "", r["text"].upper())
        assert len(set(r["plates"])) == len(r["plates"]), r["id"]
        for plate in r["plates"]:
            assert PLATE_SHAPE.match(plate), (r["id"], plate)
            assert _valid_plate(plate), (r["id"], plate)
            assert plate.replace("-", "") in squashed, (r["id"], plate)


def test_every_category_and_kind_is_covered(rows):
    counts = Counter(r["category"] for r in rows)
    for category in CATEGORIES:
        assert counts[category] >= 20, (category, counts[category])
    off_topic = sum(r["off_topic"] for r in rows)
    on_topic_non_incident = sum(r["category"] is None and not r["off_topic"] for r in rows)
    incidents = [r for r in rows if r["category"] is not None]
    urgent_share = sum(r["urgent"] for r in incidents) / len(incidents)
    assert off_topic >= 70
    assert on_topic_non_incident >= 25
    assert 0.2 <= urgent_share <= 0.45, urgent_share
    assert sum(bool(r["plates"]) for r in rows) >= 30


def test_splits_are_disjoint_and_the_heldout_batch_is_large_enough():
    # Counts only in the messages: held-out texts must never be printed.
    splits = load_splits()
    ids = [r["id"] for rows in splits.values() for r in rows]
    texts = [r["text"] for rows in splits.values() for r in rows]
    assert len(ids) == len(set(ids)), f"{len(ids) - len(set(ids))} ids in two splits"
    shared = len(texts) - len(set(texts))
    assert shared == 0, f"{shared} texts in two splits"
    assert len(splits[TUNING]) + len(splits[HELDOUT]) >= 1000
    assert len(splits[HELDOUT]) >= 500


def test_the_model_was_trained_on_the_tuning_split_only():
    """The statistical layer must never have seen a held-out row (train_model.py)."""
    import json

    from bot.domain.learned import MODEL_PATH

    stored = json.loads(MODEL_PATH.read_text(encoding="utf-8"))
    assert stored["trained_on"] == f"{TUNING} split, {len(load_splits()[TUNING])} messages"


@pytest.mark.slow
def test_the_stored_model_is_a_fresh_build_of_the_tuning_split():
    from tests.quality.train_model import main

    assert main(["--check"]) == 0


# --------------------------------------------------------------------------- held-out floors

# (measure, floor) per held-out split. Issue 11 targets: accuracy 0.93, macro-F1 0.92,
# urgent precision and recall 0.90, off-topic precision 0.97, plates 0.98.
FLOORS = {
    HELDOUT: {
        "category_accuracy": 0.93,  # MEASURED 0.932 (548 of 588)
        "macro_f1": 0.92,  # MEASURED 0.928
        "urgent_precision": 0.90,  # MEASURED 0.967
        "urgent_recall": 0.90,  # MEASURED 0.981
        "off_topic_precision": 0.97,  # MEASURED 0.991
        "plates": 0.98,  # MEASURED 0.995
    },
}
# MEASURED 0.040: the tuning figure includes the models' own training rows. Against the
# tuning split scored by models that never read the row's batch (evaluate.py --cv) the
# held-out batch scores 0.003 higher, not lower (see README). Target 0.03.
GAP_CEILING = {HELDOUT: 0.045}


def _figures(report: Report) -> dict[str, float]:
    return {
        "category_accuracy": report.category_accuracy,
        "macro_f1": report.macro_f1,
        "urgent_precision": report.urgent.precision,
        "urgent_recall": report.urgent.recall,
        "off_topic_precision": report.off_topic.precision,
        "plates": report.plate_exact_accuracy,
    }


@pytest.fixture(scope="module")
def split_reports() -> dict[str, Report]:
    return {name: evaluate(rows) for name, rows in load_splits().items()}


@pytest.mark.parametrize("split", sorted(FLOORS))
def test_heldout_floors(split_reports, split):
    # Aggregates only: a held-out miss must never be printed, or it gets tuned to.
    figures = _figures(split_reports[split])
    below = {m: round(v, 3) for m, v in figures.items() if v < FLOORS[split][m]}
    assert not below, f"{split} below its floors: {below} (floors {FLOORS[split]})"


@pytest.mark.parametrize("split", sorted(GAP_CEILING))
def test_overfitting_gap(split_reports, split):
    assert GAP_CEILING[split] >= MAX_GAP  # a ceiling never below the target
    value = gap(split_reports[TUNING], split_reports[split])
    assert value <= GAP_CEILING[split], f"tuning - {split} macro-F1 gap {value:.3f}"


# --------------------------------------------------------------------------- the classifier


@pytest.fixture(scope="module")
def report(rows) -> Report:
    # No importorskip on purpose: the contract requires the classifier, so a
    # missing module is a failure, not a reason to skip.
    from bot.domain.classifier import classify

    return evaluate(rows, classify)


def _why(report: Report) -> str:
    from tests.quality.evaluate import format_report

    # The original set is part of the tuning split: its misses may be shown.
    return "\n" + format_report(report, worst=20, show_misses=True)


def test_category_macro_f1(report):
    assert report.macro_f1 >= 0.75, _why(report)


def test_urgent_recall_and_precision(report):
    # A missed emergency is the worst failure; crying wolf trains people to ignore alerts.
    assert report.urgent.recall >= 0.75, _why(report)
    assert report.urgent.precision >= 0.75, _why(report)


def test_off_topic_precision(report):
    # A resident wrongly told off for a real report is bad for the group.
    assert report.off_topic.precision >= 0.85, _why(report)
    # and the flag must actually be used, or the precision above means nothing
    assert report.off_topic.recall >= 0.5, _why(report)


def test_plates_are_not_invented(report):
    # Phone numbers, postcodes, times and amounts must not become plates.
    assert report.plate_precision >= 0.97, (report.spurious_plates, _why(report))
    assert report.plate_recall >= 0.8, _why(report)
