"""Incident detection as residents and beheerders see it, in encrypted rooms on real Synapse."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.integration.conftest import barrier, eventually, from_sender, neighbourhood


def content(event: dict[str, Any]) -> dict[str, Any]:
    return event.get("content", {})


def reaction_to(event_id: str, bot: str):
    def check(event: dict[str, Any]) -> bool:
        relates = content(event).get("m.relates_to", {})
        return (
            event.get("sender") == bot
            and event.get("type") == "m.reaction"
            and relates.get("event_id") == event_id
        )

    return check


def thread_reply_to(event_id: str, bot: str):
    def check(event: dict[str, Any]) -> bool:
        relates = content(event).get("m.relates_to", {})
        return (
            event.get("sender") == bot
            and relates.get("rel_type") == "m.thread"
            and relates.get("event_id") == event_id
        )

    return check


def mentions_link(room_id: str, event_id: str):
    link = f"https://matrix.to/#/{room_id}/{event_id}"
    return lambda event: link in content(event).get("formatted_body", "")


async def test_report_is_acknowledged_quietly_and_stored(make_user, start_bot) -> None:
    bot, beheerder, bewoner, coordination, watch = await neighbourhood(make_user, start_bot)
    report = await bewoner.send(
        watch, "Vannacht ingebroken in de schuur aan de Dorpsstraat, fietsen weg"
    )
    await beheerder.wait_for(watch, reaction_to(report, bot.user_id), what="👀 reaction")
    record = await bot.bot.services.store.incidents.get(report)
    assert record is not None and record.category == "burglary" and not record.urgent
    assert record.sender == bewoner.user_id and len(record.excerpt) <= 160
    await barrier(beheerder, watch, bot.user_id)
    assert not beheerder.received(watch, thread_reply_to(report, bot.user_id)), "not live"
    assert not beheerder.received(coordination, mentions_link(watch, report))


async def test_urgent_report_gets_saar_reminder_and_coordination_alert(
    make_user, start_bot
) -> None:
    bot, beheerder, bewoner, coordination, watch = await neighbourhood(make_user, start_bot)
    report = await bewoner.send(
        watch, "Er wordt NU ingebroken bij nummer 12 aan de Kerkstraat! Witte bus kenteken vnl38p"
    )
    reminder = await bewoner.wait_for(watch, thread_reply_to(report, bot.user_id), what="SAAR")
    assert "112" in content(reminder)["body"]
    assert bewoner.user_id in content(reminder)["m.mentions"]["user_ids"]
    alert = await beheerder.wait_for(coordination, mentions_link(watch, report), what="alert")
    assert "VNL-38-P" in content(alert)["body"]
    assert "Inbraak" in content(alert)["body"]
    record = await bot.bot.services.store.incidents.get(report)
    assert record is not None and record.urgent and record.plates == ("VNL-38-P",)
    assert record.alert_event_id == alert["event_id"]


async def test_no_reminder_when_112_was_called(make_user, start_bot) -> None:
    bot, beheerder, bewoner, coordination, watch = await neighbourhood(make_user, start_bot)
    report = await bewoner.send(
        watch, "Er klimt NU iemand over de schutting bij de Merelstraat 9, 112 is gebeld"
    )
    await beheerder.wait_for(coordination, mentions_link(watch, report), what="alert")
    await barrier(bewoner, watch, bot.user_id)
    assert not bewoner.received(watch, thread_reply_to(report, bot.user_id))


async def test_belgian_room_number(make_user, start_bot) -> None:
    bot, beheerder, bewoner, _coordination, watch = await neighbourhood(make_user, start_bot)
    await beheerder.send(watch, "!nummer 101")
    await beheerder.wait_for(
        watch, lambda e: from_sender(bot.user_id)(e) and "101" in content(e).get("body", "")
    )
    report = await bewoner.send(watch, "Gevecht op straat nu, ze slaan op iemand in aan de Markt!")
    reminder = await bewoner.wait_for(watch, thread_reply_to(report, bot.user_id), what="SAAR")
    assert "101" in content(reminder)["body"] and "112" not in content(reminder)["body"]


async def test_backlog_report_is_logged_without_reminder(make_user, start_bot) -> None:
    bot, beheerder, bewoner, coordination, watch = await neighbourhood(
        make_user, start_bot, incidents={"stale_after_seconds": 2}
    )
    await bot.stop()
    report = await bewoner.send(watch, "Er wordt NU ingebroken bij de buren op nummer 3!")
    # Older than stale_after_seconds when the bot sees it; a slower machine only adds age.
    await asyncio.sleep(3)
    bot = await start_bot(coordination_room=coordination, incidents={"stale_after_seconds": 2})
    await beheerder.wait_for(watch, reaction_to(report, bot.user_id), what="ack of backlog")
    assert (await bot.bot.services.store.incidents.get(report)) is not None
    await barrier(bewoner, watch, bot.user_id)
    assert not bewoner.received(watch, thread_reply_to(report, bot.user_id))
    assert not beheerder.received(coordination, mentions_link(watch, report))


async def test_edit_reclassifies_and_redaction_removes(make_user, start_bot) -> None:
    bot, beheerder, bewoner, _coordination, watch = await neighbourhood(make_user, start_bot)
    store = bot.bot.services.store.incidents
    first = await bewoner.send(watch, "Zijn er nog mensen wakker?")
    await bewoner.send(
        watch,
        "* Mijn fiets is vanochtend gestolen bij het station",
        **{
            "m.new_content": {
                "msgtype": "m.text",
                "body": "Mijn fiets is vanochtend gestolen bij het station",
            },
            "m.relates_to": {"rel_type": "m.replace", "event_id": first},
        },
    )
    await beheerder.wait_for(watch, reaction_to(first, bot.user_id), what="ack after edit")
    record = await store.get(first)
    assert record is not None and record.category == "theft"

    # Someone else "editing" the report is ignored: it stays a theft report.
    await beheerder.send(
        watch,
        "* Hallo allemaal",
        **{
            "m.new_content": {"msgtype": "m.text", "body": "Hallo allemaal"},
            "m.relates_to": {"rel_type": "m.replace", "event_id": first},
        },
    )
    await barrier(beheerder, watch, bot.user_id)
    record = await store.get(first)
    assert record is not None and record.category == "theft", record
    assert record.excerpt.startswith("Mijn fiets"), "another person's edit must not be stored"
    await bewoner.client.room_redact(watch, first, "per ongeluk")

    async def erased() -> bool:
        return await store.get(first) is None

    await eventually(erased, "a redacted report must be erased", wait_s=10)
