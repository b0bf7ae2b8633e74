"""Room keys shared ahead of time, as residents' E2EE clients see it, on real Synapse.

Every member here is a full nio E2EE client. What they hold is checked through the room keys
they received (``m.room_key`` to-device events from the bot) and by decrypting the bot's
police bulletins, exactly what a phone would show.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import vodozemac

from bot.devserver.rooms import UserSession
from bot.matrix.keysharing import ROTATE_AHEAD_MESSAGES, ShareSummary
from tests.devices import device_keys, one_time_keys
from tests.integration.conftest import (
    Person,
    RunningBot,
    eventually,
    only_bulletins,
    police_coordination,
    room_with_bot,
    unique,
)


def holds(person: Person, bot: RunningBot, room_id: str, session_id: str) -> bool:
    """Whether the member's client received (and stored) this megolm session of the bot."""
    assert bot.bot.services is not None and person.client.olm is not None
    bot_olm = bot.bot.services.client.nio.olm
    assert bot_olm is not None
    sender_key = bot_olm.account.identity_keys["curve25519"]
    store = person.client.olm.inbound_group_store
    return store.get(room_id, sender_key, session_id) is not None


def current_session(bot: RunningBot, room_id: str) -> Any:
    """The bot's outbound megolm session object for ``room_id`` (None: there is none)."""
    assert bot.bot.services is not None
    olm = bot.bot.services.client.nio.olm
    assert olm is not None
    return olm.outbound_group_sessions.get(room_id)


def outbound_session(bot: RunningBot, room_id: str) -> str | None:
    """The megolm session the bot would encrypt the next message in ``room_id`` with."""
    session = current_session(bot, room_id)
    return session.id if session is not None and session.shared else None


async def held_by_all(
    bot: RunningBot, room_id: str, members: list[Person], *, not_in: tuple[str | None, ...] = ()
) -> str:
    """The bot's shared session for the room once every one of ``members`` holds it.

    Joins, invites and leaves each make the bot rotate, so the session is read again on
    every poll; ``not_in`` excludes sessions from before the change being tested.
    """

    async def check() -> str | None:
        session = outbound_session(bot, room_id)
        if session is None or session in not_in:
            return None
        return session if all(holds(m, bot, room_id, session) for m in members) else None

    return await eventually(check, f"every member to hold the bot's session in {room_id}")


def bulletin_copy(bot_id: str, text: str):
    def check(event: dict[str, Any]) -> bool:
        body = event.get("content", {}).get("body", "")
        return event.get("sender") == bot_id and text in body

    return check


@dataclass
class Neighbourhood:
    bot: RunningBot
    agent: Person
    coordination: str
    watch: str
    members: list[Person]

    async def bulletin(self, text: str) -> None:
        await self.agent.send(self.coordination, f"!bericht {text}")

    async def everyone_reads(self, text: str, members: list[Person] | None = None) -> None:
        await asyncio.gather(
            *(
                member.wait_for(
                    self.watch, bulletin_copy(self.bot.user_id, text), what=f"decrypted {text}"
                )
                for member in members or self.members
            )
        )


async def neighbourhood(make_user, start_bot, residents: int = 3) -> Neighbourhood:
    agent = await make_user("agent", "Wijkagent Jansen")
    beheerder = await make_user("beheerder", "Bea Beheer")
    bewoners = [await make_user("bewoner") for _ in range(residents - 1)]
    bot, coordination = await police_coordination(beheerder, agent, start_bot)
    watch = await room_with_bot(beheerder, bot.user_id, bewoners, name=unique("Wijk"))
    return Neighbourhood(bot, agent, coordination, watch, [beheerder, *bewoners])


async def test_keys_go_out_before_the_first_bulletin_and_follow_joins_and_leaves(
    make_user, start_bot
) -> None:
    place = await neighbourhood(make_user, start_bot, residents=3)
    # Before anything is sent in the room, every member already holds the bot's session.
    first = await held_by_all(place.bot, place.watch, place.members)
    history = await place.members[0].raw_history(place.watch)
    assert not [e for e in history if e["sender"] == place.bot.user_id and "state_key" not in e]

    await place.bulletin("Inbraak Kerkstraat")
    await place.everyone_reads("Inbraak Kerkstraat")
    assert outbound_session(place.bot, place.watch) == first, "the bulletin used that session"

    # A resident who joins afterwards gets a (new) session ahead of the next bulletin.
    late = await make_user("laat")
    await place.members[0].session.invite(place.watch, late.user_id)
    await late.join(place.watch)

    second = await held_by_all(place.bot, place.watch, [*place.members, late], not_in=(first,))
    await place.bulletin("Verdachte auto Dorpsweg")
    await place.everyone_reads("Verdachte auto Dorpsweg", [*place.members, late])

    # A resident who leaves gets no key for the session the next bulletin uses.
    leaver = place.members[-1]
    path = f"/_matrix/client/v3/rooms/{quote(place.watch)}/leave"
    await leaver.session.request("POST", path, {})

    stayed = [*place.members[:-1], late]
    third = await held_by_all(place.bot, place.watch, stayed, not_in=(second,))
    await place.bulletin("Actie beëindigd")
    await place.everyone_reads("Actie beëindigd", stayed)
    assert outbound_session(place.bot, place.watch) == third
    # Barrier: the remaining members got the key and the bulletin, so it has gone out.
    assert not holds(leaver, place.bot, place.watch, third), "a member who left got the next key"


async def restart(place: Neighbourhood, start_bot, while_down: Any = None) -> RunningBot:
    """Stop the bot, let ``while_down`` happen (a coroutine), start it again."""
    await place.bot.stop()
    if while_down is not None:
        await while_down
    place.bot = await start_bot(
        features=only_bulletins,
        coordination_room=place.coordination,
        police_users=[place.agent.user_id],
    )
    return place.bot


def shares_in(bot: RunningBot, room_id: str) -> list[ShareSummary]:
    assert bot.bot.services is not None
    return [s for s in bot.bot.services.client.keys.summaries if s.room_id == room_id]


async def test_after_a_restart_everyone_still_decrypts(make_user, start_bot) -> None:
    place = await neighbourhood(make_user, start_bot, residents=3)
    before = await held_by_all(place.bot, place.watch, place.members)
    await place.bulletin("Voor de herstart")
    await place.everyone_reads("Voor de herstart")
    assert place.bot.bot.services is not None
    made = sum(s.new_olm_sessions for s in place.bot.bot.services.client.keys.summaries)
    assert made >= len(place.members), "an Olm session per member device was made"

    # The megolm session of the last run comes back: nothing to share before the bulletin.
    bot = await restart(place, start_bot)
    assert outbound_session(bot, place.watch) == before, "the stored session was restored"
    await place.bulletin("Na de herstart")
    await place.everyone_reads("Na de herstart")
    assert outbound_session(bot, place.watch) == before
    assert shares_in(bot, place.watch) == [], "no share was needed after the restart"

    # A member who leaves while the bot is down: the stored session is not used again.
    leaver = place.members[-1]
    leave = leaver.session.request("POST", f"/_matrix/client/v3/rooms/{quote(place.watch)}/leave")
    bot = await restart(place, start_bot, while_down=leave)
    stayed = place.members[:-1]
    after = await held_by_all(bot, place.watch, stayed, not_in=(before,))
    await place.bulletin("Na het vertrek")
    await place.everyone_reads("Na het vertrek", stayed)
    assert [s.new_olm_sessions for s in shares_in(bot, place.watch)] == [0], "Olm sessions kept"
    assert not holds(leaver, bot, place.watch, after), "a member who left got the new key"


async def add_device(homeserver: Any, person: Person, one_time: int = 0) -> str:
    """Another device of ``person`` with real identity keys and ``one_time`` one-time keys.

    With none it is like a phone that has been offline for months: the bot cannot start an
    Olm session with it."""
    account = person.account
    login = await person.session.request(
        "POST",
        "/_matrix/client/v3/login",
        {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": account.user_id},
            "password": account.password,
        },
    )
    device_id, token = str(login["device_id"]), login["access_token"]
    olm = vodozemac.Account()
    body: dict[str, Any] = {"device_keys": device_keys(olm, account.user_id, device_id)}
    if one_time:
        body["one_time_keys"] = one_time_keys(olm, account.user_id, device_id, one_time)
    phone = UserSession(homeserver.url, account.user_id, token)
    await phone.request("POST", "/_matrix/client/v3/keys/upload", body)
    return device_id


async def test_blocked_and_keyless_devices_are_skipped_not_retried(
    homeserver, make_user, start_bot
) -> None:
    place = await neighbourhood(make_user, start_bot, residents=3)
    reader, with_old_phone, blocked = place.members
    before = await held_by_all(place.bot, place.watch, place.members)
    assert place.bot.bot.services is not None
    client = place.bot.bot.services.client
    sharing = client.keys

    old_phone = await add_device(homeserver, with_old_phone)
    unreachable = (with_old_phone.user_id, old_phone)

    async def skipped_once() -> bool:
        return any(s.unreachable for s in shares_in(place.bot, place.watch))

    await eventually(skipped_once, "a share that found the keyless device unreachable")
    claimed_at = sharing._unreachable[unreachable]

    # The beheerder's operator blocks a device: the next session is not shared with it.
    assert client.nio.olm is not None
    device = client.nio.olm.device_store[blocked.user_id][blocked.client.device_id]
    client.nio.blacklist_device(device)
    excluded = await held_by_all(place.bot, place.watch, [reader, with_old_phone], not_in=(before,))
    await place.bulletin("Na de blokkade")
    await place.everyone_reads("Na de blokkade", [reader, with_old_phone])

    def encrypted_copy(event: dict[str, Any]) -> bool:
        content = event.get("content", {})
        return event.get("sender") == place.bot.user_id and content.get("session_id") == excluded

    await blocked.wait_for(place.watch, encrypted_copy, what="the encrypted bulletin")
    assert not blocked.received(place.watch, bulletin_copy(place.bot.user_id, "Na de blokkade"))
    assert not holds(blocked, place.bot, place.watch, excluded)
    # That rotation did not claim the keyless device again.
    assert sharing._unreachable[unreachable] == claimed_at
    assert shares_in(place.bot, place.watch)[-1].unreachable == 1


def shared_with(bot: RunningBot, room_id: str) -> set[tuple[str, str]]:
    """The devices the bot's current session of the room was shared with."""
    session = current_session(bot, room_id)
    return set(session.users_shared_with) if session is not None else set()


async def test_a_deleted_device_gets_no_next_key_and_is_not_claimed_again(
    homeserver, make_user, start_bot
) -> None:
    place = await neighbourhood(make_user, start_bot, residents=2)
    owner = place.members[1]
    tablet = await add_device(homeserver, owner, one_time=3)
    gone = (owner.user_id, tablet)

    async def tablet_has_the_key() -> bool:
        return gone in shared_with(place.bot, place.watch)

    await eventually(tablet_has_the_key, "the bot to share its session with the new tablet")
    before = outbound_session(place.bot, place.watch)
    olm_sessions = sum(s.new_olm_sessions for s in shares_in(place.bot, place.watch))

    # The resident removes the tablet from their account (Element: Sessions > Sign out).
    await owner.session.request(
        "POST",
        "/_matrix/client/v3/delete_devices",
        {
            "devices": [tablet],
            "auth": {
                "type": "m.login.password",
                "identifier": {"type": "m.id.user", "user": owner.user_id},
                "password": owner.account.password,
            },
        },
    )
    after = await held_by_all(place.bot, place.watch, place.members, not_in=(before,))
    assert gone not in shared_with(place.bot, place.watch), "a deleted device got the next key"
    await place.bulletin("Na het afmelden van de tablet")
    await place.everyone_reads("Na het afmelden van de tablet")
    assert outbound_session(place.bot, place.watch) == after
    # The bot knows the device is gone: it made no Olm session for it again, and no share
    # since counts it as a device it could not reach (that would mean claims every time).
    assert place.bot.bot.services is not None
    device = place.bot.bot.services.client.nio.olm.device_store[owner.user_id][tablet]
    assert device.deleted
    later = shares_in(place.bot, place.watch)
    assert sum(s.new_olm_sessions for s in later) == olm_sessions
    assert all(s.unreachable == 0 for s in later)


async def use_up(bot: RunningBot, room_id: str, until_left: int) -> str:
    """Have the bot send notices into the room, as a busy room would, until only
    ``until_left`` message indices of its session are left; returns the last body."""
    assert bot.bot.services is not None
    client = bot.bot.services.client
    session = current_session(bot, room_id)
    body = ""
    while session.max_messages - session.message_count > until_left:
        body = unique("Drukte")
        await client.send(room_id, {"msgtype": "m.notice", "body": body}, unique("txn"))
        assert current_session(bot, room_id) is session, "the session changed before its time"
    return body


async def test_a_nearly_spent_session_is_replaced_in_the_background(make_user, start_bot) -> None:
    place = await neighbourhood(make_user, start_bot, residents=3)
    first = await held_by_all(place.bot, place.watch, place.members)
    shares_before = len(shares_in(place.bot, place.watch))

    # The message that leaves only the rotate-ahead margin goes out with the old session at
    # once; its successor is shared in the background and everyone holds it before it is used.
    last = await use_up(place.bot, place.watch, ROTATE_AHEAD_MESSAGES)
    await place.everyone_reads(last)
    second = await held_by_all(place.bot, place.watch, place.members, not_in=(first,))
    later = shares_in(place.bot, place.watch)[shares_before:]
    assert later and all(s.background and s.ahead for s in later), "a send waited for a share"
    await place.bulletin("Na de wissel")
    await place.everyone_reads("Na de wissel")
    assert outbound_session(place.bot, place.watch) == second

    # A clean restart skips no message index: the session goes on where it was, and the
    # bulletin that brings it to the margin is sent at once while its successor goes out.
    await use_up(place.bot, place.watch, ROTATE_AHEAD_MESSAGES + 1)
    used = current_session(place.bot, place.watch).message_count
    bot = await restart(place, start_bot)
    assert outbound_session(bot, place.watch) == second, "the stored session was dropped"
    assert current_session(bot, place.watch).message_count == used, "indices were skipped"
    await place.bulletin("Na de herstart")
    await place.everyone_reads("Na de herstart")
    third = await held_by_all(bot, place.watch, place.members, not_in=(second,))
    assert shares_in(bot, place.watch), "no successor was shared"
    assert all(s.background and s.ahead for s in shares_in(bot, place.watch))
    await place.bulletin("Met de nieuwe sleutel")
    await place.everyone_reads("Met de nieuwe sleutel")
    assert outbound_session(bot, place.watch) == third
