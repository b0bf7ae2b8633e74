"""HTML of relayed police bulletins: formatting survives, anything active does not."""

from __future__ import annotations

import pytest

from bot.domain.sanitize import MAX_HTML_BYTES, escape_text, plain_to_html, sanitize_html


def test_script_tags_are_removed_with_their_content() -> None:
    out = sanitize_html("<p>Let op</p><script>alert('hack')</script><SCRIPT src=x></SCRIPT>")
    assert out == "<p>Let op</p>"


def test_style_tags_are_removed_with_their_content() -> None:
    assert sanitize_html("<style>p { display:none }</style><b>Inbraak</b>") == "<b>Inbraak</b>"


@pytest.mark.parametrize(
    "href", ["javascript:alert(1)", "JaVaScRiPt:alert(1)", " javascript:x", "data:text/html,x"]
)
def test_dangerous_link_targets_are_removed(href: str) -> None:
    out = sanitize_html(f'<a href="{href}">klik</a>')
    assert "href" not in out
    assert "klik" in out


def test_event_handler_attributes_are_removed() -> None:
    out = sanitize_html(
        '<b onclick="x()">vet</b><img src=x onerror="alert(1)"><p onmouseover=y>p</p>'
    )
    assert "onerror" not in out and "onclick" not in out and "onmouseover" not in out
    assert "<b>vet</b>" in out and "<p>p</p>" in out


def test_images_are_dropped_so_readers_ips_do_not_leak() -> None:
    assert "img" not in sanitize_html('Foto: <img src="https://evil.example/t.png">')


def test_allowed_formatting_is_kept() -> None:
    html = (
        "<h3>Weekoverzicht</h3><p><strong>3 inbraken</strong> en <em>1 poging</em></p>"
        "<ul><li>Dorpsstraat</li><li>Kerkweg</li></ul><blockquote>citaat</blockquote>"
        "<table><thead><tr><th>Wat</th></tr></thead><tbody><tr><td>Inbraak</td></tr></tbody></table>"
        "<pre><code>code</code></pre><del>oud</del><br><hr>"
    )
    assert sanitize_html(html) == html


def test_links_keep_safe_targets_and_get_noopener() -> None:
    out = sanitize_html(
        '<a href="https://www.politie.nl/x">politie.nl</a> '
        '<a href="https://matrix.to/#/@agent:politie.nl">agent</a> '
        '<a href="mailto:wijkagent@politie.nl">mail</a>'
    )
    assert 'href="https://www.politie.nl/x"' in out
    assert 'href="https://matrix.to/#/@agent:politie.nl"' in out
    assert 'href="mailto:wijkagent@politie.nl"' in out
    assert out.count("noopener") == 3


def test_matrix_colours_and_code_languages_are_kept_only_when_well_formed() -> None:
    out = sanitize_html(
        '<font data-mx-color="#ff0000" style="position:fixed">rood</font>'
        '<span data-mx-bg-color="red;x">bg</span>'
        '<code class="language-python evil">x</code><ol start="3" type="i"><li>c</li></ol>'
    )
    assert '<font data-mx-color="#ff0000">rood</font>' in out
    assert "<span>bg</span>" in out
    assert '<code class="language-python">x</code>' in out
    assert '<ol start="3"><li>c</li></ol>' in out


def test_reply_fallbacks_are_not_relayed() -> None:
    assert (
        sanitize_html("<mx-reply><blockquote>oud bericht</blockquote></mx-reply>Nieuw") == "Nieuw"
    )


def test_long_bulletins_are_truncated_to_the_limit_with_valid_markup() -> None:
    html = "<p><b>" + "Inbraak &amp; diefstal. " * 5000 + "</b></p>"
    out = sanitize_html(html)
    assert len(out.encode("utf-8")) <= MAX_HTML_BYTES
    assert out.endswith("</b></p>…")
    assert sanitize_html(out) == out, "truncated output is already clean"


def test_a_small_limit_is_respected() -> None:
    out = sanitize_html("<ul>" + "<li>straat</li>" * 100 + "</ul>", max_bytes=100)
    assert len(out.encode("utf-8")) <= 100
    assert out.startswith("<ul><li>straat</li>")


def test_escape_and_plain_to_html() -> None:
    assert escape_text('<b>"Jan" & co</b>') == "&lt;b&gt;&quot;Jan&quot; &amp; co&lt;/b&gt;"
    assert plain_to_html("Let op:\r\n<script>\nbel 112") == "Let op:<br>&lt;script&gt;<br>bel 112"


def test_absurdly_many_tags_are_cut_quickly_and_marked() -> None:
    out = sanitize_html("<ul><li>straat" * 10_000)
    assert out.endswith("</li></ul>…")
    assert len(out.encode("utf-8")) <= MAX_HTML_BYTES
    assert sanitize_html("<p>x</p>" * 10_000).endswith("</p>…")
