"""Markdown in plain-text bulletins: many clients and scripts send only a ``body``.

A wijkagent's script that posts ``**Weekoverzicht**`` and ``- item`` lines means bold text and a
list, not asterisks and dashes. CommonMark (markdown-it-py) turns such a body into HTML; raw
HTML in the text stays text (``html`` off) and the result is sanitised afterwards like every
other bulletin, so Markdown opens no new way in.
"""

from __future__ import annotations

from markdown_it import MarkdownIt

from bot.domain.sanitize import plain_to_html

# Parsing costs about 13 ms per KiB of hostile input; a hand-written bulletin is far shorter.
# Longer text is relayed as plain text with its line breaks, as before Markdown.
MAX_MARKDOWN_CHARS = 16 * 1024

# breaks: a line break in the body stays a line break, as it did before Markdown.
# maxNesting bounds the work on hostile input (">>>>>>…" or "*[*[*[…"), as the preset does.
_RENDERER = (
    MarkdownIt("commonmark", {"html": False, "breaks": True, "linkify": False, "maxNesting": 20})
    .enable("table")
    .enable("strikethrough")
)


def markdown_to_html(text: str) -> str:
    """``text`` as HTML; not yet safe to relay (pass it through ``sanitize_html``)."""
    if len(text) > MAX_MARKDOWN_CHARS:
        return plain_to_html(text)
    return _RENDERER.render(text).strip()
