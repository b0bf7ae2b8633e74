"""Creating, adopting and unlinking watch groups, and the overview, on a real Synapse."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from bot.devserver.rooms import SetupError
from bot.store.admission import Source
from bot.store.bulletins import BulletinRepository
from bot.store.rooms import RoomRole
from tests.integration.conftest import (
    Person,
    RunningBot,
    eventually,
    neighbourhood,
    replies_to,
    room_with_bot,
    unique,
)


def body(event: dict[str, Any]) -> str:
    return str(event.get("content", {}).get("body", ""))


def html(event: dict[str, Any]) -> str:
    return str(event.get("content", {}).get("formatted_body", ""))


async def ask(person: Person, room_id: str, text: str) -> dict[str, Any]:
    """Send a command and wait for the bot's answer to it."""
    event_id = await person.send(room_id, text)
    return await person.wait_for(room_id, replies_to(event_id), what=f"reply to {text!r}")


async def resolve(person: Person, alias: str) -> str | None:
    try:
        data = await person.session.request(
            "GET", f"/_matrix/client/v3/directory/room/{quote(alias)}"
        )
    except SetupError:
        return None
    return str(data["room_id"])


async def watch_rooms(bot: RunningBot) -> set[str]:
    rooms = await bot.bot.services.store.rooms.list(RoomRole.WATCH)
    return {room.room_id for room in rooms}


async def check_new_group(
    bot: RunningBot, beheerder: Person, coordination: str, version: str | None
) -> str:
    name = unique("Westwijk")
    reply = await ask(beheerder, coordination, f"!nieuwegroep {name} #west")
    server = bot.user_id.split(":", 1)[1]
    alias = f"#buurtpreventie-{name.lower()}:{server}"
    assert "✅" in body(reply) and alias in body(reply), body(reply)
    room_id = await resolve(beheerder, alias)
    assert room_id is not None and f"https://matrix.to/#/{alias}" in html(reply)

    # The requester is invited (and reads the room's state once they join).
    invited = await bot.bot.services.client.nio.room_get_state_event(
        room_id, "m.room.member", beheerder.user_id
    )
    assert invited.content["membership"] == "invite"
    await beheerder.join(room_id)
    state = beheerder.session.state
    create = await state(room_id, "m.room.create")
    assert create.get("room_version", "1") == (version or "12")
    assert (await state(room_id, "m.room.encryption"))["algorithm"] == "m.megolm.v1.aes-sha2"
    assert (await state(room_id, "m.room.join_rules"))["join_rule"] == "knock"
    assert (await state(room_id, "m.room.history_visibility"))["history_visibility"] == "shared"
    assert (await state(room_id, "m.room.guest_access"))["guest_access"] == "forbidden"
    assert (await state(room_id, "m.room.name"))["name"] == name
    topic = (await state(room_id, "m.room.topic"))["topic"]
    assert "SAAR" in topic and "112" in topic and "geen chat" in topic.lower()
    power = await state(room_id, "m.room.power_levels")
    expected_users = {beheerder.user_id: 50}
    if version is not None and version != "12":
        expected_users[bot.user_id] = 100  # old versions: the creator must be listed
    assert power["users"] == expected_users
    assert [power[k] for k in ("events_default", "invite", "kick", "ban", "redact")] == [
        0, 50, 50, 50, 50]  # fmt: skip

    store = bot.bot.services.store
    await eventually(lambda: _is_watch(bot, room_id), "new group recorded as watch room")
    labels = await BulletinRepository(store.db).labels_by_room()
    assert labels[room_id] == ("west",)
    assert await store.gate.enabled(room_id)

    # The requester is a moderator there: the bot accepts their commands.
    answer = await ask(beheerder, room_id, "!nummer 101")
    assert "101" in body(answer)

    # The same name again: the alias is taken and nothing new exists.
    rooms_before = set(bot.bot.services.client.joined_room_ids())
    watch_before = await watch_rooms(bot)
    again = await ask(beheerder, coordination, f"!nieuwegroep {name}")
    assert "al in gebruik" in body(again) and "niets aangemaakt" in body(again)
    assert await watch_rooms(bot) == watch_before
    assert set(bot.bot.services.client.joined_room_ids()) == rooms_before
    return room_id


async def _is_watch(bot: RunningBot, room_id: str) -> bool:
    return room_id in await watch_rooms(bot)


async def test_newgroup_builds_a_ready_watch_room_on_v12(make_user, start_bot) -> None:
    bot, beheerder, _bewoner, coordination, _watch = await neighbourhood(make_user, start_bot)
    await check_new_group(bot, beheerder, coordination, None)

    # Bad input gets a clear answer and creates nothing.
    watch_before = await watch_rooms(bot)
    assert "Hoe heet" in body(await ask(beheerder, coordination, "!nieuwegroep #west"))
    assert "te lang" in body(await ask(beheerder, coordination, "!nieuwegroep " + "x" * 81))
    assert "geen adres" in body(await ask(beheerder, coordination, "!nieuwegroep 🚓 🚨"))
    assert await watch_rooms(bot) == watch_before

    # A crash right after createRoom left a bare room under the alias: the command, handled
    # again, finishes that room instead of calling its own alias taken.
    name = unique("Halfweg")
    bare = await bot.bot.services.client.create_room(
        name=name, alias=f"buurtpreventie-{name.lower()}", topic=None, room_version=None,
        initial_state=[], power_levels={},
    )  # fmt: skip
    done = await ask(beheerder, coordination, f"!nieuwegroep {name} #halfweg")
    assert "✅" in body(done), body(done)
    await eventually(lambda: _is_watch(bot, bare), "half-made group finished")
    invited = await bot.bot.services.client.nio.room_get_state_event(
        bare, "m.room.member", beheerder.user_id
    )
    assert invited.content["membership"] == "invite"


async def test_newgroup_on_room_version_10_lists_the_bot(make_user, start_bot) -> None:
    bot, beheerder, _bewoner, coordination, _watch = await neighbourhood(
        make_user, start_bot, groups={"room_version": "10"}
    )
    await check_new_group(bot, beheerder, coordination, "10")


async def test_newgroup_is_only_for_coordination_moderators(make_user, start_bot) -> None:
    bot, beheerder, bewoner, coordination, watch = await neighbourhood(make_user, start_bot)
    name = unique("Stiekem")
    assert "beheerdersgroep" in body(await ask(bewoner, watch, f"!nieuwegroep {name}"))
    await beheerder.session.invite(coordination, bewoner.user_id)
    await bewoner.join(coordination)
    assert "alleen voor beheerders" in body(await ask(bewoner, coordination, f"!newgroup {name}"))
    server = bot.user_id.split(":", 1)[1]
    assert await resolve(beheerder, f"#buurtpreventie-{name.lower()}:{server}") is None


async def public_room(owner: Person, power_users: dict[str, int] | None = None) -> tuple[str, str]:
    """A public room with an alias that the bot is not in."""
    localpart = unique("oost")
    body_: dict[str, Any] = {"preset": "public_chat", "name": localpart,
                             "room_alias_name": localpart}  # fmt: skip
    if power_users:
        body_["power_level_content_override"] = {"users": power_users}  # v12: creator unlisted
    data = await owner.session.request("POST", "/_matrix/client/v3/createRoom", body_)
    server = owner.user_id.split(":", 1)[1]
    return str(data["room_id"]), f"#{localpart}:{server}"


async def test_link_names_the_level_needed_and_adopts_a_capable_room(make_user, start_bot) -> None:
    bot, beheerder, _bewoner, coordination, _watch = await neighbourhood(make_user, start_bot)
    weak_room, weak_alias = await public_room(beheerder)
    reply = await ask(beheerder, coordination, f"!koppel {weak_alias}")
    text = body(reply)
    assert "niet gekoppeld" in text and "machtsniveau 0" in text, text
    assert "minstens 100 nodig" in text and "machtsniveaus aanpassen 100" in text, text
    assert "verbannen 50" in text and "berichten wissen 50" in text
    assert weak_room not in await watch_rooms(bot)
    await eventually(
        lambda: _not_member(beheerder, weak_room, bot.user_id), "bot left the refused room"
    )

    strong_room, strong_alias = await public_room(beheerder, {bot.user_id: 100})
    reply = await ask(beheerder, coordination, f"!koppel {strong_alias} #oost")
    assert "is nu een buurtgroep" in body(reply) and "#oost" in body(reply), body(reply)
    assert strong_room in await watch_rooms(bot)
    labels = await BulletinRepository(bot.bot.services.store.db).labels_by_room()
    assert labels[strong_room] == ("oost",)

    # Unlinking asks first, then leaves for good; requests nobody can decide are closed.
    store = bot.bot.services.store
    await store.admission.request(strong_room, "@wachtend:example.org", Source.KNOCK, "$k1")
    name = bot.bot.services.client.room_name(strong_room)
    prompt = await ask(beheerder, coordination, f"!ontkoppel {name}")
    assert "Zeker weten" in body(prompt) and strong_room in body(prompt)
    assert strong_room in await watch_rooms(bot)
    done = await ask(beheerder, coordination, f"!ontkoppel {strong_room} bevestig")
    assert "ontkoppeld" in body(done), body(done)
    assert strong_room not in await watch_rooms(bot)
    assert await store.admission.open_requests(strong_room) == []
    await eventually(lambda: _not_member(beheerder, strong_room, bot.user_id), "bot left")
    assert (await BulletinRepository(bot.bot.services.store.db).labels_by_room()).get(
        strong_room
    ) is None
    audit = [e.action for e in await bot.bot.services.store.audit.recent(limit=10)]
    assert {"group_link", "group_unlink"} <= set(audit)


async def _not_member(owner: Person, room_id: str, user_id: str) -> bool:
    return user_id not in await owner.session.joined_members(room_id)


async def test_overview_shows_members_moderators_requests_and_reports(make_user, start_bot) -> None:
    bot, beheerder, bewoner, coordination, noord = await neighbourhood(
        make_user, start_bot, groups={"overview_page_size": 2}
    )
    mod = await make_user("mod", display_name="Mo Derator")
    extra = await make_user("extra", display_name="Eva Extra")
    zuid = await room_with_bot(beheerder, bot.user_id, [mod, extra], name="A-Zuid" + unique(""),
                               power_users={mod.user_id: 50})  # fmt: skip
    oost = await room_with_bot(mod, bot.user_id, [bewoner], name="B-Oost" + unique(""))
    store = bot.bot.services.store
    expected = {noord: 2, zuid: 3, oost: 2}
    for room_id, count in expected.items():
        await eventually(
            lambda r=room_id, n=count: _count(bot, r, n), f"{count} members in {room_id}"
        )
    await store.admission.request(oost, "@wachtend:example.org", Source.KNOCK, "$knock1")
    await BulletinRepository(store.db).add_labels(zuid, ["zuid"])
    report = await bewoner.send(oost, "Er wordt nu ingebroken bij nummer 12, 112 is gebeld!")
    await eventually(lambda: store.incidents.get(report), "report recorded")

    first = await ask(beheerder, coordination, "!overzicht")
    text, markup = body(first), html(first)
    client = bot.bot.services.client
    names = sorted((client.room_name(r), r) for r in expected)
    assert "3 groepen, pagina 1/2" in text and "!overzicht 2" in text
    assert text.index(names[0][0]) < text.index(names[1][0]) and names[2][0] not in text
    second = await ask(beheerder, coordination, "!overzicht 2")
    assert names[2][0] in body(second) and "pagina 2/2" in body(second)
    pages = {**_items(first), **_items(second)}

    assert "3 leden, 3 nieuw" in pages[client.room_name(zuid)]
    assert "#zuid" in pages[client.room_name(zuid)]
    assert "2 leden, 2 nieuw" in pages[client.room_name(noord)]
    oost_text = pages[client.room_name(oost)]
    assert "1 open verzoeken" in oost_text and "1 meldingen in 30 dagen" in oost_text
    assert "0 open verzoeken" in pages[client.room_name(zuid)]
    # Moderators: display name and Matrix ID, as links; the bot is never one of them.
    assert f"Bea Beheer ({beheerder.user_id})" in pages[client.room_name(zuid)]
    assert f"Mo Derator ({mod.user_id})" in pages[client.room_name(zuid)]
    assert f"Mo Derator ({mod.user_id})" in oost_text and beheerder.user_id not in oost_text
    assert bot.user_id not in text + body(second)
    assert f'href="https://matrix.to/#/{mod.user_id}"' in markup + html(second)
    assert "poort uit" in oost_text
    assert "bestaat niet" in body(await ask(beheerder, coordination, "!overzicht 3"))


def _items(event: dict[str, Any]) -> dict[str, str]:
    """Each listed room's text by its name (the first line of its item)."""
    found = {}
    for item in body(event).split("• ")[1:]:
        name = item.split("\n", 1)[0].split(" #", 1)[0].strip()
        found[name] = item
    return found


async def _count(bot: RunningBot, room_id: str, expected: int) -> bool:
    counts = await bot.bot.services.store.members.counts(room_ids=[room_id])
    return counts.get(room_id) == expected
