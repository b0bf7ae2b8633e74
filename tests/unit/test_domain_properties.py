"""Hostile input never crashes the domain functions or makes their output unbounded.

Everything here reads text typed by residents (or relayed from elsewhere), so
arbitrary Unicode, 64 KiB messages, control characters and bidi overrides must
only ever produce a result or the documented error type.
"""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.domain.conduct import HouseRules, decide, load_house_rules
from bot.domain.durations import DEFAULT_MAX_SECONDS, DurationError, format_duration, parse_duration
from bot.domain.flood import FloodDetector
from bot.domain.police_alert import AlertEndError, parse_alert, parse_alert_end
from bot.domain.sanitize import MAX_HTML_BYTES, plain_to_html, sanitize_html
from bot.domain.signalement import SignalementAssessment, assess
from bot.domain.targets import (
    Ambiguous,
    Found,
    Malformed,
    NotFound,
    is_valid_user_id,
    parse_user_reference,
    split_target_and_rest,
)
from tests.unit.linear_time import assert_linear

TRICKY = ["\u202e", "\u202d", "\u2066", "\u200b", "\u200d", "\x00", "\x1b", "\r", "\n", "\ufeff",
          "<", ">", "&", ":", "@", "#", "%", "<script>", "</a>", "<a href='", "javascript:",
          "matrix:u/", "https://matrix.to/#/", "Wat:", "locatie:", "einde", "donkere man",
          "1h", "-", "uur", "é", "İ", "ß", "🚓"]  # fmt: skip
text = st.text(st.characters(codec="utf-8"), max_size=300) | st.lists(
    st.sampled_from(TRICKY) | st.text(max_size=5), max_size=60
).map("".join)
BIG = 64 * 1024


@given(text)
def test_sanitize_never_fails_and_stays_bounded(value: str) -> None:
    out = sanitize_html(value)
    assert len(out.encode("utf-8")) <= MAX_HTML_BYTES
    assert "<script" not in out.lower()
    assert sanitize_html(out) == out


@settings(max_examples=10, deadline=None)
@given(st.sampled_from(TRICKY), st.integers(min_value=1, max_value=BIG))
def test_sanitize_64k_of_anything(chunk: str, size: int) -> None:
    out = sanitize_html((chunk * (size // len(chunk) + 1))[:size])
    assert len(out.encode("utf-8")) <= MAX_HTML_BYTES


@given(text)
def test_plain_to_html_output_is_inert(value: str) -> None:
    out = plain_to_html(value)
    assert "<" not in out.replace("<br>", "")


@given(text)
def test_durations_either_parse_within_bounds_or_raise_duration_error(value: str) -> None:
    try:
        seconds = parse_duration(value)
    except DurationError as exc:
        assert exc.text == value
        return
    assert 0 < seconds <= DEFAULT_MAX_SECONDS
    assert parse_duration(format_duration(seconds, "nl")) == seconds


@given(st.integers(min_value=-(10**12), max_value=10**12), st.sampled_from(["nl", "en", "xx"]))
def test_format_duration_never_fails(seconds: int, lang: str) -> None:
    assert len(format_duration(seconds, lang)) < 200


@given(text, st.none() | text)
def test_user_references_resolve_to_one_of_the_result_types(token: str, html: str | None) -> None:
    members = {"@jan:buurt.nl": "Jan", "@piet:buurt.nl": token[:20]}
    result = parse_user_reference(token, html, members)
    assert isinstance(result, Found | NotFound | Ambiguous | Malformed)
    if isinstance(result, Found):
        assert is_valid_user_id(result.user_id)
    target, rest = split_target_and_rest(token, html, members)
    assert isinstance(target, Found | NotFound | Ambiguous | Malformed)
    assert len(rest) <= len(token)


@given(text)
def test_alert_parsing_never_raises_and_never_invents_text(value: str) -> None:
    result = parse_alert(value)
    assert isinstance(result.missing, list) and isinstance(result.unknown, list)
    produced = sum(len(v) for f, v in result.fields.items() if f != "actie")
    assert produced <= len(value)


@given(text)
def test_alert_end_raises_only_its_own_error(value: str) -> None:
    try:
        number, rest = parse_alert_end(value)
    except AlertEndError:
        return
    assert number > 0
    assert rest is None or len(rest) <= len(value)


@given(text)
def test_signalement_assessment_never_fails(value: str) -> None:
    assessment = assess(value)
    assert assessment.profiling_term is None or len(assessment.profiling_term) <= len(value) * 4


@settings(max_examples=5, deadline=None)
@given(st.sampled_from(TRICKY))
@example("donkere man")  # the one case with a verdict to check: always run it
def test_signalement_on_64k_is_bounded(chunk: str) -> None:
    """Bounded in time (linear in the input) and in what it keeps (one term, not the text)."""

    def assess_with(size: int) -> SignalementAssessment:
        # Words apart, as people type them: glued copies ("mandonkere") would be no words.
        return assess(" ".join([chunk] * (size // (len(chunk) + 1))))

    result = assess_with(BIG)
    assert result.profiling_term is None or len(result.profiling_term) <= 2 * len(chunk) + 40
    if chunk == "donkere man":  # 64 KiB of profiling and nothing else: guidance, once
        assert result.needs_guidance and result.profiling_term == "donkere man"
    assert_linear(assess_with, BIG, what=f"assess({chunk!r} * 64 KiB)")


@given(
    st.permutations(range(12)),
    st.integers(min_value=0, max_value=10**12),
    st.integers(min_value=1, max_value=5_000),
)
def test_spread_out_messages_never_flood_whatever_the_arrival_order(
    order: list[int], start: int, slack: int
) -> None:
    """Seven messages spaced more than window/6 apart: a backlog, however it is replayed."""
    detector = FloodDetector(max_messages=6, window_ms=60_000)
    gap = 10_000 + slack
    assert not any(detector.observe("!r:x", "@a:x", start + i * gap) for i in order)


RULES: HouseRules = load_house_rules()


@given(
    st.integers(min_value=-(10**6), max_value=10**6),
    st.booleans(),
    st.booleans(),
    st.booleans(),
    st.none() | st.text(max_size=20),
    st.booleans(),
    st.integers(min_value=0, max_value=1000),
)
def test_decide_is_total(
    power: int, police: bool, bot: bool, thread: bool, kind: str | None, flood: bool, strikes: int
) -> None:
    decision = decide(
        RULES,
        power_level=power,
        is_police=police,
        is_bot=bot,
        in_thread=thread,
        off_topic_kind=kind,
        flooded=flood,
        strikes_in_window=strikes,
    )
    if power >= 50 or police or bot:
        assert not decision.record_strike and decision.penalty == "none"
    assert decision.strikes in (strikes, strikes + 1)
