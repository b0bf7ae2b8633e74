"""HTML for bulletins the bot relays into watch rooms.

The bot re-sends police bulletins under its own name to hundreds of residents,
so whatever HTML it forwards must be the Matrix spec's recommended subset of
``formatted_body`` and nothing more: no scripts, no event handlers, no remote
images (an <img> would leak every reader's IP address to the image host).
"""

from __future__ import annotations

import html
import re

import nh3

MAX_HTML_BYTES = 32 * 1024
# Work done on hostile input is bounded too: beyond this the input is cut before parsing.
_MAX_INPUT_FACTOR = 4
_ELLIPSIS = "…"
_LONGEST_ENTITY = 32
_MAX_TRUNCATION_ROUNDS = 8
# html5ever is quadratic in nesting depth (80 KiB of "<ul><li>" takes a second);
# a real bulletin has far fewer tags than this, so cutting here costs nothing.
_MAX_TAGS = 3000

ALLOWED_TAGS: frozenset[str] = frozenset(
    {
        "font", "del", "s", "strike", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote",
        "p", "a", "ul", "ol", "sup", "sub", "li", "b", "i", "u", "strong", "em", "code",
        "hr", "br", "div", "table", "thead", "tbody", "tr", "th", "td", "caption", "pre",
        "span",
    }
)  # fmt: skip
# Removed with everything inside: their text is never meant for a reader.
# <mx-reply> is a reply fallback that would quote someone else's message out of context.
_DROP_WITH_CONTENT: frozenset[str] = frozenset(
    {"script", "style", "mx-reply", "title", "textarea", "noscript", "iframe", "object", "template"}
)
_ATTRIBUTES: dict[str, set[str]] = {
    "font": {"color", "data-mx-color", "data-mx-bg-color"},
    "span": {"data-mx-color", "data-mx-bg-color", "data-mx-spoiler"},
    "a": {"href"},
    "ol": {"start"},
    "code": {"class"},
}
_URL_SCHEMES = {"https", "http", "mailto"}
_COLOR = re.compile(r"#[0-9a-fA-F]{6}")
_LANGUAGE_CLASS = re.compile(r"language-[A-Za-z0-9_+#.-]{1,32}")


def _filter_attribute(tag: str, name: str, value: str) -> str | None:
    """Keep only values the spec allows, so attributes cannot smuggle CSS or markup."""
    if name in {"color", "data-mx-color", "data-mx-bg-color"}:
        return value if _COLOR.fullmatch(value) else None
    if name == "start":
        return value if value.isascii() and value.isdigit() and len(value) <= 6 else None
    if tag == "code" and name == "class":
        classes = [c for c in value.split() if _LANGUAGE_CLASS.fullmatch(c)]
        return classes[0] if classes else None
    if name == "data-mx-spoiler":
        return value[:200]
    return value


def _clean(fragment: str) -> str:
    return nh3.clean(
        fragment,
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(_DROP_WITH_CONTENT),
        attributes=_ATTRIBUTES,
        attribute_filter=_filter_attribute,
        url_schemes=_URL_SCHEMES,
        url_relative="deny",
        link_rel="noopener noreferrer",
        strip_comments=True,
    )


def _cut_utf8(text: str, max_bytes: int) -> str:
    """The longest prefix within ``max_bytes``, not ending inside a tag or an entity."""
    cut = text.encode("utf-8")[:max_bytes].decode("utf-8", errors="ignore")
    last_open = cut.rfind("<")
    if last_open > cut.rfind(">"):
        cut = cut[:last_open]
    last_amp = cut.rfind("&")
    if last_amp > cut.rfind(";") and len(cut) - last_amp <= _LONGEST_ENTITY:
        cut = cut[:last_amp]
    return cut


def _cut_tags(text: str, max_tags: int) -> str:
    """``text`` up to (not including) its ``max_tags``-th "<"."""
    index = -1
    for _ in range(max_tags):
        index = text.find("<", index + 1)
        if index < 0:
            return text
    return text[:index]


def sanitize_html(fragment: str, *, max_bytes: int = MAX_HTML_BYTES) -> str:
    """The spec-safe subset of ``fragment``, at most ``max_bytes`` of UTF-8.

    Over-long input (in bytes, or in tags: parsing deep nesting is quadratic)
    is cut on a tag boundary and re-sanitised, which closes any open tags, then
    marked with an ellipsis so readers know text is missing.
    """
    # A byte-order mark is stripped by the parser only at the start; drop them all.
    fragment = fragment.replace("\ufeff", "")
    source = _cut_tags(_cut_utf8(fragment, max_bytes * _MAX_INPUT_FACTOR), _MAX_TAGS)
    cleaned = _clean(source)
    if len(source) == len(fragment) and len(cleaned.encode("utf-8")) <= max_bytes:
        return cleaned
    budget = max_bytes - len(_ELLIPSIS.encode("utf-8"))
    for _ in range(_MAX_TRUNCATION_ROUNDS):
        truncated = _clean(_cut_utf8(cleaned, budget)) + _ELLIPSIS
        size = len(truncated.encode("utf-8"))
        if size <= max_bytes:
            return truncated
        # Re-closing open tags added bytes; shrink in proportion (deep nesting can double it).
        budget = min(budget - 16, budget * max_bytes // size)
        if budget <= 0:
            break
    return _ELLIPSIS if max_bytes >= len(_ELLIPSIS.encode("utf-8")) else ""


def escape_text(text: str) -> str:
    """``text`` safe to place inside HTML element content or a quoted attribute."""
    return html.escape(text, quote=True)


def plain_to_html(text: str) -> str:
    """Plain text as HTML that keeps its line breaks."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "<br>".join(escape_text(line) for line in lines)
