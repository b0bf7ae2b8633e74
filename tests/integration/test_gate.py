"""The house-rules gate on a real Synapse: newcomers read, accept in private, then post."""

from __future__ import annotations

from typing import Any

from tests.integration.conftest import (
    Person,
    eventually,
    from_sender,
    neighbourhood,
    replies_to,
)
from tests.integration.test_moderation import body, can_post


async def greeting_in_dm(person: Person, bot_id: str) -> tuple[str, dict[str, Any]]:
    """Join the bot's direct chat and return it with the greeting that arrives there."""
    await person.wait_until(lambda: bool(person.client.invited_rooms), what="a DM invite")
    dm = next(iter(person.client.invited_rooms))
    await person.join(dm)
    greeting = await person.wait_for(
        dm,
        lambda e: from_sender(bot_id)(e) and "!akkoord" in body(e),
        what="the greeting with the house rules",
    )
    return dm, greeting


async def redacted(reader: Person, room_id: str, event_id: str) -> bool:
    path = f"/_matrix/client/v3/rooms/{room_id}/event/{event_id}"
    event = await reader.session.request("GET", path)
    return "redacted_because" in event.get("unsigned", {}) and not event.get("content")


async def knock_and_admit(
    bot, beheerder: Person, coordination: str, person: Person, room_id: str, join: bool = True
) -> None:
    """The person knocks, the moderator admits them by number, and (unless told) they join."""
    await person.client.room_knock(room_id, "Ik woon hier om de hoek")

    async def request_number() -> int | None:
        requests = await bot.bot.services.store.admission.open_requests(room_id)
        return requests[0].id if requests else None

    number = await eventually(request_number, "the join request")
    asked = await beheerder.send(coordination, f"!toelaten {number}")
    await beheerder.wait_for(coordination, replies_to(asked), what="accepted")
    await person.wait_until(lambda: room_id in person.client.invited_rooms, what="the invite")
    if join:
        await person.join(room_id)


async def test_newcomer_posts_only_after_accepting_and_early_posts_vanish(
    make_user, start_bot
) -> None:
    bot, beheerder, bewoner, coordination, watch = await neighbourhood(make_user, start_bot)
    switched = await beheerder.send(watch, "!poort aan")
    answer = await beheerder.wait_for(watch, replies_to(switched), what="gate switched on")
    assert "staat nu aan" in body(answer)
    assert await can_post(bewoner, watch), "members from before the gate keep posting"

    # The newcomer joins and posts while the bot is down: the post lands, then goes.
    await bot.stop()
    nina = await make_user("nina", display_name="Nina Nieuw")
    await beheerder.session.invite(watch, nina.user_id)
    await nina.join(watch)
    early = await nina.send(watch, "Hoi allemaal, ik ben nieuw hier!")
    bot = await start_bot(coordination_room=coordination)
    await eventually(lambda: redacted(beheerder, watch, early), "the early post redacted")

    dm, greeting = await greeting_in_dm(nina, bot.user_id)
    assert bot.bot.services.client.room_name(watch) in body(greeting)
    assert "112" in body(greeting), "the greeting carries SAAR"
    assert not await can_post(nina, watch), "a newcomer may read but not post"
    marked = await bot.bot.services.client.direct_rooms()
    assert marked.get(nina.user_id) == [dm], "the direct chat is marked in m.direct"
    assert await bot.bot.services.direct.room_for(nina.user_id) == dm, "and reused"

    agreed = await nina.send(dm, "!akkoord")
    thanks = await nina.wait_for(dm, replies_to(agreed), what="thanks for agreeing")
    assert "kunt nu berichten plaatsen" in body(thanks)
    await eventually(lambda: can_post(nina, watch), "Nina can post after !akkoord", 30, 0.3)
    store = bot.bot.services.store.gate
    [acceptance] = await store.acceptances(watch, nina.user_id)
    gate = next(f for f in bot.bot.dispatcher.features if f.name == "gate")
    assert acceptance.rules_version == gate.version(watch)  # type: ignore[attr-defined]
    assert acceptance.via == "command" and acceptance.accepted_at > 0

    # !regels shows the version the acceptance refers to.
    asked = await nina.send(watch, "!regels")
    rules = await nina.wait_for(watch, replies_to(asked), what="the rules")
    assert acceptance.rules_version in body(rules)

    # Leaving clears the gate state and starts the retention clock of the acceptance.
    await nina.client.room_leave(watch)

    async def left_recorded() -> bool:
        rows = await store.acceptances(watch, nina.user_id)
        return bool(rows and rows[0].left_at)

    await eventually(left_recorded, "the leave time stored with the acceptance")


async def test_admitted_knocker_is_restricted_before_joining_and_accepts_with_a_reaction(
    make_user, start_bot
) -> None:
    bot, beheerder, _bewoner, coordination, watch = await neighbourhood(make_user, start_bot)
    await beheerder.session.put_state(watch, "m.room.join_rules", {"join_rule": "knock"})
    switched = await beheerder.send(coordination, f"!poort aan {watch}")
    answer = await beheerder.wait_for(coordination, replies_to(switched), what="gate on")
    assert "staat nu aan" in body(answer)
    assert await bot.bot.services.store.gate.enabled(watch)
    otto = await make_user("otto", display_name="Otto Klopper")
    await knock_and_admit(bot, beheerder, coordination, otto, watch, join=False)
    levels = await beheerder.session.state(watch, "m.room.power_levels")
    assert levels["users"].get(otto.user_id, 0) < levels.get("events_default", 0)
    await otto.join(watch)
    assert not await can_post(otto, watch), "restricted from the invite on: no race at all"
    dm, greeting = await greeting_in_dm(otto, bot.user_id)
    await otto.send_event(
        dm,
        "m.reaction",
        {
            "m.relates_to": {
                "rel_type": "m.annotation",
                "event_id": greeting["event_id"],
                "key": "✅",
            }
        },
    )
    await eventually(lambda: can_post(otto, watch), "Otto can post after ✅", 30, 0.3)
    stored = bot.bot.services.store.gate
    [acceptance] = await eventually(
        lambda: stored.acceptances(watch, otto.user_id), "the acceptance row"
    )
    assert acceptance.via == "reaction"
    levels = await beheerder.session.state(watch, "m.room.power_levels")
    assert otto.user_id not in levels["users"], "accepted members are not listed"


async def test_gate_works_in_an_older_room_version_too(make_user, start_bot) -> None:
    """Room version 10 (knock, but no unlimited creators): the same restriction and release."""
    bot, beheerder, _bewoner, coordination, _watch = await neighbourhood(make_user, start_bot)
    created = await beheerder.session.request(
        "POST",
        "/_matrix/client/v3/createRoom",
        {
            "name": "Buurtpreventie Oud",
            "preset": "private_chat",
            "room_version": "10",
            "invite": [bot.user_id],
            "power_level_content_override": {"users": {beheerder.user_id: 100, bot.user_id: 90}},
            "initial_state": [
                {"type": "m.room.join_rules", "state_key": "", "content": {"join_rule": "knock"}}
            ],
        },
    )
    room = str(created["room_id"])
    await beheerder.wait_until(lambda: room in beheerder.client.rooms, what="the v10 room")
    await beheerder.wait_until(
        lambda: bot.user_id in beheerder.client.rooms[room].users, what="bot joins the v10 room"
    )
    switched = await beheerder.send(room, "!poort aan")
    answer = await beheerder.wait_for(room, replies_to(switched), what="gate on")
    assert "niveau 100 nodig" in body(answer), "a bot that cannot restrict says what it needs"
    levels = await beheerder.session.state(room, "m.room.power_levels")
    levels["users"][bot.user_id] = 100
    await beheerder.session.put_state(room, "m.room.power_levels", levels)
    sara = await make_user("sara", display_name="Sara Oud")
    await knock_and_admit(bot, beheerder, coordination, sara, room)
    assert not await can_post(sara, room)
    dm, _greeting = await greeting_in_dm(sara, bot.user_id)
    await sara.send(dm, "!agree")
    await eventually(lambda: can_post(sara, room), "Sara can post after !agree", 30, 0.3)
    levels = await beheerder.session.state(room, "m.room.power_levels")
    assert levels["users"] == {beheerder.user_id: 100, bot.user_id: 100}
