"""Reports on real Synapse: !stats per room, and the weekly digest with an encrypted chart."""

from __future__ import annotations

import struct
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
from nio.crypto.attachments import decrypt_attachment

from bot.app import default_features
from bot.domain.periods import to_ms
from tests.integration.conftest import (
    eventually,
    from_sender,
    neighbourhood,
    replies_to,
    room_with_bot,
    unique,
)

AMS = ZoneInfo("Europe/Amsterdam")


def body(event: dict[str, Any]) -> str:
    return event.get("content", {}).get("body", "")


async def test_stats_in_a_watch_room_show_only_its_own_figures(make_user, start_bot) -> None:
    bot, beheerder, bewoner, coordination, noord = await neighbourhood(make_user, start_bot)
    zuid_name = unique("Zuid")
    zuid = await room_with_bot(beheerder, bot.user_id, [bewoner], name=zuid_name)
    store = bot.bot.services.store
    burglary = await bewoner.send(noord, "Vannacht is er ingebroken in de schuur, fietsen weg")
    fire = await bewoner.send(zuid, "Er staat een container in brand bij de school")
    fraud = await bewoner.send(zuid, "Pas op: nepagent aan de deur die om je pinpas vraagt")
    for event_id in (burglary, fire, fraud):
        await eventually(lambda e=event_id: store.incidents.get(e), f"incident {event_id}")

    asked = await beheerder.send(noord, "!stats")
    answer = body(await beheerder.wait_for(noord, replies_to(asked), what="stats in Noord"))
    assert "Meldingen: 1" in answer and "Inbraak 1" in answer
    assert "Leden: 2" in answer
    assert zuid_name not in answer and "Brand" not in answer and "Oplichting" not in answer

    asked = await beheerder.send(noord, "!stats dertig")
    refusal = body(await beheerder.wait_for(noord, replies_to(asked), what="bad days"))
    assert "geen geldig aantal dagen" in refusal

    asked = await beheerder.send(coordination, "!stats 30")
    overview = body(await beheerder.wait_for(coordination, replies_to(asked), what="all stats"))
    assert zuid_name in overview and "laatste 30 dagen" in overview
    assert "Totaal: 3 meldingen" in overview and "nu 2 groepen met" in overview

    asked = await bewoner.send(noord, "!stats")
    denied = body(await bewoner.wait_for(noord, replies_to(asked), what="resident refused"))
    assert "alleen voor beheerders" in denied


async def download(homeserver: Any, token: str, mxc: str) -> bytes:
    server, media = mxc.removeprefix("mxc://").split("/", 1)
    url = f"{homeserver.url}/_matrix/client/v1/media/download/{server}/{media}"
    async with (
        aiohttp.ClientSession() as http,
        http.get(url, headers={"Authorization": f"Bearer {token}"}) as response,
    ):
        assert response.status == 200, await response.text()
        return await response.read()


class Clock:
    def __init__(self, now_ms: int) -> None:
        self.now = now_ms

    def __call__(self) -> int:
        return self.now


def next_monday(hour: int, minute: int) -> int:
    today = datetime.now(AMS).date()
    monday = today + timedelta(days=7 - today.weekday())
    return to_ms(datetime.combine(monday, time(hour, minute), tzinfo=AMS))


async def test_weekly_digest_posts_once_with_an_encrypted_chart_across_a_restart(
    make_user, start_bot, homeserver
) -> None:
    # Wednesday of this week: last Monday's digest is over a day late, so nothing is posted.
    clock = Clock(next_monday(12, 0) - 5 * 86_400_000)

    def features(services):
        services.scheduler.clock = clock
        return default_features(services)

    bot, beheerder, bewoner, coordination, watch = await neighbourhood(
        make_user, start_bot, features=features
    )
    report = await bewoner.send(watch, "Er wordt NU ingebroken bij nummer 4, 112 is gebeld")
    await eventually(lambda: bot.bot.services.store.incidents.get(report), "incident stored")

    def digests(event: dict[str, Any]) -> bool:
        return from_sender(bot.user_id)(event) and "Weekoverzicht week" in body(event)

    def images(event: dict[str, Any]) -> bool:
        content = event.get("content", {})
        return from_sender(bot.user_id)(event) and content.get("msgtype") == "m.image"

    clock.now = next_monday(8, 5)
    bot.bot.services.scheduler.poke()
    text = await beheerder.wait_for(coordination, digests, what="digest text")
    assert "Inbraak 1 (0)" in body(text) and "Spoedmeldingen: 1" in body(text)
    image = await beheerder.wait_for(coordination, images, what="digest chart")
    content = image["content"]
    assert content["info"]["mimetype"] == "image/png" and "Grafiek" in content["body"]
    assert "url" not in content, "an encrypted room gets an encrypted attachment"
    file = content["file"]
    ciphertext = await download(homeserver, beheerder.account.access_token, file["url"])
    assert not ciphertext.startswith(b"\x89PNG")
    png = decrypt_attachment(ciphertext, file["key"]["k"], file["hashes"]["sha256"], file["iv"])
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", png[16:24]) == (content["info"]["w"], content["info"]["h"])
    await bot.stop()

    clock.now = next_monday(8, 30)  # restarted in the same week: nothing new
    bot = await start_bot(features=features, coordination_room=bot.settings.coordination_room)
    assert await bot.bot.services.scheduler.run_due() == []
    rows = await bot.bot.services.store.db.fetchall("SELECT week, event_id FROM digests")
    assert [row["event_id"] for row in rows] == [text["event_id"]]
    assert len(beheerder.received(coordination, digests)) == 1
    assert len(beheerder.received(coordination, images)) == 1

    clock.now = next_monday(8, 30) + 7 * 86_400_000  # the week after: the next digest
    assert f"digest:{_week(clock.now)}" in await bot.bot.services.scheduler.run_due()
    await beheerder.wait_until(lambda: len(beheerder.received(coordination, digests)) == 2)

    await beheerder.send(coordination, "!weekoverzicht")  # on demand, also for police
    await beheerder.wait_until(lambda: len(beheerder.received(coordination, digests)) == 3)


def _week(ts_ms: int) -> str:
    year, week, _ = datetime.fromtimestamp(ts_ms / 1000, AMS).isocalendar()
    return f"{year}-W{week:02d}"
