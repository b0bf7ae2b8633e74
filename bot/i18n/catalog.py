"""Message catalogues: every user-facing sentence lives in ``bot/i18n/<language>/*.toml``.

One file per feature (``core.toml``, ``incidents.toml``, …), merged into one key space; a key
defined twice is an error, so features cannot silently overwrite each other's texts.

Templates are HTML with ``{name}`` placeholders; arguments are HTML-escaped unless passed as
``Markup`` (already-safe HTML built by the caller, e.g. a mention pill). Dutch is the reference
catalogue: a key missing from English falls back to Dutch rather than failing in front of a user.
"""

from __future__ import annotations

import string
import tomllib
from functools import cache
from importlib import resources
from typing import Literal

from bot.domain.formatting import Rich, escape

Language = Literal["nl", "en"]
LANGUAGES: tuple[Language, ...] = ("nl", "en")


class Markup(str):
    """A string that is already safe HTML and must not be escaped again."""


class CatalogError(Exception):
    pass


@cache
def _catalogue(language: str) -> dict[str, str]:
    flat: dict[str, str] = {}

    def walk(source: str, prefix: str, node: dict[str, object]) -> None:
        for key, value in node.items():
            name = f"{prefix}{key}"
            if isinstance(value, dict):
                walk(source, name + ".", value)
            elif not isinstance(value, str):
                raise CatalogError(f"{source}: {name} must be a string")
            elif name in flat:
                raise CatalogError(f"{source}: {name} is already defined in another file")
            else:
                flat[name] = value

    folder = resources.files("bot.i18n").joinpath(language)
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            walk(f"{language}/{entry.name}", "", tomllib.loads(entry.read_text("utf-8")))
    return flat


def keys(language: Language) -> set[str]:
    return set(_catalogue(language))


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def template(key: str, language: Language) -> str:
    found = _catalogue(language).get(key) or _catalogue("nl").get(key)
    if found is None:
        raise CatalogError(f"no message {key!r} in the catalogues")
    return found


def t(key: str, language: Language, **args: object) -> Rich:
    """Render a message in both HTML and plain text."""
    safe = {
        name: value if isinstance(value, Markup) else escape(value) for name, value in args.items()
    }
    return Rich.from_html(template(key, language).format(**safe))


def text(key: str, language: Language, **args: object) -> str:
    """Only the plain text (for reactions, log-free short strings, room names)."""
    return t(key, language, **args).plain
