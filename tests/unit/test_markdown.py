"""Markdown-only bulletins: rendered with markdown-it-py, then sanitised like any bulletin."""

from __future__ import annotations

import time
from html.parser import HTMLParser

import pytest

from bot.domain.markdown import MAX_MARKDOWN_CHARS, markdown_to_html
from bot.domain.sanitize import MAX_HTML_BYTES, sanitize_html


def relayed(text: str) -> str:
    return sanitize_html(markdown_to_html(text))


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def tags(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(html)
    return parser.tags


def test_weekly_summary_becomes_bold_and_a_list() -> None:
    html = relayed("**Weekoverzicht**\n\n- 2 inbraken in de Vogelwijk\n- 1 fietsdiefstal")
    assert "<strong>Weekoverzicht</strong>" in html
    assert "<ul>" in html and "<li>2 inbraken in de Vogelwijk</li>" in html
    assert "**" not in html and "- " not in html


def test_line_breaks_stay_line_breaks() -> None:
    assert "Regel een<br" in relayed("Regel een\nRegel twee")


@pytest.mark.parametrize(
    "hostile",
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "[klik](javascript:alert(1))",
        "[klik](vbscript:msgbox)",
        "[klik](data:text/html;base64,PHNjcmlwdD4=)",
        "![spion](https://tracker.example/pixel.png)",  # an image would leak readers' IPs
        '<a href="https://x" onclick="steal()">x</a>',
        "<iframe src=https://evil></iframe>",
        '[x](https://ok.example "t" onmouseover=alert(1))',
        "[x](<javascript:alert(1)>)",
        "[x][r]\n\n[r]: javascript:alert(1)",
    ],
)
def test_hostile_markdown_is_neutralised(hostile: str) -> None:
    html = relayed(f"Bericht van de wijkagent\n\n{hostile}")
    assert "Bericht van de wijkagent" in html
    for tag, attrs in tags(html):
        assert tag not in {"script", "img", "iframe"}, html
        assert set(attrs) <= {"href", "rel"}, html  # no event handlers, no src
        href = attrs.get("href")
        assert href is None or href.startswith("https://"), html


def test_safe_links_survive_with_noopener() -> None:
    html = relayed("Meer op [politie.nl](https://www.politie.nl)")
    assert '<a href="https://www.politie.nl" rel="noopener noreferrer">politie.nl</a>' in html


@pytest.mark.parametrize("unit", ["*[", "[", "**a", ">", "- ", "`", "|a", "<"])
def test_hostile_bulk_input_is_bounded(unit: str) -> None:
    text = unit * (MAX_MARKDOWN_CHARS // len(unit))
    started = time.perf_counter()
    html = relayed(text)
    elapsed = time.perf_counter() - started
    assert len(html.encode()) <= MAX_HTML_BYTES
    assert elapsed < 5, f"{unit!r}: {elapsed:.2f} s"  # generous: measured ~0.2 s on 2 cores


def test_over_long_text_is_relayed_as_plain_text() -> None:
    text = "**vet** " * (MAX_MARKDOWN_CHARS // 8 + 10)
    html = markdown_to_html(text)
    assert "<strong>" not in html and "**vet**" in html
