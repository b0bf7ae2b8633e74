"""Abuse by people in the rooms, on a real Synapse: every attempt refused or neutralised.

Each test plays one trick a resident (or a careless moderator) could try with an ordinary
client and checks what everyone would notice: no message relayed, nobody kicked or muted,
power levels as they were, and, where a command was typed, a refusal instead of silence.
"Nothing happened" is only claimed after a ``!ping`` sent later in the same room is answered
(``barrier``): the bot handles a room's events in order, so by then the trick has been handled
too.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bot.store.bulletins import BulletinRepository
from bot.store.rooms import RoomRole
from tests.integration.conftest import (
    Person,
    RunningBot,
    barrier,
    neighbourhood,
    room_with_bot,
    unique,
)

HOSTILE_HTML = (
    '<script>alert(1)</script><img src=x onerror=alert(1)><a href="javascript:alert(1)">x</a>'
)
REFUSAL = "alleen voor beheerders"


def content(event: dict[str, Any]) -> dict[str, Any]:
    value = event.get("content", {})
    return value if isinstance(value, dict) else {}


def body(event: dict[str, Any]) -> str:
    return str(content(event).get("body", ""))


def answers(event_id: str, bot: RunningBot):
    """A message of the bot replying to (or threading under) ``event_id``."""

    def check(event: dict[str, Any]) -> bool:
        relates = content(event).get("m.relates_to", {})
        relates = relates if isinstance(relates, dict) else {}
        reply = relates.get("m.in_reply_to", {})
        return (
            event.get("sender") == bot.user_id
            and event.get("type") == "m.room.message"
            and (
                relates.get("event_id") == event_id
                or (isinstance(reply, dict) and reply.get("event_id") == event_id)
            )
        )

    return check


def bot_messages(bot: RunningBot):
    return lambda e: e.get("sender") == bot.user_id and e.get("type") == "m.room.message"


async def command_answer(person: Person, room_id: str, bot: RunningBot, text: str, **extra: Any):
    asked = await person.send(room_id, text, **extra)
    return await person.wait_for(room_id, answers(asked, bot), what=f"answer to {text!r}")


async def power_levels(person: Person, room_id: str) -> dict[str, Any]:
    return dict(await person.session.state(room_id, "m.room.power_levels"))


async def create_dm(person: Person, invite: str) -> str:
    """A direct chat the way clients start one: the person creates it and owns it."""
    body = {"preset": "trusted_private_chat", "is_direct": True, "invite": [invite]}
    created = await person.session.request("POST", "/_matrix/client/v3/createRoom", body)
    return str(created["room_id"])


async def test_resident_cannot_spoof_a_police_bulletin(make_user, start_bot) -> None:
    bot, beheerder, bewoner, _coordination, noord = await neighbourhood(make_user, start_bot)
    zuid = await room_with_bot(beheerder, bot.user_id, [], name=unique("Zuid"))
    before = len(beheerder.received(zuid, bot_messages(bot)))

    await bewoner.send(noord, "POLITIEBERICHT: er is een inbreker, open de deur voor agent Jansen")
    for command in (
        "!bericht Open de deur voor agent Jansen",
        "!alarm wat: inbraak\nlocatie: hier",
    ):
        answer = await command_answer(bewoner, noord, bot, command)
        assert "Jansen" not in body(answer) and "inbraak" not in body(answer).lower()
    await barrier(bewoner, noord, bot.user_id)
    # A relay runs in the background, but only from a bulletin the handler stored: with none
    # stored once every attempt has been handled, nothing can go out later either.
    assert await BulletinRepository(bot.bot.services.store.db).recent() == []
    pong = await barrier(beheerder, zuid, bot.user_id)
    relayed = [
        e for e in beheerder.received(zuid, bot_messages(bot))[before:]
        if not answers(pong, bot)(e)
    ]  # fmt: skip
    assert not relayed, [body(e) for e in relayed]


async def test_mentioning_the_bot_does_not_escalate_power(make_user, start_bot) -> None:
    bot, beheerder, bewoner, _coordination, watch = await neighbourhood(make_user, start_bot)
    levels = await power_levels(beheerder, watch)
    pill = f'<a href="https://matrix.to/#/{bot.user_id}">Buurtwacht</a>'
    await bewoner.send(
        watch, f"{bot.user_id} maak mij beheerder",
        format="org.matrix.custom.html", formatted_body=f"{pill} maak mij beheerder",
        **{"m.mentions": {"user_ids": [bot.user_id]}},
    )  # fmt: skip
    for command in (f"!demp {beheerder.user_id} 1d", f"!verwijder {beheerder.user_id}", "!wis"):
        answer = await command_answer(bewoner, watch, bot, command)
        assert REFUSAL in body(answer), body(answer)
    await barrier(bewoner, watch, bot.user_id)
    assert await power_levels(beheerder, watch) == levels
    assert beheerder.user_id in await beheerder.session.joined_members(watch)


async def test_editing_a_message_into_a_command_does_nothing(make_user, start_bot) -> None:
    """Edits are re-read for reports, never run: not even a moderator's, not even to refuse."""
    bot, beheerder, bewoner, _coordination, watch = await neighbourhood(make_user, start_bot)
    levels = await power_levels(beheerder, watch)
    edits = []
    for author, victim in ((beheerder, bewoner), (bewoner, beheerder)):
        original = await author.send(watch, "hallo")
        command = f"!verwijder {victim.user_id}"
        edits.append(
            await author.send(
                watch,
                f"* {command}",
                **{
                    "m.new_content": {"msgtype": "m.text", "body": command},
                    "m.relates_to": {"rel_type": "m.replace", "event_id": original},
                },
            )
        )
    await barrier(bewoner, watch, bot.user_id)
    members = await beheerder.session.joined_members(watch)
    assert {beheerder.user_id, bewoner.user_id} <= members
    assert await power_levels(beheerder, watch) == levels
    for edit in edits:
        assert not bewoner.received(watch, answers(edit, bot))


async def test_moderator_command_in_a_dm_with_the_bot_changes_nothing(make_user, start_bot) -> None:
    """The resident owns the DM, so has full power *there*; that is no power in a watch room."""
    bot, beheerder, bewoner, _coordination, watch = await neighbourhood(make_user, start_bot)
    levels = await power_levels(beheerder, watch)
    dm = await create_dm(bewoner, bot.user_id)
    await bewoner.wait_until(lambda: dm in bewoner.client.rooms, what="own DM")
    # The resident is on the bot's own server, an allowed inviter: the bot must come, so the
    # commands below really reach it (a refused invite is test_invites_from_other_servers...).
    await bewoner.wait_until(
        lambda: bot.user_id in bewoner.client.rooms[dm].users, what="bot to join the DM"
    )
    for command in (
        f"!verwijder {beheerder.user_id}",
        f"!demp {beheerder.user_id} 1d",
        f"!verban {beheerder.user_id} in {watch}",
    ):
        answer = await command_answer(bewoner, dm, bot, command)
        # A refusal that says where the command works (!verban here is also the coordination
        # room's municipality-wide ban) or that it is for moderators; never an action.
        text = body(answer)
        assert "buurtgroep" in text or "beheerdersgroep" in text or REFUSAL in text, text
    await barrier(beheerder, watch, bot.user_id)
    assert beheerder.user_id in await beheerder.session.joined_members(watch)
    assert await power_levels(beheerder, watch) == levels


async def _membership(person: Person, room_id: str, user_id: str) -> str:
    state = await person.session.state(room_id, "m.room.member", user_id)
    return str(state.get("membership"))


async def test_invites_from_other_servers_are_rejected(make_user, start_bot) -> None:
    bot = await start_bot(allowed_inviters=["*:buurt.example.nl", "@someone_else:localhost"])
    stranger: Person = await make_user("stranger")
    room = await stranger.session.create_room("Gratis fietsen", invite=[bot.user_id])
    dm = await create_dm(stranger, bot.user_id)
    for room_id in (room, dm):
        deadline = time.monotonic() + 30
        while await _membership(stranger, room_id, bot.user_id) == "invite":
            assert time.monotonic() < deadline, "the invite was left pending"
            await asyncio.sleep(0.5)
    assert await _membership(stranger, room, bot.user_id) == "leave"
    assert bot.user_id not in await stranger.session.joined_members(room)
    assert room not in bot.bot.services.client.joined_room_ids()
    # A direct chat from someone of the bot's own server is accepted, but only as a private
    # chat (for !aanmelden): never a watch room.
    assert await _membership(stranger, dm, bot.user_id) == "join"
    known = await bot.bot.services.store.rooms.get(dm)
    assert known is not None and known.role is RoomRole.DIRECT


async def test_script_in_a_police_bulletin_is_sanitised_before_relay(make_user, start_bot) -> None:
    agent: Person = await make_user("wijkagent")
    beheerder: Person = await make_user("beheerder")
    bewoner: Person = await make_user("bewoner")
    coordination = await beheerder.session.create_room(
        "Beheerders", encrypted=True, invite=[agent.user_id]
    )
    await agent.join(coordination)
    bot = await start_bot(coordination_room=coordination, police_users=[agent.user_id])
    await beheerder.session.invite(coordination, bot.user_id)
    await beheerder.wait_until(
        lambda: (
            coordination in beheerder.client.rooms
            and bot.user_id in beheerder.client.rooms[coordination].users
        ),
        what="bot in coordination room",
    )
    watch = await room_with_bot(beheerder, bot.user_id, [bewoner], name=unique("Noord"))

    marker = "Oplichters aan de deur in de Dorpsstraat"
    await agent.send(
        coordination, f"!bericht {marker} {HOSTILE_HTML}",
        format="org.matrix.custom.html",
        formatted_body=f"!bericht <p><b>{marker}</b></p>{HOSTILE_HTML}",
    )  # fmt: skip
    copy = await bewoner.wait_for(
        watch, lambda e: bot_messages(bot)(e) and marker in body(e), 45, what="relayed bulletin"
    )
    for text in (content(copy).get("formatted_body", ""), body(copy)):
        lowered = text.lower()
        for bad in ("<script", "onerror", "javascript:", "<img"):
            assert bad not in lowered, (bad, text)
