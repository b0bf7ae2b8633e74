"""Which raw events reach the inbox, and how reactions are read: cheap and defensive."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bot.app import _worth_handling
from bot.domain.formatting import local_clock
from bot.domain.message import EventKind, parse_event

BOT = "@bot:x"


def reaction(key: Any, target: Any = "$notice", rel_type: str = "m.annotation") -> dict:
    return {
        "type": "m.reaction",
        "event_id": "$r",
        "sender": "@bea:x",
        "origin_server_ts": 5,
        "content": {"m.relates_to": {"rel_type": rel_type, "event_id": target, "key": key}},
    }


def member(user: str, membership: str, sender: str | None = None) -> dict:
    return {
        "type": "m.room.member",
        "event_id": "$m",
        "sender": sender or user,
        "state_key": user,
        "origin_server_ts": 5,
        "content": {"membership": membership},
    }


def test_only_deciding_reactions_reach_the_inbox() -> None:
    assert _worth_handling(reaction("✅"), BOT)
    assert _worth_handling(reaction("❌"), BOT)
    assert not _worth_handling(reaction("👍"), BOT), "a fan-out's thumbs stay out"
    assert not _worth_handling(reaction("👀"), BOT)
    assert not _worth_handling({**reaction("✅"), "sender": BOT}, BOT)
    assert not _worth_handling({**reaction("✅"), "content": "x"}, BOT)


def test_membership_changes_of_others_reach_the_inbox_whoever_sent_them() -> None:
    assert _worth_handling(member("@jan:x", "knock"), BOT)
    assert _worth_handling(member("@jan:x", "leave", sender=BOT), BOT), "a kick by the bot"
    assert not _worth_handling(member(BOT, "join"), BOT), "the bot's own joins go elsewhere"
    assert not _worth_handling(member("@jan:x", "weird"), BOT)
    assert not _worth_handling({**member("@jan:x", "join"), "state_key": 3}, BOT)
    topic = {"type": "m.room.topic", "state_key": "", "sender": "@bea:x", "content": {}}
    assert not _worth_handling(topic, BOT)


def test_a_reaction_is_read_as_key_and_target() -> None:
    parsed = parse_event("!c", reaction("✅"))
    assert parsed is not None and parsed.kind is EventKind.REACTION
    assert (parsed.body, parsed.target, parsed.sender) == ("✅", "$notice", "@bea:x")


@pytest.mark.parametrize(
    "event",
    [
        reaction(7),
        reaction("✅", target=None),
        reaction("✅", rel_type="m.reference"),
        reaction("x" * 1000),
        {**reaction("✅"), "content": {"m.relates_to": "nope"}},
    ],
)
def test_odd_reactions_are_skipped(event: dict) -> None:
    assert parse_event("!c", event) is None


def test_decision_times_are_amsterdam_clock_times() -> None:
    def ms(*parts: int) -> int:
        return int(datetime(*parts, tzinfo=UTC).timestamp() * 1000)

    winter, summer = ms(2026, 12, 1, 13, 2), ms(2026, 7, 1, 12, 2)
    assert local_clock(winter, "Europe/Amsterdam", winter + 60_000) == "14:02"
    assert local_clock(summer, "Europe/Amsterdam", summer) == "14:02"
    assert local_clock(winter, "Europe/Amsterdam", winter + 86_400_000) == "01-12 14:02"
