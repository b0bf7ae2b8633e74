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


def test_unusual_local_patterns_never_crash(tmp_path: Path) -> None:
    local = "[category.robbery]\n'*-roof' = 3\n're:\\d{4} ?[a-z]{2} roof' = 3\n"
    classifier = classifier_for(with_local(tmp_path, local))
    for text in ("1234 ab roof bij de bank", "straat-roof -roof", "Inbraak NU bij nr 5"):
        result = classifier.classify(text)
        assert result.category is None or isinstance(result.category, str)
    assert classifier.classify("Er wordt NU ingebroken bij nummer 5").category == "burglary"
