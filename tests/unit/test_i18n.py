"""Both catalogues say the same things, with the same placeholders, in valid HTML."""

from __future__ import annotations

from bot.i18n.catalog import Markup, keys, placeholders, t, template


def test_catalogues_have_the_same_keys() -> None:
    assert keys("nl") == keys("en")


def test_placeholders_match() -> None:
    for key in keys("nl"):
        assert placeholders(template(key, "nl")) == placeholders(template(key, "en")), key


def test_arguments_are_escaped_unless_markup() -> None:
    rendered = t("command.unknown", "nl", name="<script>x</script>")
    assert "<script>" not in rendered.html and "&lt;script&gt;" in rendered.html
    assert "<script>x</script>" in rendered.plain
    safe = t("help.header", "en", commands=Markup("<li>een</li>"))
    assert "<li>een</li>" in safe.html and "• een" in safe.plain
