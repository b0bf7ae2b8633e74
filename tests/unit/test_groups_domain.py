"""New watch groups: names, folded aliases, power levels on v12 and older, what the bot lacks."""

from __future__ import annotations

import pytest

from bot.domain.groups import (
    Ability,
    NameProblem,
    RoomDefaults,
    alias_localpart,
    check_name,
    fold_alias,
    initial_state,
    missing_abilities,
    moderators,
    parse_group_request,
    power_levels_override,
)
from bot.domain.paging import page_of
from bot.domain.power import RoomPower

BOT = "@bot:example.nl"
BEA = "@bea:example.nl"
PREFIX = "buurtpreventie-"


@pytest.mark.parametrize(
    ("name", "alias"),
    [
        ("Westwijk", "westwijk"),
        ("Oud-Zuid", "oud-zuid"),
        ("Sint  Maartensbrug", "sint-maartensbrug"),
        ("Ĳsselmonde Oost", "ijsselmonde-oost"),
        ("'s-Hertogenbosch Noord", "s-hertogenbosch-noord"),
        ("Café Ça Va — Zuid!", "cafe-ca-va-zuid"),
        ("Straße 12", "strasse-12"),
        ("  ---Noord---  ", "noord"),
        ("Wijk 🚓 Oost", "wijk-oost"),
    ],
)
def test_fold_alias_keeps_only_lower_ascii_digits_and_dashes(name: str, alias: str) -> None:
    assert fold_alias(name) == alias


def test_alias_gets_the_prefix_once() -> None:
    assert alias_localpart("Westwijk", PREFIX) == "buurtpreventie-westwijk"
    assert alias_localpart("Buurtpreventie Westwijk", PREFIX) == "buurtpreventie-westwijk"
    assert alias_localpart("Westwijk", "") == "westwijk"
    assert alias_localpart("🚓🚓", PREFIX) == ""


def test_names_that_cannot_be_groups() -> None:
    assert check_name("") is NameProblem.EMPTY
    assert check_name("   ") is NameProblem.EMPTY
    assert check_name("x" * 81) is NameProblem.TOO_LONG
    assert check_name("🚓 — 🚨") is NameProblem.NO_ALIAS
    assert check_name("Westwijk") is None


def test_request_splits_trailing_labels() -> None:
    request = parse_group_request("Oud Zuid #Zuid #centrum #zuid")
    assert request.name == "Oud Zuid"
    assert request.labels == ("zuid", "centrum")
    assert parse_group_request("#west").name == ""
    assert parse_group_request("Wijk #3 Noord").name == "Wijk #3 Noord"


DEFAULTS = RoomDefaults(moderator_level=50, events_default=0, invite=50, kick=50, ban=50, redact=50)


def test_v12_power_levels_never_list_the_creator() -> None:
    content = power_levels_override(DEFAULTS, "12", BOT, BEA)
    assert content["users"] == {BEA: 50}
    assert (content["kick"], content["ban"], content["redact"], content["invite"]) == (50,) * 4
    assert content["events_default"] == 0


def test_older_versions_list_the_bot_above_the_moderator() -> None:
    content = power_levels_override(DEFAULTS, "10", BOT, BEA)
    assert content["users"] == {BEA: 50, BOT: 100}
    high = RoomDefaults(moderator_level=100)
    assert power_levels_override(high, "10", BOT, BEA)["users"][BOT] == 101


def test_initial_state_is_encrypted_knock_members_only_no_guests() -> None:
    state = {e["type"]: e["content"] for e in initial_state(DEFAULTS)}
    assert state["m.room.encryption"]["algorithm"] == "m.megolm.v1.aes-sha2"
    assert state["m.room.join_rules"] == {"join_rule": "knock"}
    assert state["m.room.history_visibility"] == {"history_visibility": "shared"}
    assert state["m.room.guest_access"] == {"guest_access": "forbidden"}


def test_missing_abilities_name_each_level() -> None:
    power = RoomPower(
        room_version="10",
        users={BOT: 0, BEA: 100},
        events={"m.room.power_levels": 100},
        kick=50,
        ban=50,
        redact=50,
    )
    missing = missing_abilities(power, BOT)
    assert missing == {Ability.KICK: 50, Ability.BAN: 50, Ability.REDACT: 50,
                       Ability.POWER_LEVELS: 100}  # fmt: skip
    strong = RoomPower(room_version="10", users={BOT: 100}, events={"m.room.power_levels": 100})
    assert missing_abilities(strong, BOT) == {}
    creator = RoomPower(room_version="12", creators=frozenset({BOT}))
    assert missing_abilities(creator, BOT) == {}


def test_moderators_include_v12_creators_but_not_the_bot() -> None:
    power = RoomPower(room_version="12", creators=frozenset({BEA}), users={"@jan:x": 50, BOT: 100})
    members = [BEA, BOT, "@jan:x", "@piet:x"]
    assert moderators(power, members, 50, BOT) == ["@bea:example.nl", "@jan:x"]


def test_pages() -> None:
    assert page_of(0, 1, 25) is not None
    first = page_of(60, 1, 25)
    assert first is not None and (first.start, first.end, first.pages, first.has_next) == (
        0, 25, 3, True)  # fmt: skip
    last = page_of(60, 3, 25)
    assert last is not None and (last.start, last.end, last.has_next) == (50, 60, False)
    assert page_of(60, 4, 25) is None
    assert page_of(60, 0, 25) is None
