"""Packaging metadata in the current form, so `pip install -e .` prints no deprecation."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).parent.parent.parent


def test_licence_is_an_spdx_expression_with_a_setuptools_that_reads_it() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["license"] == "AGPL-3.0-or-later"
    assert "setuptools>=77" in project["build-system"]["requires"]
    assert not any("License ::" in c for c in project["project"].get("classifiers", []))


def test_test_extra_includes_the_optional_face_detector() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    assert any(dep.startswith("opencv-python-headless") for dep in extras["faces"])
    assert "buurtwacht[faces]" in extras["test"]
