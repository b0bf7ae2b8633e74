"""Where the editable data files live (``config/``): vocabularies, house rules, Synapse config.

They are data an operator may change without a release, so they are not package resources:
the working directory's ``config/`` wins (Docker mounts it at ``/app/config``), falling back to
the source tree's for a checkout run from elsewhere.
"""

from __future__ import annotations

from pathlib import Path


def config_dir() -> Path:
    here = Path.cwd() / "config"
    if here.is_dir():
        return here
    return Path(__file__).resolve().parent.parent / "config"
