"""Untrusted events from the wire become a small Message, or are skipped without a crash."""

from __future__ import annotations

from typing import Any

import pytest

from bot.domain.commands import parse_command
from bot.domain.message import EventKind, parse_event

ROOM = "!room:example.nl"


def event(content: Any, **extra: Any) -> dict[str, Any]:
    return {
        "event_id": "$e1",
        "sender": "@bewoner:example.nl",
        "origin_server_ts": 1_700_000_000_000,
        "type": "m.room.message",
        "content": content,
        **extra,
    }


def test_plain_message() -> None:
    msg = parse_event(ROOM, event({"msgtype": "m.text", "body": "Verdachte man bij nr 4"}))
    assert msg is not None and msg.kind is EventKind.MESSAGE
    assert msg.body == "Verdachte man bij nr 4" and not msg.in_thread


def test_thread_reply_and_mentions() -> None:
    content = {
        "msgtype": "m.text",
        "body": "> <@a:x> origineel\n\nHij loopt nu richting station",
        "m.relates_to": {
            "rel_type": "m.thread",
            "event_id": "$root",
            "is_falling_back": True,
            "m.in_reply_to": {"event_id": "$root"},
        },
        "m.mentions": {"user_ids": ["@a:x", 5], "room": True},
    }
    msg = parse_event(ROOM, event(content))
    assert msg is not None
    assert msg.thread_root == "$root" and msg.reply_to is None
    assert msg.mentioned == frozenset({"@a:x"}) and msg.room_mention


def test_reply_fallback_is_stripped_so_commands_work_in_replies() -> None:
    content = {
        "msgtype": "m.text",
        "body": "> <@a:x> spam hier\n> tweede regel\n\n!wis",
        "m.relates_to": {"m.in_reply_to": {"event_id": "$spam"}},
    }
    msg = parse_event(ROOM, event(content))
    assert msg is not None and msg.reply_to == "$spam" and msg.body == "!wis"


def test_edit_uses_new_content() -> None:
    content = {
        "msgtype": "m.text",
        "body": "* nieuw",
        "m.new_content": {"msgtype": "m.text", "body": "nieuw"},
        "m.relates_to": {"rel_type": "m.replace", "event_id": "$old"},
    }
    msg = parse_event(ROOM, event(content))
    assert msg is not None and msg.kind is EventKind.EDIT
    assert msg.target == "$old" and msg.body == "nieuw"


def test_redaction() -> None:
    raw = {**event({}), "type": "m.room.redaction", "redacts": "$bad"}
    msg = parse_event(ROOM, raw)
    assert msg is not None and msg.kind is EventKind.REDACTION and msg.target == "$bad"


@pytest.mark.parametrize(
    "raw",
    [
        event({"msgtype": "m.text"}),  # no body
        event({"msgtype": "m.text", "body": 42}),  # non-string body
        event({"msgtype": "m.image", "body": "foto.jpg"}),
        event({"msgtype": "org.example.unknown", "body": "?"}),
        event("not a dict"),
        event({"msgtype": "m.text", "body": "x"}, origin_server_ts="gisteren"),
        event({"msgtype": "m.text", "body": "x"}, room_id="!other:example.nl"),
        {**event({"msgtype": "m.text", "body": "x"}), "event_id": None},
        event({"body": "*", "m.relates_to": {"rel_type": "m.replace", "event_id": "$x"}}),
        [],
    ],
)
def test_malformed_events_are_skipped(raw: Any) -> None:
    assert parse_event(ROOM, raw) is None


def test_huge_bodies_are_bounded() -> None:
    content = {
        "msgtype": "m.text",
        "body": "a" * 500_000,
        "format": "org.matrix.custom.html",
        "formatted_body": "<b>" * 200_000,
    }
    msg = parse_event(ROOM, event(content))
    assert msg is not None
    assert len(msg.body) <= 64 * 1024 and len(msg.formatted_body or "") <= 64 * 1024


@pytest.mark.parametrize(
    ("body", "name", "args"),
    [
        ("!hulp", "hulp", ""),
        ("  !PING  ", "ping", ""),
        ("!bericht #west #oost\nRegel 1\nRegel 2", "bericht", "#west #oost\nRegel 1\nRegel 2"),
        ("!bericht\nmeerdere regels", "bericht", "meerdere regels"),
        ("!demp @jan:x 30m", "demp", "@jan:x 30m"),
    ],
)
def test_commands(body: str, name: str, args: str) -> None:
    call = parse_command(body)
    assert call is not None and (call.name, call.args) == (name, args)


@pytest.mark.parametrize("body", ["!!!", "! kijk uit", "Let op!", "!123", "", "!é"])
def test_exclamations_are_not_commands(body: str) -> None:
    assert parse_command(body) is None
