"""Conduct rules and moderator tools on a real Synapse: what residents and beheerders notice."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path
from typing import Any

from nio import RoomSendError

from bot.resources import config_dir
from tests.integration.conftest import (
    Person,
    RunningBot,
    barrier,
    eventually,
    from_sender,
    replies_to,
    room_with_bot,
)


def body(event: dict[str, Any]) -> str:
    return str(event.get("content", {}).get("body", ""))


def in_thread_of(event_id: str, sender: str):
    def check(event: dict[str, Any]) -> bool:
        relates = event.get("content", {}).get("m.relates_to", {})
        return (
            event.get("sender") == sender
            and relates.get("rel_type") == "m.thread"
            and relates.get("event_id") == event_id
        )

    return check


def house_rules(tmp_path: Path, mute: str = "24h", flood: tuple[int, str] = (6, "60s")) -> Path:
    """The shipped house rules with a shorter mute or a tighter flood limit for the test."""
    text = (config_dir() / "house_rules.toml").read_text()
    text = text.replace(
        'action = "mute", duration = "24h"', f'action = "mute", duration = "{mute}"'
    )
    text = text.replace("max_messages = 6", f"max_messages = {flood[0]}")
    text = text.replace('window = "60s"', f'window = "{flood[1]}"')
    path = tmp_path / "house_rules.toml"
    path.write_text(text)
    return path


async def watch_room(make_user, start_bot, **settings: Any):
    bot = await start_bot(**settings)
    beheerder: Person = await make_user("beheerder", display_name="Bea Beheer")
    bewoner: Person = await make_user("bewoner", display_name="Bram Bewoner")
    room_id = await room_with_bot(beheerder, bot.user_id, [bewoner])
    return bot, beheerder, bewoner, room_id


async def can_post(person: Person, room_id: str) -> bool:
    response = await person.client.room_send(
        room_id, "m.room.message", {"msgtype": "m.text", "body": "test"},
        ignore_unverified_devices=True,
    )  # fmt: skip
    return not isinstance(response, RoomSendError)


async def wait_until_can_post(person: Person, room_id: str, wait_s: float = 30.0) -> None:
    await eventually(
        lambda: can_post(person, room_id), "the mute was not lifted on time", wait_s, 0.2
    )


async def stored_mute_end(bot: RunningBot, room_id: str, user_id: str) -> int:
    mute = await bot.bot.services.store.conduct.mute(room_id, user_id)
    assert mute is not None, "no mute stored"
    return mute.until_ms


def now_ms() -> int:
    return int(time.time() * 1000)


async def test_off_topic_gets_thread_reminder_and_strike(make_user, start_bot) -> None:
    bot, _beheerder, bewoner, room_id = await watch_room(make_user, start_bot)
    sale = await bewoner.send(room_id, "Te koop: winterbanden voor een Polo, 80 euro")
    reminder = await bewoner.wait_for(room_id, in_thread_of(sale, bot.user_id), what="reminder")
    assert "reclame" in body(reminder).lower()
    assert bewoner.user_id in reminder["content"]["m.mentions"]["user_ids"]
    strikes = await bot.bot.services.store.conduct.strikes(room_id, bewoner.user_id)
    assert [s.event_id for s in strikes] == [sale]
    # A thread under a report is where discussion belongs: no reminder there.
    report = await bewoner.send(room_id, "Verdachte man kijkt bij auto's naar binnen, Kerkstraat")
    chat = await bewoner.send(
        room_id, "Weet iemand een goede loodgieter?",
        **{"m.relates_to": {"rel_type": "m.thread", "event_id": report}},
    )  # fmt: skip
    await barrier(bewoner, room_id, bot.user_id)
    assert not bewoner.received(room_id, replies_to(chat))
    assert not bewoner.received(room_id, in_thread_of(chat, bot.user_id))


async def test_third_strike_mutes_until_time_is_up(make_user, start_bot, tmp_path) -> None:
    # An hour, so "still muted" can be checked on however slow a machine; the end of a mute is
    # then brought forward by a beheerder, the way the timer must honour it while running.
    bot, beheerder, bewoner, room_id = await watch_room(
        make_user, start_bot, house_rules_file=house_rules(tmp_path, mute="1h")
    )
    before = now_ms()
    for text in (
        "Te koop: kinderfiets",
        "Gratis af te halen: bankstel",
        "Wie wil mijn oude tv kopen",
    ):
        sent = await bewoner.send(room_id, text)
        await bewoner.wait_for(room_id, in_thread_of(sent, bot.user_id), what="reminder")
    await bewoner.wait_for(
        room_id, lambda e: from_sender(bot.user_id)(e) and "🔇" in body(e), what="mute notice"
    )
    until = await stored_mute_end(bot, room_id, bewoner.user_id)
    assert before + 3600_000 <= until <= now_ms() + 3600_000, "muted for the rule's hour"
    assert not await can_post(bewoner, room_id), "a muted resident must be refused by Synapse"

    shorter = await beheerder.send(room_id, f"!demp {bewoner.user_id} 2s")
    await beheerder.wait_for(room_id, replies_to(shorter), what="shorter mute confirmed")
    until = await stored_mute_end(bot, room_id, bewoner.user_id)
    await wait_until_can_post(bewoner, room_id)
    assert now_ms() >= until, "lifted before its time was up"
    assert await bot.bot.services.store.conduct.mute(room_id, bewoner.user_id) is None


async def test_mute_command_survives_restart(make_user, start_bot) -> None:
    bot, beheerder, bewoner, room_id = await watch_room(make_user, start_bot)
    asked = await beheerder.send(room_id, f"!demp {bewoner.user_id} 1h spam")
    await beheerder.wait_for(room_id, replies_to(asked), what="mute confirmation")
    assert not await can_post(bewoner, room_id)
    await bot.stop()
    bot = await start_bot()
    await barrier(beheerder, room_id, bot.user_id)
    assert not await can_post(bewoner, room_id), "still muted after the restart"

    # The hour runs out while the bot is down (the test moves the stored end, not the clock):
    # the restarted bot lifts the mute by itself.
    await bot.stop()
    with sqlite3.connect(bot.settings.database_path) as db:
        changed = db.execute("UPDATE mutes SET until_ms = ?", (now_ms() - 1000,)).rowcount
    assert changed == 1
    bot = await start_bot()
    await wait_until_can_post(bewoner, room_id)
    assert await bot.bot.services.store.conduct.mute(room_id, bewoner.user_id) is None


async def test_moderator_kicks_and_resident_is_refused(make_user, start_bot) -> None:
    bot, beheerder, bewoner, room_id = await watch_room(make_user, start_bot)
    refused = await bewoner.send(room_id, f"!verwijder {beheerder.user_id}")
    answer = await bewoner.wait_for(room_id, replies_to(refused), what="refusal")
    assert "alleen voor beheerders" in body(answer)
    assert beheerder.user_id in await beheerder.session.joined_members(room_id)

    kick = await beheerder.send(room_id, "!verwijder Bram Bewoner blijft chatten")
    await beheerder.wait_for(room_id, replies_to(kick), what="kick confirmation")
    assert bewoner.user_id not in await beheerder.session.joined_members(room_id)
    audit = await bot.bot.services.store.audit.recent(room_id=room_id)
    assert any(a.action == "kick" and a.target == bewoner.user_id for a in audit)


async def test_bad_arguments_get_clear_answers(make_user, start_bot) -> None:
    bot, beheerder, bewoner, room_id = await watch_room(make_user, start_bot)
    cases = {
        f"!demp {bewoner.user_id} -5m": "negatieve",
        f"!demp {bewoner.user_id} 10 jaar": "te lang",
        "!demp @niemand:localhost": "zit niet",
        "!demp geen_id:": "vind niemand",
        f"!verwijder {bot.user_id}": "mezelf",
        "!wis": "antwoord",
    }
    for command, expected in cases.items():
        asked = await beheerder.send(room_id, command)
        answer = await beheerder.wait_for(room_id, replies_to(asked), what=command)
        assert expected in body(answer), (command, body(answer))
    assert await can_post(bewoner, room_id)


async def test_backlog_is_not_a_flood_but_a_live_burst_is(make_user, start_bot, tmp_path) -> None:
    rules = house_rules(tmp_path, flood=(2, "3s"))
    bot, beheerder, bewoner, room_id = await watch_room(
        make_user, start_bot, house_rules_file=rules
    )
    await bot.stop()
    spaced = []
    for n in range(4):  # 2 s apart: never 3 in 3 s (a slow machine only spaces them more)
        spaced.append(await bewoner.send(room_id, f"Update {n}: de man loopt richting de kerk"))
        await asyncio.sleep(2)
    bot = await start_bot(house_rules_file=rules)
    await barrier(beheerder, room_id, bot.user_id)  # the backlog has been handled
    for event_id in spaced:
        assert not bewoner.received(room_id, in_thread_of(event_id, bot.user_id)), "backlog flood"

    # A live burst: send until three messages landed within 3 s by the server's own clock
    # (what the bot judges by), however long each send takes here.
    burst: list[str] = []
    stamps: list[int] = []
    while len(stamps) < 3 or stamps[-1] - stamps[-3] > 3000:
        assert len(burst) < 20, f"could not send 3 messages within 3 s: {stamps}"
        burst.append(await bewoner.send(room_id, f"Snel bericht {len(burst)}"))
        echo = await bewoner.wait_for(room_id, lambda e: e.get("event_id") == burst[-1])
        stamps.append(int(echo["origin_server_ts"]))
    await bewoner.wait_for(
        room_id,
        lambda e: any(in_thread_of(b, bot.user_id)(e) for b in burst) and "Kort" in body(e),
        what="flood reminder",
    )


async def test_signalement_guidance_is_private(make_user, start_bot) -> None:
    bot, beheerder, bewoner, room_id = await watch_room(make_user, start_bot)
    await bewoner.send(room_id, "Donkere man loopt hier rond")
    await bewoner.wait_until(lambda: bool(bewoner.client.invited_rooms), what="DM invite")
    dm = next(iter(bewoner.client.invited_rooms))
    await bewoner.join(dm)
    advice = await bewoner.wait_for(
        dm, lambda e: from_sender(bot.user_id)(e) and e["type"] == "m.room.message", what="advice"
    )
    assert "kleding van boven naar beneden" in body(advice)
    assert not beheerder.received(room_id, lambda e: "kleding van boven" in body(e))


async def test_moderator_can_erase_a_persons_data(make_user, start_bot) -> None:
    bot, beheerder, bewoner, room_id = await watch_room(make_user, start_bot)
    store = bot.bot.services.store
    report = await bewoner.send(room_id, "Vannacht is mijn fiets gestolen uit de schuur")
    sale = await bewoner.send(room_id, "Te koop: grasmaaier, 50 euro")
    await bewoner.wait_for(room_id, in_thread_of(sale, bot.user_id), what="reminder")
    assert await store.incidents.get(report) is not None

    asked = await beheerder.send(room_id, f"!vergeet {bewoner.user_id}")
    answer = await beheerder.wait_for(room_id, replies_to(asked), what="erasure")
    assert "gewist" in body(answer)
    anonymised = await store.incidents.get(report)
    assert anonymised is not None and anonymised.sender == "" and anonymised.excerpt == ""
    assert await store.conduct.strikes(room_id, bewoner.user_id) == []
