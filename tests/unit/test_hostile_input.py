"""Hostile input against every parser a resident's message reaches, and how long each one takes.

Everything that arrives over Matrix is typed (or crafted) by someone we do not control: a
resident dodging the filter with zero-width joiners or an RTL override, a client that puts a
list where the spec says string, or someone pasting 64 KiB of nested markup to stall the bot.
Each parser here must answer with a value of its documented type (or its documented error),
keep its output bounded, and take time linear in its input, because the bot handles a room's
events one after the other: one slow message holds up every report behind it.

``test_domain_properties.py`` and ``test_classifier_properties.py`` already cover random text
for the conduct, duration, target and classifier functions; this file adds raw events,
command parsing, evasion with invisible and look-alike characters, nested HTML trees, and
deliberately built worst cases whose cost must grow linearly with their size (CPU time, compared
within the test, so a busy machine cannot fail it: see ``linear_time.py``).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from html.parser import HTMLParser
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.domain.classifier import CATEGORIES_OR_NONE, classify
from bot.domain.commands import CommandCall, parse_command
from bot.domain.message import (
    HANDLED_MSGTYPES,
    MAX_BODY_CHARS,
    MAX_HTML_CHARS,
    TEXT_MSGTYPES,
    EventKind,
    Message,
    parse_event,
)
from bot.domain.plates import PLATE_NORMAL_FORM, extract_plates
from bot.domain.police_alert import (
    FIELD_ORDER,
    MISSING_IDENTIFYING,
    AlertEndError,
    parse_alert,
    parse_alert_end,
)
from bot.domain.sanitize import ALLOWED_TAGS, MAX_HTML_BYTES, sanitize_html
from bot.domain.targets import (
    Ambiguous,
    Found,
    Malformed,
    NotFound,
    extract_pills,
    is_valid_user_id,
    split_target_and_rest,
)
from tests.unit.linear_time import assert_linear

ROOM = "!watch:buurt.nl"
FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Characters that render as nothing or only change direction: the classic filter dodges.
INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u202e", "\u202d",
             "\u202a", "\u2066", "\u2067", "\u2069", "\u200e", "\u200f"]  # fmt: skip
CONTROL = [chr(c) for c in (*range(0x00, 0x20), 0x7F, 0x85, 0x2028, 0x2029)]
FRAGMENTS = [*INVISIBLE, *CONTROL, "!", "!verwijder ", "!demp ", "!ping", "@beheerder:buurt.nl",
             "> ", "\n\n", "<b>", "</b>", "<i><u>", "<mx-reply>", "</mx-reply>", "<script>",
             "<a href='https://matrix.to/#/@jan:buurt.nl'>", "</a>", "javascript:", "&#x3c;",
             "wat: ", "locatie: ", "kenteken ", "vnl-38-p", "1-abc-234", "12", "inbraak", "NU",
             "112", "é", "İ", "ß", "ﬁ", "🚓", "\U0001d400", "Ａ", "\ud7ff"]  # fmt: skip
hostile_text = st.text(st.characters(codec="utf-8"), max_size=200) | st.lists(
    st.sampled_from(FRAGMENTS) | st.text(max_size=4), max_size=50
).map("".join)


# -- raw events (bot.domain.message.parse_event) ---------------------------------------------

KEYS = [
    "body",
    "msgtype",
    "format",
    "formatted_body",
    "m.relates_to",
    "m.new_content",
    "m.in_reply_to",
    "event_id",
    "rel_type",
    "m.mentions",
    "user_ids",
    "room",
    "url",
]
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**64), max_value=2**64)
    | st.floats()
    | hostile_text,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)


def _or_junk(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A plausible value most of the time, any JSON value otherwise."""
    return strategy | json_values


event_ids = st.sampled_from(["$target", "$other:buurt.nl", "$elders", ""])
user_ids = st.sampled_from(["@jan:buurt.nl", "@beheerder:buurt.nl", "@bot:buurt.nl", "@"])
msgtypes = st.sampled_from([*sorted(TEXT_MSGTYPES), "m.image", "m.file", "m.location", "x"])
relates = st.fixed_dictionaries(
    {},
    optional={
        "rel_type": _or_junk(st.sampled_from(["m.replace", "m.thread", "m.annotation"])),
        "event_id": _or_junk(event_ids),
        "m.in_reply_to": _or_junk(st.fixed_dictionaries({}, optional={"event_id": event_ids})),
        "is_falling_back": _or_junk(st.booleans()),
    },
)
message_content = st.fixed_dictionaries(
    {},
    optional={
        "msgtype": _or_junk(msgtypes),
        "body": _or_junk(hostile_text),
        "format": _or_junk(st.just("org.matrix.custom.html")),
        "formatted_body": _or_junk(hostile_text),
        "m.mentions": _or_junk(
            st.fixed_dictionaries(
                {},
                optional={"user_ids": _or_junk(st.lists(_or_junk(user_ids))), "room": json_values},
            )
        ),
    },
)


def _with_relations(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    return {**base, **extra}


content = st.builds(
    _with_relations,
    message_content,
    st.fixed_dictionaries(
        {},
        optional={
            "m.relates_to": _or_junk(relates),
            "m.new_content": _or_junk(message_content),
            "redacts": _or_junk(event_ids),
        },
    ),
)
events = st.fixed_dictionaries(
    {},
    optional={
        "event_id": _or_junk(event_ids),
        "sender": _or_junk(user_ids),
        "type": _or_junk(st.sampled_from(["m.room.message", "m.room.redaction", "m.reaction"])),
        "origin_server_ts": _or_junk(st.integers(min_value=0, max_value=2**53)),
        "room_id": _or_junk(st.sampled_from([ROOM, "!elders:buurt.nl"])),
        "content": _or_junk(content),
        "redacts": _or_junk(event_ids),
    },
)


def _raw(content: Any) -> dict[str, Any]:
    return {
        "event_id": "$e",
        "sender": "@jan:buurt.nl",
        "origin_server_ts": 1_700_000_000_000,
        "type": "m.room.message",
        "content": content,
    }


def _check_message(message: Message, event: dict[str, Any]) -> None:
    """What every handler relies on: right types, trimmed sizes, the room it arrived in."""
    assert isinstance(message.kind, EventKind)
    assert message.room_id == ROOM and isinstance(message.event_id, str) and message.event_id
    assert isinstance(message.sender, str) and message.sender
    assert isinstance(message.ts, int) and not isinstance(message.ts, bool)
    assert isinstance(message.body, str) and len(message.body) <= MAX_BODY_CHARS
    assert message.formatted_body is None or (
        isinstance(message.formatted_body, str) and len(message.formatted_body) <= MAX_HTML_CHARS
    )
    for value in (message.target, message.reply_to, message.thread_root):
        assert value is None or isinstance(value, str)
    assert all(isinstance(u, str) for u in message.mentioned)
    assert isinstance(message.room_mention, bool)
    if message.kind is EventKind.REDACTION:
        assert message.target
        return
    assert message.msgtype in HANDLED_MSGTYPES
    relation = event["content"].get("m.relates_to")
    if isinstance(relation, dict) and relation.get("rel_type") == "m.replace":
        # An edit must never come out as a new message: edits never run commands.
        assert message.kind is EventKind.EDIT and message.target == relation.get("event_id")
    if message.kind is EventKind.EDIT:
        assert message.target


@FAST
@given(events | json_values)
def test_any_event_parses_to_a_message_or_none(event: Any) -> None:
    message = parse_event(ROOM, event)
    if message is not None:
        _check_message(message, event)


@FAST
@given(content)
def test_any_content_of_a_well_formed_event_parses_to_a_message_or_none(value: Any) -> None:
    """The envelope is set by the homeserver; the content is whatever the sender's client sent."""
    event = _raw(value)
    message = parse_event(ROOM, event)
    if message is not None:
        _check_message(message, event)


@pytest.mark.parametrize(
    "value",
    [
        {"msgtype": [], "body": "!verwijder @jan:buurt.nl"},
        {"msgtype": {"m.text": True}, "body": "hallo"},
        {"msgtype": ["m.text"], "body": "hallo"},
        {
            "msgtype": "m.text",
            "body": "* hallo",
            "m.new_content": {"msgtype": [], "body": "!ping"},
            "m.relates_to": {"rel_type": "m.replace", "event_id": "$target"},
        },
    ],
    ids=["list", "dict", "list-of-str", "in-edit"],
)
def test_msgtype_of_the_wrong_type_is_not_a_message(value: dict[str, Any]) -> None:
    """A JSON list or object as ``msgtype`` is not one of the text types: skip, don't crash."""
    assert parse_event(ROOM, _raw(value)) is None


def test_an_event_claiming_another_room_is_skipped() -> None:
    event = {**_raw({"msgtype": "m.text", "body": "!ping"}), "room_id": "!elders:buurt.nl"}
    assert parse_event(ROOM, event) is None


# -- commands (bot.domain.commands.parse_command) --------------------------------------------

_COMMAND_NAME = re.compile(r"[a-z][a-z0-9_-]{0,31}")


@FAST
@given(hostile_text, st.sampled_from(["!", "?", "!!", "bw!"]))
def test_command_parsing_is_total_and_names_are_plain_ascii(body: str, prefix: str) -> None:
    call = parse_command(body, prefix)
    if call is None:
        return
    assert isinstance(call, CommandCall)
    assert _COMMAND_NAME.fullmatch(call.name), "no invisible or look-alike character in a name"
    typed = body.lstrip()[len(prefix) : len(prefix) + len(call.name)]
    assert typed.lower() == call.name
    assert call.args == call.args.strip() and len(call.args) <= len(body)


@FAST
@given(hostile_text.filter(lambda s: s.strip() and not s.lstrip().startswith("!")), hostile_text)
def test_text_before_the_prefix_means_no_command(before: str, after: str) -> None:
    """ "ik zei !verwijder @jan" quotes a command; only a message that starts with one runs it."""
    assert parse_command(before + "!verwijder @jan:buurt.nl " + after) is None


@pytest.mark.parametrize(
    "body",
    ["\u202e!verwijder @jan:buurt.nl", "\u200b!ping", "\ufeff!demp @jan:buurt.nl 1d",
     "!ver\u200dwijder @jan:buurt.nl", "!ping\u202e", "！verwijder @jan:buurt.nl",
     "\x00!ping", "!\u0130ping"],
)  # fmt: skip
def test_commands_disguised_with_invisible_or_lookalike_characters_do_not_run(body: str) -> None:
    """What runs is exactly what a reader sees as a command, never a disguised variant."""
    assert parse_command(body) is None


# -- classifier and plates: evasion ----------------------------------------------------------

REPORT_WORDS = ["er", "wordt", "nu", "ingebroken", "inbraak", "bij", "nummer", "12", "auto",
                "gestolen", "verdachte", "man", "kenteken", "vnl38p", "gf-214-n", "112", "gebeld",
                "brand", "te", "koop", "fiets", "bedankt", "overval", "!", ",", "."]  # fmt: skip
ascii_reports = st.lists(st.sampled_from(REPORT_WORDS), min_size=1, max_size=30).map(" ".join)


def _fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


@FAST
@given(ascii_reports, st.data())
def test_invisible_characters_do_not_change_the_verdict(text: str, data: st.DataObject) -> None:
    """A resident cannot slip a sale past the rules (or fake a report) with zero-width joins."""
    positions = data.draw(st.lists(st.integers(0, len(text)), max_size=20))
    disguised = text
    for position in sorted(positions, reverse=True):
        disguised = (
            disguised[:position] + data.draw(st.sampled_from(INVISIBLE)) + disguised[position:]
        )
    assert classify(disguised) == classify(text)
    assert extract_plates(disguised) == extract_plates(text)


@FAST
@given(ascii_reports)
def test_fullwidth_lookalikes_do_not_change_the_verdict(text: str) -> None:
    """ "ＩＮＢＲＡＡＫ" is how some keyboards type it; it is the same report."""
    assert classify(_fullwidth(text)) == classify(text)


@FAST
@given(ascii_reports)
def test_fullwidth_plates_are_found_like_the_classifier_finds_them(text: str) -> None:
    """``extract_plates`` and ``classify`` must agree on what the plates of a text are."""
    assert extract_plates(_fullwidth(text)) == classify(_fullwidth(text)).plates
    assert extract_plates(_fullwidth(text)) == extract_plates(text)


@FAST
@given(hostile_text)
def test_plates_from_anything_are_bounded_and_normal_form(text: str) -> None:
    plates = extract_plates(text)
    assert len(plates) <= 10 and len(set(plates)) == len(plates)
    assert all(PLATE_NORMAL_FORM.match(p) for p in plates)
    verdict = classify(text)
    assert verdict.category in CATEGORIES_OR_NONE and len(verdict.plates) <= 10


# -- police alerts -----------------------------------------------------------------------------

LABELS = ["wat", "Wat ", "locatie", "LOCATIE", "signalement", "kenteken", "voertuig", "richting",
          "actie", "opgelet", "let op", "om 14", "https", "wat te doen", "sig\u200dnalement",
          "loca\u202etie", "ｗａｔ", ""]  # fmt: skip
alert_lines = st.lists(
    st.tuples(st.sampled_from(LABELS), st.sampled_from([":", " :", "", "://"]), hostile_text).map(
        "".join
    ),
    max_size=20,
).map("\n".join)
ALERT_FIELD_NAMES = {str(f) for f in FIELD_ORDER} | {MISSING_IDENTIFYING}


@FAST
@given(alert_lines | hostile_text)
def test_alert_fields_are_strings_from_the_input(body: str) -> None:
    result = parse_alert(body)
    assert set(result.missing) <= ALERT_FIELD_NAMES
    assert len(set(result.unknown)) == len(result.unknown)
    assert all(label in body for label in result.unknown)
    for alert_field, value in result.fields.items():
        assert isinstance(value, str)
        if alert_field != "actie":
            assert all(line.strip() in body for line in value.splitlines())


@FAST
@given(st.sampled_from(["", "einde ", "EINDE: ", "beëindigd "]), hostile_text)
def test_alert_end_gives_a_sane_number_or_its_own_error(lead: str, rest: str) -> None:
    try:
        number, text = parse_alert_end(lead + rest)
    except AlertEndError as exc:
        assert exc.code in ("missing_number", "invalid_number")
        return
    assert 0 < number < 10**9
    assert text is None or (text == text.strip() and text)


# -- targets of moderator commands -------------------------------------------------------------

MEMBERS = {"@jan:buurt.nl": "Jan", "@piet:buurt.nl": "Jan de Vries", "@beheerder:buurt.nl": "Bea"}
pill_html = st.lists(
    st.sampled_from(
        [
            "<a href='https://matrix.to/#/@jan:buurt.nl'>Jan</a>",
            '<a href="https://matrix.to/#/%40beheerder%3Abuurt.nl">Jan</a>',
            "<a href='matrix:u/piet:buurt.nl'>\u202eJan</a>",
            "<b><i>",
            "</i></b>",
            "<a href='x'>",
            "<a href='https://matrix.to/#/@\u202ebeheerder:buurt.nl'>Bea</a>",
            "<![x[",
            "</a>",
        ]
    )
    | hostile_text,
    max_size=12,
).map("".join)


@FAST
@given(hostile_text, st.none() | pill_html)
def test_a_target_is_never_invented(args: str, formatted: str | None) -> None:
    """The user a command acts on is a member, a pill the client sent, or typed out in full."""
    reference, rest = split_target_and_rest(args, formatted, MEMBERS)
    assert isinstance(reference, Found | NotFound | Ambiguous | Malformed)
    assert rest in " ".join(args.split())
    if isinstance(reference, Found):
        assert is_valid_user_id(reference.user_id)
        pills = {p.user_id for p in extract_pills(formatted)}
        assert (
            reference.user_id in MEMBERS
            or reference.user_id in pills
            or reference.user_id in args
            or reference.user_id == _linked_user(args)
        )


def _linked_user(args: str) -> str | None:
    """The user a matrix.to or ``matrix:u/`` link as first word spells out, decoded."""
    first = " ".join(args.split()).partition(" ")[0]
    for prefix in ("https://matrix.to/#/", "http://matrix.to/#/", "matrix:u/"):
        if first.lower().startswith(prefix):
            target = unquote(
                re.split(r"[?#]" if prefix == "matrix:u/" else r"\?", first[len(prefix) :])[0]
            )
            return target if prefix != "matrix:u/" else "@" + target
    return None


# -- HTML that the bot relays (bot.domain.sanitize) ---------------------------------------------

SPEC_ATTRIBUTES = {
    "font": {"color", "data-mx-color", "data-mx-bg-color"},
    "span": {"data-mx-color", "data-mx-bg-color", "data-mx-spoiler"},
    "a": {"href", "rel"},
    "ol": {"start"},
    "code": {"class"},
}
SAFE_SCHEMES = {"http", "https", "mailto"}
TAGS = ["b", "i", "a", "span", "font", "ul", "li", "table", "td", "pre", "code", "p", "script",
        "img", "iframe", "svg", "math", "style", "object", "form", "input", "mx-reply", "noscript",
        "details", "base", "meta"]  # fmt: skip
ATTRIBUTES = st.sampled_from(
    [
        ' onerror="alert(1)"',
        " onclick=alert(1)",
        ' href="javascript:alert(1)"',
        ' href="jav&#x09;ascript:alert(1)"',
        " href=' JaVaScRiPt:alert(1)'",
        ' src="https://evil/x.png"',
        ' style="background:url(https://evil)"',
        ' data-mx-color="#ff0000"',
        ' color="red;x"',
        ' href="https://buurt.nl"',
        ' href="data:text/html,<script>"',
        ' srcdoc="<script>"',
        " formaction=javascript:alert(1)",
        ' class="language-python evil"',
        ' start="1e9"',
    ]
)


def _element(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.builds(
        lambda tag, attributes, inner: f"<{tag}{''.join(attributes)}>{''.join(inner)}</{tag}>",
        st.sampled_from(TAGS),
        st.lists(ATTRIBUTES, max_size=3),
        st.lists(children, max_size=3),
    )


html_trees = st.recursive(hostile_text | st.sampled_from(FRAGMENTS), _element, max_leaves=25)


class _Inventory(HTMLParser):
    """Every tag and attribute of sanitised output, the way a Matrix client will read it."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, attrs))

    handle_startendtag = handle_starttag


@FAST
@given(html_trees)
def test_sanitised_html_is_the_spec_subset_whatever_the_nesting(markup: str) -> None:
    out = sanitize_html(markup)
    assert len(out.encode("utf-8")) <= MAX_HTML_BYTES
    inventory = _Inventory()
    inventory.feed(out)
    inventory.close()
    for tag, attrs in inventory.found:
        assert tag in ALLOWED_TAGS, tag
        for name, value in attrs:
            assert name in SPEC_ATTRIBUTES.get(tag, set()), (tag, name)
            if name == "href":
                assert urlsplit((value or "").strip()).scheme.lower() in SAFE_SCHEMES, value
    assert "<script" not in out.lower()


# -- bounded time on deliberately built 64 KiB worst cases ---------------------------------------


def _fill(chunk: str, size: int) -> str:
    return (chunk * (size // len(chunk) + 1))[:size]


def _distinct_labels(size: int) -> str:
    """Thousands of different unknown "label:" lines: the unknown-label list grows with each."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    labels = (a + b + c for a in letters for b in letters for c in letters)
    return "\n".join(f"{label}:" for label in labels)[:size]


def _alert_end(args: str) -> None:
    with contextlib.suppress(AlertEndError):
        parse_alert_end(args)


def _html_event(formatted: str) -> None:
    parse_event(
        ROOM,
        _raw({"msgtype": "m.text", "body": "x", "format": "org.matrix.custom.html",
              "formatted_body": formatted}),
    )  # fmt: skip


def _reply_event(body: str) -> None:
    relation = {"m.in_reply_to": {"event_id": "$target"}}
    parse_event(ROOM, _raw({"msgtype": "m.text", "body": body, "m.relates_to": relation}))


BIG_ROOM = {f"@bewoner{i}:buurt.nl": f"Bewoner {i} van nummer {i}" for i in range(5000)}
PILL = "<a href='https://matrix.to/#/@jan:buurt.nl'><b>Jan</b></a> "

# Each builds its input at ``n`` characters (64 KiB is what Synapse lets through).
WORST_CASES: dict[str, Callable[[int], object]] = {
    "command/a*64k": lambda n: parse_command("!" + _fill("a", n)),
    "command/spaces": lambda n: parse_command(_fill(" ", n) + "!ping"),
    "command/rtl-args": lambda n: parse_command("!ping " + _fill("\u202e\u200d", n)),
    "command/bangs": lambda n: parse_command(_fill("!", n)),
    "event/body-a*64k": lambda n: parse_event(
        ROOM, _raw({"msgtype": "m.text", "body": _fill("a", n)})
    ),
    "event/nested-b": lambda n: _html_event(_fill("<b>", n)),
    "event/unclosed-mx-reply": lambda n: _html_event(_fill("<mx-reply>", n)),
    "event/reply-fallback-lines": lambda n: _reply_event(_fill("> x\n", n)),
    "event/reply-fallback-gt": lambda n: _reply_event(_fill(">", n)),
    "classify/a*64k": lambda n: classify(_fill("a", n)),
    "classify/1-": lambda n: classify(_fill("1-", n)),
    "classify/nested-b": lambda n: classify(_fill("<b>", n)),
    "classify/inbraak": lambda n: classify(_fill("inbraak ", n)),
    "classify/rtl-zwj": lambda n: classify(_fill("in\u202ebr\u200daak ", n)),
    "plates/a*64k": lambda n: extract_plates(_fill("a", n)),
    "plates/1-": lambda n: extract_plates(_fill("1-", n)),
    "plates/inbraak": lambda n: extract_plates(_fill("inbraak ", n)),
    "plates/digit-space": lambda n: extract_plates(_fill("1 ", n)),
    "plates/digit-letter": lambda n: extract_plates(_fill("1a ", n)),
    "plates/kenteken": lambda n: extract_plates("kenteken " + _fill("12 ab ", n)),
    "alert/a*64k": lambda n: parse_alert(_fill("a", n)),
    "alert/newlines": lambda n: parse_alert(_fill("\n", n)),
    "alert/same-label": lambda n: parse_alert(_fill("wat: x\n", n)),
    "alert/distinct-labels": lambda n: parse_alert(_distinct_labels(n)),
    "alert-end/words": lambda n: _alert_end(_fill("einde ", n)),
    "alert-end/digits": lambda n: _alert_end("#" + _fill("1", n)),
    "target/nested-b": lambda n: split_target_and_rest(_fill("a ", n), _fill("<b>", n), MEMBERS),
    "target/pills": lambda n: split_target_and_rest(
        "Jan " + _fill("x ", n), _fill(PILL, n), MEMBERS
    ),
    "target/big-room": lambda n: split_target_and_rest(_fill("Bewoner 4 ", n), None, BIG_ROOM),
    "sanitize/nested-b": lambda n: sanitize_html(_fill("<b>", n)),
    "sanitize/nested-lists": lambda n: sanitize_html(_fill("<ul><li>", n)),
    "sanitize/js-links": lambda n: sanitize_html(_fill('<a href="javascript:alert(1)">x', n)),
    "sanitize/mx-reply": lambda n: sanitize_html(_fill("<mx-reply>", n)),
    "sanitize/entities": lambda n: sanitize_html(_fill("&#x", n)),
    "sanitize/comments": lambda n: sanitize_html(_fill("<!--", n)),
}


@pytest.mark.parametrize("case", list(WORST_CASES), ids=list(WORST_CASES))
def test_worst_case_64k_input_takes_linear_time(case: str) -> None:
    assert_linear(WORST_CASES[case], what=case)
