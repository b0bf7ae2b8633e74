"""The gate at scale: power_levels stays below Synapse's 64 KiB limit in a 2,000-member room."""

from __future__ import annotations

from bot.domain.gate import (
    POWER_LEVELS_BUDGET,
    SYNAPSE_EVENT_LIMIT,
    content_size,
    is_exempt,
    release,
    restrict,
    restricted_level,
    rules_version,
)
from bot.domain.membership import parse_member_event
from bot.domain.power import RoomPower

BOT = "@buurtbot:buurtwacht.example.nl"
CREATE_V12 = {"sender": BOT, "content": {"room_version": "12"}}


def member(n: int) -> str:
    return f"@bewoner-{n:05d}:buurtwacht.example.nl"


def room_levels(moderators: int = 3) -> dict:
    return {
        "users": {f"@beheerder-{n}:buurtwacht.example.nl": 50 for n in range(moderators)},
        "users_default": 0,
        "events_default": 0,
        "events": {"m.room.power_levels": 100, "m.room.name": 50},
        "state_default": 50,
        "invite": 50,
        "kick": 50,
        "ban": 50,
        "redact": 50,
    }


def apply(content: dict, user_id: str, restricting: bool) -> dict:
    power = RoomPower.from_state(CREATE_V12, content)
    new = restrict(content, power, user_id) if restricting else release(content, power, user_id)
    return new if new is not None else content


def test_two_thousand_members_who_accepted_cost_nothing_in_power_levels() -> None:
    """2,000 members joined one by one; 1,990 accepted, the last 10 still pending."""
    content = room_levels()
    largest = 0
    for n in range(2000):
        content = apply(content, member(n), restricting=True)
        if n >= 10:
            content = apply(content, member(n - 10), restricting=False)
        largest = max(largest, content_size(content))
    power = RoomPower.from_state(CREATE_V12, content)
    assert sum(1 for u in content["users"] if u.startswith("@bewoner")) == 10
    assert largest < 2_000, largest
    assert all(not power.can_send_messages(member(n)) for n in range(1990, 2000))
    assert all(power.can_send_messages(member(n)) for n in range(1990))
    assert BOT not in content["users"], "a v12 creator must never be listed"
    # The naive design, listing every accepted member, would not even be accepted by Synapse.
    naive = {**content, "users": {**content["users"], **{member(n): 1 for n in range(2000)}}}
    assert content_size(naive) > SYNAPSE_EVENT_LIMIT


def test_a_burst_of_two_thousand_newcomers_never_passes_the_limit() -> None:
    """The worst case: 2,000 people join at once and nobody accepts yet."""
    content = room_levels()
    listed = 0
    for n in range(2000):
        new = restrict(content, RoomPower.from_state(CREATE_V12, content), member(n))
        if new is not None:
            content, listed = new, listed + 1
        assert content_size(content) <= POWER_LEVELS_BUDGET < SYNAPSE_EVENT_LIMIT
    # Those that did not fit are redacted instead; the first ~1,400 are listed.
    assert 1_000 < listed < 2000


def test_restricted_users_cannot_post_whatever_the_room_defaults() -> None:
    strict = {"events_default": 10, "events": {"m.room.message": 5}}
    for defaults in ({"events_default": 0}, strict):
        content = {**room_levels(), **defaults}
        power = RoomPower.from_state(CREATE_V12, content)
        level = restricted_level(power)
        assert level <= -1 and level < power.events_default
        restricted = restrict(content, power, member(1))
        assert restricted is not None
        assert not RoomPower.from_state(CREATE_V12, restricted).can_send_messages(member(1))


def test_release_keeps_a_level_a_moderator_gave_meanwhile() -> None:
    content = room_levels()
    content["users"][member(1)] = 20
    power = RoomPower.from_state(CREATE_V12, content)
    assert release(content, power, member(1)) is None
    assert restrict(apply(content, member(2), True), power, member(3)) is not None


def test_rules_version_ignores_layout_but_not_words() -> None:
    assert rules_version("Geen chatten.\n\nGeen reclame.") == rules_version(
        "Geen chatten. Geen reclame."
    )
    assert rules_version("Geen chatten.") != rules_version("Geen chatten of reclame.")
    assert len(rules_version("x")) == 12


def test_moderators_police_and_the_bot_are_exempt() -> None:
    assert is_exempt(50, 50, is_police=False, is_bot=False)
    assert is_exempt(0, 50, is_police=True, is_bot=False)
    assert is_exempt(0, 50, is_police=False, is_bot=True)
    assert not is_exempt(0, 50, is_police=False, is_bot=False)


def test_member_events_are_read_defensively() -> None:
    knock = {
        "type": "m.room.member",
        "event_id": "$k",
        "sender": "@jan:x",
        "state_key": "@jan:x",
        "origin_server_ts": 1,
        "content": {"membership": "knock", "reason": "  ik woon op nr 3 ", "displayname": "Jan"},
    }
    change = parse_member_event("!w", knock)
    assert change is not None and change.reason == "ik woon op nr 3" and change.by_self
    withdrawn = {
        **knock,
        "content": {"membership": "leave"},
        "unsigned": {"prev_content": {"membership": "knock"}},
    }
    left = parse_member_event("!w", withdrawn)
    assert left is not None and left.is_departure and left.previous == "knock"
    for broken in ({**knock, "content": "x"}, {**knock, "state_key": 5}, {**knock, "type": "x"}):
        assert parse_member_event("!w", broken) is None
    assert parse_member_event("!w", {**knock, "content": {"membership": "knock", "reason": 7}})
