"""Malformed events straight from the wire, on a real Synapse: skipped safely, logged once.

Any client (or a script with an access token) can put whatever JSON it likes into an
``m.room.message``. Synapse stores it as sent, so the bot sees a missing body, a number where
a string belongs, an edit of somebody else's report, or a reply to an event in another room.
None of that may crash a handler, stall the room's worker, alter another person's report, or
make the bot answer; and the operator's log gets one line per skipped event, not a traceback.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

import pytest

from tests.integration.conftest import Person, RunningBot, barrier, room_with_bot, unique

EDIT = "m.replace"
# Content that is not a text message the bot can read, whatever a client meant by it.
MALFORMED: dict[str, dict[str, Any]] = {
    "missing body": {"msgtype": "m.text"},
    "int body": {"msgtype": "m.text", "body": 12345},
    "list body": {"msgtype": "m.text", "body": ["!ping"]},
    "dict body": {"msgtype": "m.text", "body": {"text": "!ping"}},
    "null body": {"msgtype": "m.text", "body": None},
    "missing msgtype": {"body": "!ping"},
    "empty content": {},
    "unknown msgtype": {"msgtype": "org.example.unknown", "body": "!ping"},
    "image without url": {"msgtype": "m.image", "body": "foto.jpg"},
}
# Of those, the ones of a kind the bot reads (text, and photos since captions count): a failure
# to read them is worth exactly one log line. An unknown msgtype is simply not handled, like any
# event the bot does not read, and gets no line at all.
OF_A_KIND_READ = {"missing body", "int body", "list body", "dict body", "null body",
                 "missing msgtype", "empty content", "image without url"}  # fmt: skip
SKIPPED_LINE = "skipped malformed message {event_id} in {room_id}"
# Odd but readable messages: the garbage around them must not stop the command inside.
RTL_AND_CONTROL = "\u202e\u200d\u2066\x07\x1b[2J\x00\u200b\ufeff\u2028\x85"
ODD_COMMANDS: dict[str, dict[str, Any]] = {
    "relates_to string": {"m.relates_to": "m.replace"},
    "relates_to list": {"m.relates_to": [{"rel_type": EDIT, "event_id": 5}]},
    "relates_to nonsense": {
        "m.relates_to": {"rel_type": {"x": []}, "m.in_reply_to": [1, {"event_id": None}]}
    },
    "mentions nonsense": {"m.mentions": {"user_ids": "@everyone", "room": "yes"}},
    "control characters": {
        "body": f"!ping {RTL_AND_CONTROL * 20}",
        "format": "org.matrix.custom.html",
        "formatted_body": f"<b>!ping</b> {RTL_AND_CONTROL * 20}<i><u><s>",
    },
}


def _relation(event: dict[str, Any]) -> dict[str, Any]:
    relates = event.get("content", {}).get("m.relates_to", {})
    return relates if isinstance(relates, dict) else {}


def about(event_ids: set[str], sender: str):
    """Events from ``sender`` that answer, react to or thread under any of ``event_ids``."""

    def check(event: dict[str, Any]) -> bool:
        relates = _relation(event)
        reply = relates.get("m.in_reply_to", {})
        return event.get("sender") == sender and (
            relates.get("event_id") in event_ids
            or (isinstance(reply, dict) and reply.get("event_id") in event_ids)
        )

    return check


async def plain_room_with_bot(owner: Person, bot_user_id: str, members: list[Person]) -> str:
    """An unencrypted room, so the raw JSON reaches the bot as sent (and may be near 64 KiB).

    The test homeserver encrypts private rooms by default, so this one uses the public preset.
    """
    body = {
        "preset": "public_chat",
        "name": unique("Noord"),
        "invite": [bot_user_id, *(m.user_id for m in members)],
        "power_level_content_override": {"users": {bot_user_id: 100}},
    }
    room_id = str(
        (await owner.session.request("POST", "/_matrix/client/v3/createRoom", body))["room_id"]
    )
    await owner.wait_until(lambda: room_id in owner.client.rooms, what="own room")
    for member in members:
        await member.join(room_id)
    await owner.wait_until(
        lambda: bot_user_id in owner.client.rooms[room_id].users, what="bot to join"
    )
    assert not owner.client.rooms[room_id].encrypted
    return room_id


async def watch_rooms(make_user, start_bot) -> tuple[RunningBot, Person, Person, str, str]:
    """A beheerder and a bewoner, with the bot in a plain and an encrypted watch room."""
    bot = await start_bot()
    beheerder: Person = await make_user("beheerder")
    bewoner: Person = await make_user("bewoner")
    plain = await plain_room_with_bot(beheerder, bot.user_id, [bewoner])
    encrypted = await room_with_bot(beheerder, bot.user_id, [bewoner], name=unique("Zuid"))
    return bot, beheerder, bewoner, plain, encrypted


def watch_log(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="bot")


def assert_logged_calmly(
    caplog: pytest.LogCaptureFixture,
    logged: dict[str, str] | None = None,
    unlogged: frozenset[str] | set[str] = frozenset(),
) -> None:
    """No traceback or error for what a client sent; exactly one "skipped" line for each event
    in ``logged`` (event ID -> room ID), and no line at all about those in ``unlogged``."""
    loud = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not loud, [f"{r.levelname} {r.getMessage()}" for r in loud]
    for event_id, room_id in (logged or {}).items():
        lines = [r.getMessage() for r in caplog.records if event_id in r.getMessage()]
        assert lines == [SKIPPED_LINE.format(event_id=event_id, room_id=room_id)], lines
    for event_id in unlogged:
        lines = [r.getMessage() for r in caplog.records if event_id in r.getMessage()]
        assert lines == [], lines


def split_by_logging(sent: dict[str, dict[str, str]], meant_as_text: set[str]):
    """``(logged, unlogged)`` for ``assert_logged_calmly`` from ``{room: {case: event_id}}``."""
    logged = {
        event_id: room
        for room, cases in sent.items()
        for case, event_id in cases.items()
        if case in meant_as_text
    }
    unlogged = {e for cases in sent.values() for c, e in cases.items() if c not in meant_as_text}
    return logged, unlogged


async def send_raw(person: Person, room_id: str, content: dict[str, Any]) -> str | None:
    """Send as is; ``None`` when Synapse itself refuses it (it checks clear-text messages).

    In an encrypted room Synapse sees only ciphertext, so everything reaches the bot: there a
    refusal would mean the test no longer tests anything, hence the assertion.
    """
    response = await person.client.room_send(
        room_id, "m.room.message", content, ignore_unverified_devices=True
    )
    event_id = getattr(response, "event_id", None)
    assert event_id or not person.client.rooms[room_id].encrypted, response
    return event_id


async def send_all(
    person: Person, room_id: str, contents: dict[str, dict[str, Any]]
) -> dict[str, str]:
    """The event ID of each case that Synapse accepted."""
    sent = {name: await send_raw(person, room_id, content) for name, content in contents.items()}
    return {name: event_id for name, event_id in sent.items() if event_id}


async def test_malformed_messages_are_skipped_without_answer_in_plain_and_encrypted_rooms(
    make_user, start_bot, caplog: pytest.LogCaptureFixture
) -> None:
    watch_log(caplog)
    bot, _beheerder, bewoner, plain, encrypted = await watch_rooms(make_user, start_bot)
    sent = {room: await send_all(bewoner, room, MALFORMED) for room in (plain, encrypted)}
    assert set(sent[encrypted]) == set(MALFORMED), "Synapse sees only ciphertext there"
    for room in (plain, encrypted):
        await barrier(bewoner, room, bot.user_id)
        junk = set(sent[room].values())
        assert not bewoner.received(room, about(junk, bot.user_id)), "answered junk"
    logged, unlogged = split_by_logging(sent, OF_A_KIND_READ)
    assert_logged_calmly(caplog, logged, unlogged)
    assert not bot.task.done()


async def test_garbage_around_a_command_does_not_stop_it(
    make_user, start_bot, caplog: pytest.LogCaptureFixture
) -> None:
    """Junk relations, mentions and control characters are ignored; the command still runs."""
    watch_log(caplog)
    bot, _beheerder, bewoner, plain, encrypted = await watch_rooms(make_user, start_bot)
    for room in (plain, encrypted):
        for name, extra in ODD_COMMANDS.items():
            asked = await send_raw(bewoner, room, {"msgtype": "m.text", "body": "!ping", **extra})
            if asked is None:
                continue  # refused by Synapse already
            pong = await bewoner.wait_for(
                room, about({asked}, bot.user_id), what=f"pong for {name}"
            )
            assert "pong" in pong["content"]["body"]
    assert_logged_calmly(caplog)


async def test_huge_formatted_body_is_trimmed_not_fatal(
    make_user, start_bot, caplog: pytest.LogCaptureFixture
) -> None:
    """Synapse caps events at 64 KiB; 60 KiB of nested markup around a command still runs it."""
    watch_log(caplog)
    bot, _beheerder, bewoner, plain, _encrypted = await watch_rooms(make_user, start_bot)
    nested = "<b><i><u><a href='https://matrix.to/#/@x:localhost'>\u202ex\u200d"
    size = 60 * 1024  # bytes of UTF-8, as Synapse counts them
    formatted = (nested * (size // len(nested.encode()))).encode()[:size].decode(errors="ignore")
    asked = await bewoner.send_event(
        plain,
        "m.room.message",
        {"msgtype": "m.text", "body": "!ping", "format": "org.matrix.custom.html",
         "formatted_body": formatted},
    )  # fmt: skip
    await bewoner.wait_for(
        plain, about({asked}, bot.user_id), what="pong for a 60 KiB formatted body"
    )
    await barrier(bewoner, plain, bot.user_id)
    assert_logged_calmly(caplog)


async def test_msgtype_of_the_wrong_type_is_skipped_without_a_traceback(
    make_user, start_bot, caplog: pytest.LogCaptureFixture
) -> None:
    """A list or object as ``msgtype`` is just another malformed event, not a handler failure."""
    watch_log(caplog)
    bot, _beheerder, bewoner, plain, encrypted = await watch_rooms(make_user, start_bot)
    odd = {
        "list msgtype": {"msgtype": ["m.text"], "body": "!ping"},
        "dict msgtype": {"msgtype": {"m.text": True}, "body": "!ping"},
    }
    sent = {room: await send_all(bewoner, room, odd) for room in (plain, encrypted)}
    assert set(sent[encrypted]) == set(odd)
    for room in (plain, encrypted):
        await barrier(bewoner, room, bot.user_id)
        assert not bewoner.received(room, about(set(sent[room].values()), bot.user_id))
    # A msgtype that is no string names no text type: not handled, like an unknown msgtype.
    logged, unlogged = split_by_logging(sent, set())
    assert_logged_calmly(caplog, logged, unlogged)


async def test_edit_of_another_residents_report_changes_nothing(
    make_user, start_bot, caplog: pytest.LogCaptureFixture
) -> None:
    """Only the author may edit a report; an ``m.replace`` by anyone else is ignored."""
    watch_log(caplog)
    bot, beheerder, bewoner, plain, encrypted = await watch_rooms(make_user, start_bot)
    store = bot.bot.services.store.incidents
    for room in (plain, encrypted):
        report = await beheerder.send(room, "Vannacht ingebroken in de schuur, fietsen weg")
        await beheerder.wait_for(
            room, lambda e, r=report: about({r}, bot.user_id)(e), what="👀 on the report"
        )
        before = await store.get(report)
        assert before is not None and before.category == "burglary"
        edits = {
            "other text": {"msgtype": "m.text", "body": "Te koop: fiets, 50 euro"},
            "other report": {"msgtype": "m.text", "body": "NU overval bij de Jumbo!"},
            "string new_content": "!verwijder " + beheerder.user_id,
            "no new_content": None,
        }
        for new_content in edits.values():
            content: dict[str, Any] = {
                "msgtype": "m.text",
                "body": "* hallo",
                "m.relates_to": {"rel_type": EDIT, "event_id": report},
            }
            if new_content is not None:
                content["m.new_content"] = new_content
            await bewoner.send_event(room, "m.room.message", content)
        await barrier(bewoner, room, bot.user_id)
        assert await store.get(report) == before, "someone else's edit changed the report"
    assert beheerder.user_id in await beheerder.session.joined_members(plain)
    assert_logged_calmly(caplog)


async def test_reply_to_an_event_in_another_room_reaches_nothing_there(
    make_user, start_bot, caplog: pytest.LogCaptureFixture
) -> None:
    """A moderator of one room cannot have the bot remove a message in a room they don't run."""
    watch_log(caplog)
    bot, beheerder, bewoner, plain, _encrypted = await watch_rooms(make_user, start_bot)
    other_beheerder: Person = await make_user("beheerder")
    other_room = await room_with_bot(other_beheerder, bot.user_id, [], name=unique("Elders"))
    # A beheerder's announcement: neither a report (no 👀) nor chat the rules would remind of.
    elsewhere = await other_beheerder.send(other_room, "Bijeenkomst dinsdag om 20 uur")
    reply = {"m.relates_to": {"m.in_reply_to": {"event_id": elsewhere}}}

    resident_reply = await bewoner.send(plain, "Die zag ik ook!", **reply)  # chat: reminded
    asked = await beheerder.send(
        plain, f"> <{other_beheerder.user_id}> Bijeenkomst\n\n!wis", **reply
    )
    answer = await beheerder.wait_for(plain, about({asked}, bot.user_id), what="answer to !wis")
    assert "kan ik niet vinden" in answer["content"]["body"]
    await barrier(bewoner, plain, bot.user_id)

    path = f"/_matrix/client/v3/rooms/{quote(other_room)}/event/{quote(elsewhere)}"
    original = await other_beheerder.session.request("GET", path)
    assert original["content"], "the message in the other room was redacted"
    assert "redacted_because" not in original.get("unsigned", {})
    assert not other_beheerder.received(other_room, about({elsewhere}, bot.user_id))
    assert_logged_calmly(caplog, unlogged={resident_reply})
