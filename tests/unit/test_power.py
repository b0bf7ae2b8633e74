"""Power levels in old rooms and in room version 12, where creators outrank everyone."""

from __future__ import annotations

import pytest

from bot.domain.power import RoomPower, with_user_level

PL = {
    "users": {"@bea:x": 100, "@bot:x": 100, "@mod:x": 50},
    "users_default": 0,
    "events_default": 0,
}


def create(version: str, sender: str = "@bea:x", **extra: object) -> dict[str, object]:
    return {
        "type": "m.room.create",
        "sender": sender,
        "content": {"room_version": version, **extra},
    }


def test_v10_uses_the_table() -> None:
    room = RoomPower.from_state(create("10"), PL)
    assert room.level("@bea:x") == 100 and room.level("@anyone:x") == 0
    assert room.outranks("@bot:x", "@mod:x") and not room.outranks("@mod:x", "@bot:x")


def test_v12_creators_have_unlimited_power() -> None:
    pl = {**PL, "users": {"@bot:x": 100, "@mod:x": 50}}
    room = RoomPower.from_state(create("12", additional_creators=["@co:x"]), pl)
    assert room.level("@bea:x") == float("inf") and room.level("@co:x") == float("inf")
    assert not room.outranks("@bot:x", "@bea:x"), "nobody may mute or kick a creator"


def test_editing_levels_never_lists_v12_creators() -> None:
    room = RoomPower.from_state(create("12"), PL)
    content = with_user_level(PL, room, "@bewoner:x", -1)
    assert "@bea:x" not in content["users"]
    assert content["users"]["@bewoner:x"] == -1
    restored = with_user_level(content, room, "@bewoner:x", None)
    assert "@bewoner:x" not in restored["users"]
    with pytest.raises(ValueError, match="creators"):
        with_user_level(PL, room, "@bea:x", 0)


def test_muted_user_cannot_send() -> None:
    room = RoomPower.from_state(create("10"), {**PL, "users": {"@stil:x": -1}})
    assert not room.can_send_messages("@stil:x") and room.can_send_messages("@ander:x")


def test_garbage_power_levels_do_not_crash() -> None:
    room = RoomPower.from_state({"content": "?"}, {"users": {"@a:x": "high", 5: 3}, "kick": None})
    assert room.level("@a:x") == 0 and room.kick == 50
