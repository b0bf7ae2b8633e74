"""Text the bot sends: HTML for Element, with a plain-text fallback derived from it.

Every outgoing message is written once, as HTML, and its ``body`` is derived here so the two
never drift apart (clients without HTML support and notifications show the plain body).
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

_BLOCK_TAGS = {"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "tr", "table"}


@dataclass(frozen=True, slots=True)
class Rich:
    """A message in both forms Matrix wants: ``body`` and ``formatted_body``."""

    plain: str
    html: str

    @classmethod
    def from_html(cls, markup: str) -> Rich:
        return cls(html_to_plain(markup), markup)

    @classmethod
    def from_plain(cls, text: str) -> Rich:
        return cls(text, html.escape(text).replace("\n", "<br>"))

    def __add__(self, other: Rich) -> Rich:
        return Rich(self.plain + other.plain, self.html + other.html)


class _PlainText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0
        self._list_depth = 0
        self._links: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"script", "style", "mx-reply"}:
            self._skip += 1
        elif tag == "br":
            self.parts.append("\n")
        elif tag == "li":
            self.parts.append("\n" + "  " * max(self._list_depth - 1, 0) + "• ")
        elif tag in {"ul", "ol"}:
            self._list_depth += 1
        elif tag in _BLOCK_TAGS:
            self._newline()
        elif tag == "a":
            self._links.append(dict(attrs).get("href"))

    def handle_endtag(self, tag: str) -> None:
        if tag in {"script", "style", "mx-reply"}:
            self._skip = max(self._skip - 1, 0)
        elif tag in {"ul", "ol"}:
            self._list_depth = max(self._list_depth - 1, 0)
            self._newline()
        elif tag in _BLOCK_TAGS:
            self._newline()
        elif tag == "a" and self._links:
            href = self._links.pop()
            text = self.parts[-1] if self.parts else ""
            if href and href.startswith("http") and href not in text and "matrix.to" not in href:
                self.parts.append(f" ({href})")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)

    def _newline(self) -> None:
        if self.parts and not self.parts[-1].endswith("\n"):
            self.parts.append("\n")


def html_to_plain(markup: str) -> str:
    parser = _PlainText()
    parser.feed(markup)
    parser.close()
    lines = "".join(parser.parts).split("\n")
    return "\n".join(line.rstrip() for line in lines).strip()


def escape(text: object) -> str:
    return html.escape(str(text), quote=True)


def mention_html(user_id: str, display_name: str | None = None) -> str:
    """A pill: Element renders a matrix.to link to a user as a mention."""
    label = escape(display_name or user_id)
    return f'<a href="https://matrix.to/#/{escape(user_id)}">{label}</a>'


def paragraphs(text: str) -> str:
    """Plain text with blank-line paragraphs and line breaks as HTML."""
    return "".join(
        f"<p>{escape(p).replace(chr(10), '<br>')}</p>" for p in text.strip().split("\n\n")
    )


def local_clock(ts_ms: int, zone: str, now_ms: int) -> str:
    """ "14:02" for today, "30-11 14:02" for another day, in the given time zone."""
    tz = ZoneInfo(zone)
    when = datetime.fromtimestamp(ts_ms / 1000, tz=tz)
    if when.date() == datetime.fromtimestamp(now_ms / 1000, tz=tz).date():
        return when.strftime("%H:%M")
    return when.strftime("%d-%m %H:%M")


def event_link(room_id: str, event_id: str) -> str:
    return f"https://matrix.to/#/{room_id}/{event_id}"


def excerpt(text: str, limit: int) -> str:
    """One line of at most ``limit`` characters: enough to recognise a report, no more."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"
