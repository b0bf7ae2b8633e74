"""A municipality's own vocabulary file can add words without a release, and never breaks
classification — even with unusual patterns."""

from __future__ import annotations

import shutil
from pathlib import Path

from bot.domain.classifier import classifier_for
from bot.resources import config_dir


def with_local(tmp_path: Path, text: str) -> Path:
    directory = tmp_path / "vocabulary"
    shutil.copytree(config_dir() / "vocabulary", directory)
    (directory / "local.toml").write_text(text, encoding="utf-8")
    return directory


def test_local_words_are_recognised(tmp_path: Path) -> None:
    classifier = classifier_for(with_local(tmp_path, '[category.theft]\n"karrenjatter*" = 3\n'))
    assert classifier.classify("Er is een karrenjatter gezien bij de Jumbo").category == "theft"


def test_unusual_local_patterns_take_effect(tmp_path: Path) -> None:
    """A term starting with a hyphen and a regex starting with a digit: both unusual for the
    matcher (no plain letter to start from), both must count, and the rest keeps working."""
    local = "[category.robbery]\n'*-graai' = 3\n're:\\d{4} ?[a-z]{2} graaier' = 3\n"
    classifier = classifier_for(with_local(tmp_path, local))
    without = classifier_for()
    for text in ("Tas-graai bij de bushalte", "Bij 1234 AB een graaier gezien, 1234ab graaier"):
        assert without.classify(text).category is None, "the local file must be what counts"
        assert classifier.classify(text).category == "robbery", text
    assert classifier.classify("Een graaier gezien").category is None, "the pattern needs 1234 ab"
    assert classifier.classify("Er wordt NU ingebroken bij nummer 5").category == "burglary"
