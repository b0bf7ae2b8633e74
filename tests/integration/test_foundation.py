"""The foundation as a resident and a moderator meet it, on a real Synapse with real E2EE."""

from __future__ import annotations

from typing import Any

from bot.features.base import Context, Feature
from bot.services import Services
from tests.integration.conftest import (
    Person,
    barrier,
    eventually,
    from_sender,
    replies_to,
    room_with_bot,
)

# The test reads the texts the bot sends; keep them in one place.
HELP_MARKER = "Buurtwacht – wat je hier kunt gebruiken"


def body(event: dict[str, Any]) -> str:
    return str(event.get("content", {}).get("body", ""))


async def test_joins_on_allowed_invite_and_answers_help_encrypted(make_user, start_bot) -> None:
    bot = await start_bot()
    beheerder: Person = await make_user("beheerder")
    bewoner: Person = await make_user("bewoner")
    room_id = await room_with_bot(beheerder, bot.user_id, [bewoner])
    assert beheerder.client.rooms[room_id].encrypted

    asked = await bewoner.send(room_id, "!hulp")
    # The beheerder's client, a second device in the room, must be able to decrypt the answer.
    answer = await beheerder.wait_for(room_id, replies_to(asked), what="help reply")
    assert answer["type"] == "m.room.message", "the reply must be decrypted by the other client"
    assert HELP_MARKER in body(answer)
    assert "!ping" in body(answer)
    assert "formatted_body" in answer["content"]
    on_the_wire = await beheerder.raw_history(room_id)
    sent = {
        e["type"] for e in on_the_wire if e.get("sender") == bot.user_id and "state_key" not in e
    }
    assert sent == {"m.room.encrypted"}, "the bot must never answer in clear text here"


async def test_english_catalogue(make_user, start_bot) -> None:
    bot = await start_bot(language="en")
    beheerder = await make_user("beheerder")
    room_id = await room_with_bot(beheerder, bot.user_id, [], encrypted=False)
    asked = await beheerder.send(room_id, "!nonsense")
    answer = await beheerder.wait_for(room_id, replies_to(asked), what="unknown reply")
    assert "Unknown command" in body(answer)
    assert "!help" in body(answer)


async def test_refuses_invite_from_unknown_user(make_user, start_bot) -> None:
    bot = await start_bot(allowed_inviters=["@nobody:localhost"])
    stranger = await make_user("stranger")
    room_id = await stranger.session.create_room("Spam", invite=[bot.user_id])

    async def membership() -> str:
        state = await stranger.session.state(room_id, "m.room.member", bot.user_id)
        return str(state["membership"])

    async def answered() -> bool:
        return await membership() != "invite"

    await eventually(answered, "the invite must be rejected, not left pending")
    assert await membership() == "leave", "rejected, not joined"
    assert bot.user_id not in await stranger.session.joined_members(room_id)


async def test_restart_handles_missed_messages_once(make_user, start_bot) -> None:
    bot = await start_bot()
    beheerder = await make_user("beheerder")
    room_id = await room_with_bot(beheerder, bot.user_id, [])
    before = await beheerder.send(room_id, "!ping")
    await beheerder.wait_for(room_id, replies_to(before), what="pong before restart")

    await bot.stop()
    missed = [await beheerder.send(room_id, "!ping") for _ in range(3)]
    bot = await start_bot()
    for event_id in missed:
        await beheerder.wait_for(room_id, replies_to(event_id), what="pong for missed ping")
    await barrier(beheerder, room_id, bot.user_id)  # a duplicate would have come before this
    for event_id in [before, *missed]:
        assert len(beheerder.received(room_id, replies_to(event_id))) == 1, event_id


class Echo(Feature):
    """A test feature that makes the bot say something that would trigger itself."""

    async def on_message(self, ctx: Context) -> None:
        if ctx.message.body == "echo":
            await ctx.services.client.send_message(
                ctx.message.room_id,
                ctx.t("ping.pong", delay=0).__class__("!ping", "!ping"),
                ctx.txn("echo"),
                notice=False,
            )


class Exploding(Feature):
    async def on_message(self, ctx: Context) -> None:
        if ctx.message.body == "boom":
            raise RuntimeError("a bug in a feature")


def with_test_features(services: Services) -> list[Feature]:
    return [Echo(services), Exploding(services)]


async def test_ignores_its_own_messages(make_user, start_bot) -> None:
    bot = await start_bot(features=with_test_features)
    beheerder = await make_user("beheerder")
    room_id = await room_with_bot(beheerder, bot.user_id, [])
    await beheerder.send(room_id, "echo")
    own = await beheerder.wait_for(
        room_id, lambda e: from_sender(bot.user_id)(e) and body(e) == "!ping", what="echo"
    )
    await barrier(beheerder, room_id, bot.user_id)
    assert not beheerder.received(room_id, replies_to(own["event_id"])), "bot answered itself"


async def test_handler_exception_does_not_stop_the_bot(make_user, start_bot) -> None:
    bot = await start_bot(features=with_test_features)
    beheerder = await make_user("beheerder")
    room_id = await room_with_bot(beheerder, bot.user_id, [])
    await beheerder.send(room_id, "boom")
    asked = await beheerder.send(room_id, "!ping")
    pong = await beheerder.wait_for(room_id, replies_to(asked), what="pong after exception")
    assert "pong" in body(pong)
    assert not bot.task.done()


async def test_history_before_the_bot_joined_is_not_handled(make_user, start_bot) -> None:
    bot = await start_bot()
    beheerder = await make_user("beheerder")
    room_id = await beheerder.session.create_room("Bestaande groep", encrypted=False)
    await beheerder.wait_until(lambda: room_id in beheerder.client.rooms, what="room")
    old = await beheerder.session.send_text(room_id, "!ping")
    await beheerder.session.invite(room_id, bot.user_id)
    await beheerder.wait_until(
        lambda: bot.user_id in beheerder.client.rooms[room_id].users, what="bot to join"
    )
    new = await beheerder.session.send_text(room_id, "!ping")
    await beheerder.wait_for(room_id, replies_to(new), what="pong to the new ping")
    assert not beheerder.received(room_id, replies_to(old)), "history must not be handled"
