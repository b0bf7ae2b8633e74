"""Message catalogues: every user-facing sentence lives in ``nl.toml`` / ``en.toml``.

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
    text = resources.files("bot.i18n").joinpath(f"{language}.toml").read_text("utf-8")
    flat: dict[str, str] = {}

    def walk(prefix: str, node: dict[str, object]) -> None:
        for key, value in node.items():
            name = f"{prefix}{key}"
            if isinstance(value, dict):
                walk(name + ".", value)
            elif isinstance(value, str):
                flat[name] = value
            else:
                raise CatalogError(f"{language}.toml: {name} must be a string")

    walk("", tomllib.loads(text))
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
