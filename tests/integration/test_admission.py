"""Join requests on a real Synapse: knocks reach the moderators, who decide exactly once."""

from __future__ import annotations

import re
from typing import Any

from bot.store.admission import JoinRequest, Status
from tests.integration.conftest import (
    Person,
    eventually,
    from_sender,
    neighbourhood,
    replies_to,
)
from tests.integration.test_moderation import body


async def knock_room(make_user, start_bot, **settings: Any):
    """The shared neighbourhood with a watch room whose join rule is knock (room v7+)."""
    bot, beheerder, bewoner, coordination, watch = await neighbourhood(
        make_user, start_bot, **settings
    )
    await beheerder.session.put_state(watch, "m.room.join_rules", {"join_rule": "knock"})
    return bot, beheerder, bewoner, coordination, watch


async def knock(person: Person, room_id: str, reason: str) -> None:
    response = await person.client.room_knock(room_id, reason)
    assert getattr(response, "room_id", None) == room_id, response


async def open_request(bot, room_id: str, user_id: str) -> JoinRequest:
    async def find() -> JoinRequest | None:
        requests = await bot.bot.services.store.admission.open_requests(room_id)
        return next((r for r in requests if r.user_id == user_id), None)

    return await eventually(find, f"a join request from {user_id}")


async def notice_for(reader: Person, room_id: str, bot_id: str, request: JoinRequest) -> dict:
    def is_notice(event: dict[str, Any]) -> bool:
        return (
            from_sender(bot_id)(event)
            and f"Toegangsverzoek {request.id} " in body(event)
            and "m.new_content" not in event.get("content", {})
        )

    return await reader.wait_for(room_id, is_notice, what=f"notice of request {request.id}")


async def ask(person: Person, room_id: str, text: str) -> str:
    asked = await person.send(room_id, text)
    return body(await person.wait_for(room_id, replies_to(asked), what=f"answer to {text!r}"))


async def test_knock_is_accepted_by_number_once_and_declined_with_a_reason(
    make_user, start_bot
) -> None:
    bot, beheerder, _bewoner, coordination, watch = await knock_room(make_user, start_bot)
    anna = await make_user("anna", display_name="Anna Aanvrager")
    await knock(anna, watch, "Ik woon sinds kort in de Kerkstraat")
    request = await open_request(bot, watch, anna.user_id)
    notice = await notice_for(beheerder, coordination, bot.user_id, request)
    text = body(notice)
    assert "Anna Aanvrager" in text and anna.user_id in text and "Kerkstraat" in text
    assert f"!toelaten {request.id}" in text and f"!weigeren {request.id}" in text

    answer = await ask(beheerder, coordination, f"!toelaten {request.id}")
    assert "uitgenodigd" in answer
    await anna.wait_until(lambda: watch in anna.client.invited_rooms, what="the invite")
    await anna.join(watch)
    assert anna.user_id in await beheerder.session.joined_members(watch)

    second = await ask(beheerder, coordination, f"!weigeren {request.id}")
    assert re.search(r"al toegelaten door .*Bea Beheer.* om \d\d:\d\d", second), second
    audit = await bot.bot.services.store.audit.recent(room_id=watch, target=anna.user_id)
    assert [a.action for a in audit] == ["admit"]

    # Declined with a reason: the knock is rejected and the requester is told why.
    piet = await make_user("piet", display_name="Piet Passant")
    await knock(piet, watch, "Ik wil graag meelezen")
    declined = await open_request(bot, watch, piet.user_id)
    answer = await ask(beheerder, coordination, f"!weigeren {declined.id} geen bewoner van de wijk")
    assert "geweigerd" in answer

    async def rejection_seen_by_piet() -> dict | None:
        sync = await piet.session.request("GET", "/_matrix/client/v3/sync?timeout=0")
        left = sync.get("rooms", {}).get("leave", {}).get(watch, {})
        events = left.get("timeline", {}).get("events", []) + left.get("state", {}).get(
            "events", []
        )
        rejections = [
            e
            for e in events
            if e.get("type") == "m.room.member"
            and e.get("state_key") == piet.user_id
            and e.get("content", {}).get("membership") == "leave"
        ]
        return rejections[-1] if rejections else None

    rejection = await eventually(rejection_seen_by_piet, "the rejection in Piet's sync")
    assert rejection["content"]["membership"] == "leave"
    assert rejection["content"].get("reason") == "geen bewoner van de wijk"
    assert piet.user_id not in await beheerder.session.joined_members(watch)
    stored = await bot.bot.services.store.admission.get(declined.id)
    assert stored is not None and stored.status is Status.DECLINED
    assert stored.decided_by == beheerder.user_id


async def test_reaction_accepts_withdrawal_is_marked_and_watch_room_decides_by_name(
    make_user, start_bot
) -> None:
    bot, beheerder, bewoner, coordination, watch = await knock_room(make_user, start_bot)
    store = bot.bot.services.store.admission

    # A ✅ on the post in the coordination room accepts.
    kees = await make_user("kees", display_name="Kees Klop")
    await knock(kees, watch, "Buurman van nummer 12")
    request = await open_request(bot, watch, kees.user_id)
    notice = await notice_for(beheerder, coordination, bot.user_id, request)
    await beheerder.send_event(
        coordination,
        "m.reaction",
        {"m.relates_to": {"rel_type": "m.annotation", "event_id": notice["event_id"], "key": "✅"}},
    )
    await kees.wait_until(lambda: watch in kees.client.invited_rooms, what="the invite")
    accepted = await store.get(request.id)
    assert accepted is not None and accepted.status is Status.ACCEPTED
    assert accepted.decided_by == beheerder.user_id

    # A knock taken back is marked withdrawn, and the post says so.
    wim = await make_user("wim", display_name="Wim Weg")
    await knock(wim, watch, "toch maar niet")
    withdrawn = await open_request(bot, watch, wim.user_id)
    await notice_for(beheerder, coordination, bot.user_id, withdrawn)
    await wim.client.room_leave(watch)

    async def marked() -> JoinRequest | None:
        found = await store.get(withdrawn.id)
        return found if found and found.status is Status.WITHDRAWN else None

    await eventually(marked, "the request marked withdrawn")
    await beheerder.wait_for(
        coordination,
        lambda e: from_sender(bot.user_id)(e) and "Ingetrokken" in body(e),
        what="the post marked withdrawn",
    )
    answer = await ask(beheerder, coordination, f"!toelaten {withdrawn.id}")
    assert "ingetrokken door de aanvrager" in answer

    # Inside the watch room a moderator decides by naming the person; residents may not.
    lies = await make_user("lies", display_name="Lies Laat")
    await knock(lies, watch, "Nieuw in de straat")
    await open_request(bot, watch, lies.user_id)
    assert "alleen voor beheerders" in await ask(bewoner, watch, f"!toelaten {lies.user_id}")
    answer = await ask(beheerder, watch, f"!toelaten {lies.user_id}")
    assert "uitgenodigd" in answer
    await lies.wait_until(lambda: watch in lies.client.invited_rooms, what="Lies's invite")


async def test_requests_can_go_to_the_watch_room_moderators_instead(make_user, start_bot) -> None:
    bot, beheerder, bewoner, coordination, watch = await knock_room(
        make_user, start_bot, admission={"notify": "watch_room"}
    )
    rik = await make_user("rik", display_name="Rik Rood")
    await knock(rik, watch, "Woon om de hoek")
    request = await open_request(bot, watch, rik.user_id)
    notice = await notice_for(beheerder, watch, bot.user_id, request)
    assert notice["content"]["m.mentions"] == {"user_ids": [beheerder.user_id]}
    assert not beheerder.received(coordination, lambda e: "Toegangsverzoek" in body(e))

    # A resident's ❌ decides nothing; the moderator's does, and the knock is rejected.
    reaction = {"rel_type": "m.annotation", "event_id": notice["event_id"], "key": "❌"}
    await bewoner.send_event(watch, "m.reaction", {"m.relates_to": reaction})
    refusal = await beheerder.wait_for(
        watch,
        lambda e: replies_to(notice["event_id"])(e) and "Alleen een beheerder" in body(e),
        what="the resident's reaction refused",
    )
    assert bewoner.user_id in refusal["content"]["m.mentions"]["user_ids"]
    await beheerder.send_event(watch, "m.reaction", {"m.relates_to": reaction})

    async def declined() -> JoinRequest | None:
        found = await bot.bot.services.store.admission.get(request.id)
        return found if found and found.status is Status.DECLINED else None

    decided = await eventually(declined, "the request declined by reaction")
    assert decided.decided_by == beheerder.user_id

    async def rejected() -> dict | None:
        member = await beheerder.session.state(watch, "m.room.member", rik.user_id)
        return member if member["membership"] == "leave" else None

    member = await eventually(rejected, "the knock rejected (stored first, then kicked)")
    assert member.get("reason") == "Je verzoek om toegang is niet toegewezen."
