"""One ban for the whole municipality, on a real Synapse: every watch room, the policy event,
refused knocks and joins, rooms made later, and lifting it again."""

from __future__ import annotations

import contextlib
from urllib.parse import quote

import pytest

from bot.devserver.rooms import SetupError
from tests.integration.conftest import (
    Person,
    RunningBot,
    eventually,
    neighbourhood,
    room_with_bot,
    unique,
)
from tests.integration.test_groups import ask, body, resolve


async def membership(bot: RunningBot, room_id: str, user_id: str) -> str | None:
    """As the bot sees it (it is in every room; an invited moderator cannot read state yet)."""
    nio = bot.bot.services.client.nio
    response = await nio.room_get_state_event(room_id, "m.room.member", user_id)
    return getattr(response, "content", {}).get("membership")


async def knock(person: Person, room_id: str, reason: str) -> None:
    await person.session.request(
        "POST", f"/_matrix/client/v3/knock/{quote(room_id)}", {"reason": reason}
    )


async def test_municipal_ban_bans_everywhere_writes_the_rule_and_refuses_knocks(
    make_user, start_bot
) -> None:
    bot, beheerder, _bewoner, coordination, noord = await neighbourhood(make_user, start_bot)
    troll: Person = await make_user("troll", display_name="Tom Trol")
    zuid = await room_with_bot(beheerder, bot.user_id, [troll], name=unique("Zuid"))
    await beheerder.session.invite(noord, troll.user_id)
    await troll.join(noord)

    reply = await ask(beheerder, coordination, f"!verban {troll.user_id} overal spam en bedreiging")
    assert "banlijst" in body(reply) and "2/2" in body(reply), body(reply)
    for room_id in (noord, zuid):
        assert await membership(bot, room_id, troll.user_id) == "ban"

    store = bot.bot.services.store
    policy_room = await store.policy.room_id()
    assert policy_room is not None
    rule = await bot.bot.services.client.nio.room_get_state_event(
        policy_room, "m.policy.rule.user", f"rule:{troll.user_id}"
    )
    assert rule.content == {
        "entity": troll.user_id,
        "recommendation": "m.ban",
        "reason": "spam en bedreiging",
    }
    # The moderator who banned is invited to the list (to let Draupnir or Mjolnir follow it),
    # and the list is no watch room: no bulletin or overview ever counts it.
    assert await membership(bot, policy_room, beheerder.user_id) == "invite"
    assert policy_room not in {r.room_id for r in await store.rooms.list()}

    # A group made later gets the listed bans at once: the troll cannot even knock.
    name = unique("Later")
    made = await ask(beheerder, coordination, f"!nieuwegroep {name}")
    assert "✅" in body(made), body(made)
    server = bot.user_id.split(":", 1)[1]
    later = await resolve(beheerder, f"#buurtpreventie-{name.lower()}:{server}")
    assert later is not None
    assert await membership(bot, later, troll.user_id) == "ban"
    with pytest.raises(SetupError, match="403"):
        await knock(troll, later, "mag ik erin?")

    # A room that became a watch room by invite, where nobody banned the troll yet: their
    # knock is answered with a ban.
    oost = await room_with_bot(beheerder, bot.user_id, [], name=unique("Oost"))
    await beheerder.session.put_state(oost, "m.room.join_rules", {"join_rule": "knock"})
    await knock(troll, oost, "hallo")
    await eventually(lambda: _is(bot, oost, troll.user_id, "ban"), "knock by a listed user refused")
    audit = [(e.action, e.target) for e in await store.audit.recent(limit=20)]
    assert ("policy_ban", troll.user_id) in audit

    # Lifting: off the list, the rule emptied, unbanned exactly where the list banned them.
    lifted = await ask(beheerder, coordination, f"!opheffen {troll.user_id}")
    assert "niet meer op de banlijst" in body(lifted) and "4 buurtgroepen" in body(lifted)
    for room_id in (noord, zuid, later, oost):
        assert await membership(bot, room_id, troll.user_id) == "leave"
    rule = await bot.bot.services.client.nio.room_get_state_event(
        policy_room, "m.policy.rule.user", f"rule:{troll.user_id}"
    )
    assert rule.content == {}
    assert await store.policy.get(troll.user_id) is None
    again = await ask(beheerder, coordination, f"!opheffen {troll.user_id}")
    assert "staat niet op de banlijst" in body(again)


async def test_listed_user_joining_is_banned_and_moderators_are_protected(
    make_user, start_bot
) -> None:
    bot, beheerder, bewoner, coordination, noord = await neighbourhood(make_user, start_bot)
    outsider: Person = await make_user("buiten")
    reply = await ask(beheerder, coordination, f"!ban {outsider.user_id} everywhere")
    assert "1/1" in body(reply), body(reply)
    # A room the bot is invited into later gets the list as soon as anything happens there,
    # though the listed user never came near it.
    west = await room_with_bot(bewoner, bot.user_id, [], name=unique("West"))
    await bewoner.send(west, "Er staat een onbekende bestelbus in de Dorpsstraat")
    await eventually(lambda: _is(bot, west, outsider.user_id, "ban"), "list applied to West")
    # In another such room the owner invites the listed user anyway: invite or join, it ends
    # in a ban (whichever the bot sees first).
    east = await room_with_bot(bewoner, bot.user_id, [], name=unique("East"))
    await bewoner.session.invite(east, outsider.user_id)
    with contextlib.suppress(SetupError):
        await outsider.session.join(east)
    await eventually(lambda: _is(bot, east, outsider.user_id, "ban"), "join answered")

    # Usage mistakes and protected people get a clear answer.
    assert "overal" in body(await ask(beheerder, coordination, f"!verban {outsider.user_id}"))
    protected = await ask(beheerder, coordination, f"!verban {beheerder.user_id} overal")
    assert "kan niet op de banlijst" in body(protected)
    in_room = await ask(beheerder, noord, f"!verban {outsider.user_id} overal")
    assert "verbande" not in body(in_room)  # in a watch room !verban is the local ban


async def _is(bot: RunningBot, room_id: str, user_id: str, expected: str) -> bool:
    return await membership(bot, room_id, user_id) == expected
