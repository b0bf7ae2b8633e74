"""A live report that says 112 was called stays urgent: no SAAR reminder, but the
coordination room is alerted (issue 11), in encrypted rooms on real Synapse."""

from __future__ import annotations

import pytest

from bot.domain.classifier import classify
from tests.integration.conftest import from_sender, neighbourhood, replies_to
from tests.integration.test_incidents import content, mentions_link, thread_reply_to


@pytest.mark.parametrize(
    "text",
    [
        # "112 gebeld" with a live break-in; no "nu" anywhere
        "Er wordt ingebroken bij de garage van nummer 7 aan de Lijsterbeslaan, 112 gebeld",
        # the act in the present tense, and the police on its way
        "Een man bedreigt de buschauffeur met een mes bij halte Centrum, politie is onderweg",
    ],
)
async def test_police_called_report_is_alerted_without_reminder(make_user, start_bot, text) -> None:
    verdict = classify(text)
    assert verdict.urgent and verdict.police_called, verdict
    bot, beheerder, bewoner, coordination, watch = await neighbourhood(make_user, start_bot)

    report = await bewoner.send(watch, text)

    alert = await beheerder.wait_for(coordination, mentions_link(watch, report), what="alert")
    assert "🚨" in content(alert)["body"]
    record = await bot.bot.services.store.incidents.get(report)
    assert record is not None and record.urgent
    assert record.alert_event_id == alert["event_id"] and record.reminder_event_id is None
    # Barrier: the bot handles a room's events in order, so once it has answered a later
    # !ping, a reminder for the report would already have been sent.
    ping = await bewoner.send(watch, "!ping")
    pong = replies_to(ping)
    await bewoner.wait_for(watch, lambda e: from_sender(bot.user_id)(e) and pong(e), what="pong")
    assert not bewoner.received(watch, thread_reply_to(report, bot.user_id)), "no SAAR reminder"
