"""The alarm test on a real Synapse: reach measured from real read receipts, and exactly one
post and one report per test across a restart of the bot."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from tests.integration.conftest import Person, from_sender, neighbourhood
from tests.integration.test_admission import ask, body

TEXT = "🔔 Maandelijkse test van de buurtpreventie — niet reageren"


def is_test_post(bot_id: str):
    return lambda e: from_sender(bot_id)(e) and body(e) == TEXT


def is_report(bot_id: str):
    return lambda e: from_sender(bot_id)(e) and "Uitslag alarmtest" in body(e)


async def read(person: Person, room_id: str, event_id: str) -> None:
    """What a client does when the message is on screen: a public m.read receipt."""
    response = await person.client.update_receipt_marker(room_id, event_id)
    assert getattr(response, "transport_response", None) is not None, response


async def test_two_of_three_members_read_the_test(make_user, start_bot) -> None:
    bot, beheerder, bewoner, coordination, watch = await neighbourhood(
        make_user,
        start_bot,
        alarm_test={"window_hours": 0.01},  # 36 s
    )
    derde = await make_user("derde")
    await beheerder.session.invite(watch, derde.user_id)
    await derde.join(watch)

    answer = await ask(beheerder, coordination, "!alarmtest")
    assert "gestart in 1 buurtgroep" in answer
    post = await bewoner.wait_for(watch, is_test_post(bot.user_id), what="the test post")
    assert post["content"]["msgtype"] == "m.text"  # notices are silent in most clients
    await read(bewoner, watch, post["event_id"])
    # The third member reads on: a receipt on a later message counts for the test too.
    later = await derde.send(watch, "Gezien, dank")
    await read(derde, watch, later)

    report = await beheerder.wait_for(
        coordination, is_report(bot.user_id), wait_s=90, what="the report"
    )
    text = body(report)
    assert "2/3 (67%)" in text and "2 van 3" in text, text
    assert "minstens zo hoog" in text  # private receipts: a lower bound
    assert "2/3 (67%)" in await ask(beheerder, coordination, "!alarmtest uitslag")
    assert "beheerdersgroep" in await ask(bewoner, watch, "!alarmtest")


async def test_a_restart_inside_the_window_gives_one_post_and_one_report(
    make_user, start_bot
) -> None:
    bot, beheerder, bewoner, coordination, watch = await neighbourhood(make_user, start_bot)
    await bot.stop()

    zone = ZoneInfo("Europe/Amsterdam")
    now = datetime.now(tz=zone)
    due = now.replace(second=0, microsecond=0)
    window_s = (now - due).total_seconds() + 40  # the report comes ~40 s from now
    schedule: dict[str, Any] = {
        "enabled": True,
        "day_of_month": now.day,
        "time": now.strftime("%H:%M"),
        "window_hours": window_s / 3600,
    }
    bot = await start_bot(coordination_room=coordination, alarm_test=schedule)
    post = await bewoner.wait_for(watch, is_test_post(bot.user_id), what="the monthly post")
    await bot.stop()
    # Read while the bot is down: the receipt reaches it in the catch-up sync.
    await read(bewoner, watch, post["event_id"])
    started = time.monotonic()
    bot = await start_bot(coordination_room=coordination, alarm_test=schedule)

    report = await beheerder.wait_for(
        coordination, is_report(bot.user_id), wait_s=90, what="the report"
    )
    assert "1/2 (50%)" in body(report), body(report)
    assert time.monotonic() - started < 90
    # Barrier: the bot answers later commands in both rooms, so nothing else is on its way.
    await ask(beheerder, coordination, "!ping")
    await ask(bewoner, watch, "!ping")
    assert len(bewoner.received(watch, is_test_post(bot.user_id))) == 1
    assert len(beheerder.received(coordination, is_report(bot.user_id))) == 1
    tests = await bot.bot.services.store.alarm_tests.unfinished()
    assert tests == []
