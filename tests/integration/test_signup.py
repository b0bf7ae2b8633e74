"""Sign-up by postcode on a real Synapse: areas set in the coordination room, !aanmelden in a
direct chat reaching the right group's moderators, clear answers for everything else."""

from __future__ import annotations

from nio import RoomCreateResponse

from bot.store.admission import Status
from tests.integration.conftest import Person, eventually, room_with_bot, unique
from tests.integration.test_admission import ask, body, notice_for, open_request

NO_GROUP = "Nog geen buurtgroep hier: mail buurtpreventie@gemeente.example."


async def direct_chat(person: Person, bot_id: str) -> str:
    """What Element does for "Start chat": a private room marked direct, the bot invited."""
    response = await person.client.room_create(is_direct=True, invite=[bot_id])
    assert isinstance(response, RoomCreateResponse), response
    room_id = response.room_id
    await person.wait_until(lambda: room_id in person.client.rooms, what="own direct chat")
    await person.wait_until(
        lambda: (
            bot_id in person.client.rooms[room_id].users
            and bot_id not in person.client.rooms[room_id].invited_users
        ),
        what="the bot to accept the direct chat",
    )
    return room_id


async def test_sign_up_by_postcode_reaches_the_group_moderators(make_user, start_bot) -> None:
    beheerder = await make_user("beheerder", display_name="Bea Beheer")
    coordination = await beheerder.session.create_room("Beheerders", encrypted=True)
    # Only the beheerder may invite the bot into rooms; residents may still open a direct chat.
    bot = await start_bot(
        coordination_room=coordination,
        allowed_inviters=[beheerder.user_id],
        signup={"no_group_text": NO_GROUP},
    )
    await beheerder.session.invite(coordination, bot.user_id)
    await beheerder.wait_until(
        lambda: bot.user_id in beheerder.client.rooms[coordination].users, what="bot in coord"
    )
    westwijk_name = unique("Westwijk")
    westwijk = await room_with_bot(beheerder, bot.user_id, [], name=westwijk_name)
    oostwijk = await room_with_bot(beheerder, bot.user_id, [], name=unique("Oostwijk"))

    answer = await ask(beheerder, coordination, f"!gebied {westwijk_name} 1181-1183 1187")
    assert westwijk_name in answer and "1181-1183 1187" in answer
    await ask(beheerder, coordination, f"!gebied {beheerder.client.rooms[oostwijk].name} 1190")
    listing = await ask(beheerder, coordination, "!gebied")
    assert "1181-1183 1187" in listing and "1190" in listing
    assert "geen postcodegebied" in await ask(beheerder, coordination, "!gebied Westwijk 0000")

    resident = await make_user("bewoner", display_name="Ria Buurvrouw")
    # A resident may not pull the bot into a group of their own ...
    other = await resident.session.create_room("Mijn groep", invite=[bot.user_id])
    direct = await direct_chat(resident, bot.user_id)  # ... but may open a direct chat.

    answer = await ask(resident, direct, "!aanmelden 1182 ab")
    assert "doorgestuurd" in answer and westwijk_name in answer
    request = await open_request(bot, westwijk, resident.user_id)
    assert request.reason == "aangemeld via postcode 1182"
    notice = await notice_for(beheerder, coordination, bot.user_id, request)
    assert westwijk_name in body(notice) and "aangemeld via postcode 1182" in body(notice)
    assert "Ria Buurvrouw" in body(notice)
    assert "wacht al" in await ask(resident, direct, "!aanmelden 1182AB")

    accepted = await ask(beheerder, coordination, f"!toelaten {request.id}")
    assert "uitgenodigd" in accepted
    await resident.wait_until(lambda: westwijk in resident.client.invited_rooms, what="invite")
    decided = await bot.bot.services.store.admission.get(request.id)
    assert decided is not None and decided.status is Status.ACCEPTED
    assert decided.reason is None, "the postcode is deleted once the request is decided"

    assert NO_GROUP in await ask(resident, direct, "!aanmelden 9999 ZZ")
    assert NO_GROUP in await ask(resident, direct, "!aanmelden 2000")  # Belgian, not covered
    for typed, problem in (
        ("1182 A1", "geen letters"),
        ("0000", "begint nooit met 0"),
        ("1182 SS", "SA, SD en SS"),
        ("Kerkstraat 12", "geen postcode"),
        ("", "Welke postcode"),
    ):
        assert problem in await ask(resident, direct, f"!aanmelden {typed}"), typed
    assert "alleen" in await ask(beheerder, westwijk, "!aanmelden 1182 AB")  # direct chats only

    async def refused() -> bool:
        member = await resident.session.state(other, "m.room.member", bot.user_id)
        return member.get("membership") == "leave"

    await eventually(refused, "the bot to refuse a resident's group invite")
