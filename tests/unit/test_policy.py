"""The municipality's ban list: rule events as Mjolnir/Draupnir read them, and who is listed."""

from __future__ import annotations

from bot.domain.membership import parse_member_event
from bot.domain.policy import ban_rule, entity_matches, is_listed, rule_state_key


def test_ban_rule_is_the_spec_shape() -> None:
    assert ban_rule("@x:s", "spam") == {"entity": "@x:s", "recommendation": "m.ban",
                                        "reason": "spam"}  # fmt: skip
    assert ban_rule("@x:s", None)["reason"] == ""
    assert rule_state_key("@x:s") == "rule:@x:s"


def test_entities_match_exactly_or_as_globs() -> None:
    assert entity_matches("@x:s", "@x:s")
    assert not entity_matches("@x:s", "@x:s2")
    assert entity_matches("@*:spam.example", "@anyone:spam.example")
    assert entity_matches("@sp?m:s", "@spam:s")
    assert not entity_matches("@*:spam.example", "@anyone:good.example")
    assert not entity_matches("@a.b:s", "@axb:s")  # regex characters are literal
    assert is_listed(["@a:s", "@*:bad"], "@z:bad")
    assert not is_listed([], "@z:bad")


def member(membership: object, prev: object = None, **extra: object) -> dict:
    event = {
        "type": "m.room.member",
        "event_id": "$e",
        "sender": "@x:s",
        "state_key": "@x:s",
        "origin_server_ts": 5,
        "content": {"membership": membership, "reason": "mag ik erin?"},
        **extra,
    }
    if prev is not None:
        event["unsigned"] = {"prev_content": {"membership": prev}}
    return event


def test_member_events_parse_and_malformed_ones_are_none() -> None:
    knock = parse_member_event("!r", member("knock"))
    assert knock is not None and knock.membership == "knock" and knock.reason == "mag ik erin?"
    join = parse_member_event("!r", member("join", prev="invite"))
    assert join is not None and join.is_new_join
    rename = parse_member_event("!r", member("join", prev="join"))
    assert rename is not None and not rename.is_new_join
    assert parse_member_event("!r", member("dance")) is None
    assert parse_member_event("!r", member(5)) is None
    assert parse_member_event("!r", member("join", state_key=None)) is None
    assert parse_member_event("!r", {**member("join"), "content": "x"}) is None
    assert parse_member_event("!r", {**member("join"), "type": "m.room.message"}) is None
