"""Reports as residents really send them, on real Synapse in encrypted rooms: a photo with a
caption, a shared location, photos under a report, voice notes; Markdown-only bulletins; the
optional face tip; and the first-start room count."""

from __future__ import annotations

import io
import logging
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import (
    Person,
    eventually,
    from_sender,
    neighbourhood,
    replies_to,
    unique,
)
from tests.integration.test_bulletins import copy_from
from tests.integration.test_bulletins import neighbourhood as police_and_watch_rooms
from tests.integration.test_incidents import (
    content,
    mentions_link,
    reaction_to,
    thread_reply_to,
)
from tests.integration.test_moderation import house_rules
from tests.unit.test_media import street_without_people

DATA = Path(__file__).parent.parent / "data"
PHOTO = (DATA / "face.jpg").read_bytes()
OSM = "https://www.openstreetmap.org/?mlat=52.3702&mlon=4.8952#map=18/52.3702/4.8952"


async def send_photo(
    person: Person,
    room_id: str,
    caption: str | None = None,
    data: bytes = PHOTO,
    file_hash: str | None = None,
    **relations: Any,
) -> str:
    """Upload a photo encrypted (as Element does in an encrypted room) and post it;
    ``file_hash`` replaces the ciphertext's SHA-256, as a tampered event would."""
    response, keys = await person.client.upload(
        io.BytesIO(data), "image/jpeg", "IMG_0042.jpg", encrypt=True, filesize=len(data)
    )
    assert keys is not None, response
    if file_hash is not None:
        keys["hashes"] = {"sha256": file_hash}
    photo = {
        "msgtype": "m.image",
        "body": caption or "IMG_0042.jpg",
        "filename": "IMG_0042.jpg",
        "info": {"mimetype": "image/jpeg", "size": len(data)},
        "file": {"url": response.content_uri, **keys},
        **relations,
    }
    return await person.send_event(room_id, "m.room.message", photo)


def in_thread(root: str) -> dict[str, Any]:
    return {"m.relates_to": {"rel_type": "m.thread", "event_id": root, "is_falling_back": True}}


def voice_note() -> dict[str, Any]:
    """What Element sends for a voice message (the file itself does not matter here)."""
    return {
        "msgtype": "m.audio",
        "body": "Spraakbericht",
        "filename": "Spraakbericht.ogg",
        "url": "mxc://localhost/voice",
        "info": {"mimetype": "audio/ogg", "duration": 4000, "size": 6000},
        "org.matrix.msc1767.audio": {"duration": 4000, "waveform": [0, 512, 1024]},
        "org.matrix.msc3245.voice": {},
    }


def location(geo_uri: str, **relations: Any) -> dict[str, Any]:
    return {
        "msgtype": "m.location",
        "body": f"Locatie gedeeld: {geo_uri}",
        "geo_uri": geo_uri,
        "org.matrix.msc3488.asset": {"type": "m.self"},
        **relations,
    }


def logged(caplog: pytest.LogCaptureFixture, event_id: str, text: str):
    """A check for ``eventually``: the bot logged ``text`` about ``event_id``."""

    async def check() -> bool:
        return any(event_id in r.getMessage() and text in r.getMessage() for r in caplog.records)

    return check


async def barrier(person: Person, room_id: str) -> None:
    """Handling within a room is ordered: once ``!ping`` is answered, everything sent before
    it has been handled too."""
    ping = await person.send(room_id, "!ping")
    await person.wait_for(room_id, replies_to(ping), what="pong")


def bot_answers(person: Person, room_id: str, event_id: str, bot: str) -> list[dict[str, Any]]:
    """Anything the bot sent about ``event_id``: a threaded reminder, a reply, a reaction."""
    return person.received(
        room_id,
        lambda e: (
            from_sender(bot)(e)
            and (
                thread_reply_to(event_id, bot)(e)
                or replies_to(event_id)(e)
                or reaction_to(event_id, bot)(e)
            )
        ),
    )


async def test_photo_with_urgent_caption_is_a_report_with_photo(make_user, start_bot) -> None:
    bot, beheerder, bewoner, coordination, watch = await neighbourhood(make_user, start_bot)
    report = await send_photo(bewoner, watch, "Er wordt NU ingebroken bij nummer 12, deze man!")
    await beheerder.wait_for(watch, reaction_to(report, bot.user_id), what="👀 reaction")
    reminder = await bewoner.wait_for(watch, thread_reply_to(report, bot.user_id), what="SAAR")
    assert "112" in content(reminder)["body"]
    alert = await beheerder.wait_for(coordination, mentions_link(watch, report), what="alert")
    assert "Inbraak met foto" in content(alert)["body"]
    assert "<b>Inbraak</b> met foto" in content(alert)["formatted_body"]
    record = await bot.bot.services.store.incidents.get(report)
    assert record is not None and record.urgent and record.attachment == "image"
    assert record.excerpt.startswith("Er wordt NU ingebroken")


async def test_location_after_a_report_is_added_to_the_alert(make_user, start_bot, caplog) -> None:
    caplog.set_level(logging.INFO, logger="bot")
    bot, beheerder, bewoner, coordination, watch = await neighbourhood(make_user, start_bot)
    store = bot.bot.services.store.incidents
    report = await bewoner.send(watch, "Er wordt NU ingebroken bij de buren, twee mannen!")
    alert = await beheerder.wait_for(coordination, mentions_link(watch, report), what="alert")

    # Someone else's location is not the reporter's; a malformed one is skipped; neither one
    # gets a reminder: a location on its own is on-topic.
    other = await beheerder.send_event(watch, "m.room.message", location("geo:51.0,3.7"))
    broken = await bewoner.send_event(watch, "m.room.message", location("geo:999,4.89"))
    shared = await bewoner.send_event(
        watch, "m.room.message", location("geo:52.370216,4.895168;u=35")
    )

    def alert_edit(event: dict[str, Any]) -> bool:
        relates = content(event).get("m.relates_to", {})
        new = content(event).get("m.new_content", {})
        return (
            relates.get("rel_type") == "m.replace"
            and relates.get("event_id") == alert["event_id"]
            and OSM.replace("&", "&amp;") in new.get("formatted_body", "")
        )

    edit = await beheerder.wait_for(coordination, alert_edit, what="alert with map link")
    new = content(edit)["m.new_content"]
    assert "52.3702, 4.8952" in new["body"] and OSM in new["body"]
    assert "4.895168" not in new["body"], "coordinates are rounded to about 10 m"
    assert mentions_link(watch, report)({"content": new}), "the link to the report stays"
    record = await store.get(report)
    assert record is not None and record.location is not None
    assert (record.location.latitude, record.location.longitude) == (52.3702, 4.8952)
    await barrier(bewoner, watch)
    for event_id in (other, broken, shared):
        assert not bot_answers(bewoner, watch, event_id, bot.user_id)
    assert await logged(caplog, broken, "skipped malformed")()


async def test_location_in_the_report_thread_is_attached(make_user, start_bot) -> None:
    bot, _beheerder, bewoner, _coordination, watch = await neighbourhood(make_user, start_bot)
    report = await bewoner.send(watch, "Vannacht is er ingebroken in mijn schuur")
    await bewoner.wait_for(watch, reaction_to(report, bot.user_id), what="👀 reaction")
    await bewoner.send_event(watch, "m.room.message", location("geo:52.1,5.1", **in_thread(report)))

    async def located() -> bool:
        record = await bot.bot.services.store.incidents.get(report)
        return record is not None and record.location is not None

    await eventually(located, "the location in the thread to be attached")


async def test_photo_without_caption_under_a_report_gets_no_reminder(
    make_user, start_bot, tmp_path
) -> None:
    # At most 2 messages in 30 s: the report and the top-level photo. The two photos under
    # the report are follow-up and do not count, or the third message would be a flood.
    bot, _beheerder, bewoner, _coordination, watch = await neighbourhood(
        make_user, start_bot, house_rules_file=house_rules(tmp_path, flood=(2, "30s"))
    )
    report = await bewoner.send(watch, "Verdachte man bij de garages aan de Lindelaan nu")
    await bewoner.wait_for(watch, reaction_to(report, bot.user_id), what="👀 reaction")
    threaded = await send_photo(bewoner, watch, **in_thread(report))
    replied = await send_photo(
        bewoner, watch, **{"m.relates_to": {"m.in_reply_to": {"event_id": report}}}
    )
    top_level = await send_photo(bewoner, watch)
    await barrier(bewoner, watch)
    for photo in (threaded, replied, top_level):
        assert not bot_answers(bewoner, watch, photo, bot.user_id), "a photo is never off-topic"
        assert await bot.bot.services.store.incidents.get(photo) is None


async def test_voice_note_gets_no_reminder_but_counts_for_flooding(
    make_user, start_bot, tmp_path
) -> None:
    bot, _beheerder, bewoner, _coordination, watch = await neighbourhood(
        make_user, start_bot, house_rules_file=house_rules(tmp_path, flood=(3, "30s"))
    )
    first = await bewoner.send_event(watch, "m.room.message", voice_note())
    await barrier(bewoner, watch)  # a command is not counted for flooding
    assert not bot_answers(bewoner, watch, first, bot.user_id)
    # More than 3 within 30 s: the fourth voice note is one too many.
    notes = [await bewoner.send_event(watch, "m.room.message", voice_note()) for _ in range(3)]
    reminder = await bewoner.wait_for(
        watch,
        lambda e: any(thread_reply_to(n, bot.user_id)(e) for n in notes),
        what="flood reminder",
    )
    assert "Kort en krachtig" in content(reminder)["body"]


async def test_markdown_only_bulletin_arrives_formatted_and_sanitised(make_user, start_bot) -> None:
    place = await police_and_watch_rooms(make_user, start_bot, rooms=1, encrypted=1)
    await place.command(
        "!bericht **Weekoverzicht** wijk Noord\n\n"
        "- 2 inbraken in de Vogelwijk\n"
        "- 1 fietsdiefstal <script>alert(1)</script>\n\n"
        "[klik hier](javascript:alert(1)) of lees [politie.nl](https://www.politie.nl) "
        "![pixel](https://tracker.example/p.png)"
    )
    copy = await place.bewoner.wait_for(
        place.watch[0], copy_from(place.bot.user_id, "Weekoverzicht"), what="bulletin"
    )
    html, body = content(copy)["formatted_body"], content(copy)["body"]
    assert "<strong>Weekoverzicht</strong> wijk Noord" in html
    assert "<li>2 inbraken in de Vogelwijk</li>" in html
    assert '<a href="https://www.politie.nl" rel="noopener noreferrer">politie.nl</a>' in html
    assert "<script" not in html and "<img" not in html and 'href="javascript' not in html
    assert "**" not in body and "• 2 inbraken in de Vogelwijk" in body


async def test_face_tip_once_for_a_photo_with_a_face(make_user, start_bot, caplog) -> None:
    caplog.set_level(logging.INFO, logger="bot")
    bot, beheerder, bewoner, _coordination, watch = await neighbourhood(
        make_user, start_bot, face_tip={"enabled": True}
    )
    first = await send_photo(bewoner, watch, "Deze man stond net bij de auto's te kijken")
    await bewoner.wait_until(lambda: bool(bewoner.client.invited_rooms), what="DM invite")
    dm = next(iter(bewoner.client.invited_rooms))
    await bewoner.join(dm)
    tip = await bewoner.wait_for(
        dm, lambda e: from_sender(bot.user_id)(e) and e["type"] == "m.room.message", what="tip"
    )
    assert "herkenbaar" in content(tip)["body"] and "politie" in content(tip)["body"]
    assert not beheerder.received(watch, lambda e: "herkenbaar" in content(e).get("body", ""))

    second = await send_photo(bewoner, watch)

    def logged(event_id: str, text: str):
        async def check() -> bool:
            return any(
                event_id in r.getMessage() and text in r.getMessage() for r in caplog.records
            )

        return check

    await eventually(logged(second, "already had the tip"), "the second face to be seen")
    tips = bewoner.received(
        dm, lambda e: from_sender(bot.user_id)(e) and "herkenbaar" in content(e).get("body", "")
    )
    assert len(tips) == 1, "at most one tip per person per 30 days"
    assert first in " ".join(r.getMessage() for r in caplog.records)


async def test_no_face_tip_for_a_street_or_an_unreadable_image(
    make_user, start_bot, caplog
) -> None:
    caplog.set_level(logging.INFO, logger="bot")
    _bot, _beheerder, bewoner, _coordination, watch = await neighbourhood(
        make_user, start_bot, face_tip={"enabled": True}
    )
    street = await send_photo(
        bewoner, watch, "Deze bus staat al dagen hier", data=street_without_people()
    )
    unreadable = await send_photo(bewoner, watch, data=b"GIF89a, or not really")
    tampered = await send_photo(bewoner, watch, file_hash="A" * 43)
    await eventually(logged(caplog, street, "no face"), "the street photo to be looked at")
    await eventually(logged(caplog, unreadable, "skipped"), "the broken image to be skipped")
    await eventually(logged(caplog, tampered, "cannot decrypt"), "a bad hash to be refused")
    assert not bewoner.client.invited_rooms, "no tip, so no direct chat either"


async def test_ready_log_counts_the_rooms_joined_on_first_start(
    make_user, start_bot, bot_account, caplog
) -> None:
    caplog.set_level(logging.INFO, logger="bot.app")
    beheerder: Person = await make_user("beheerder")
    bot_id = bot_account.account.user_id
    coordination = await beheerder.session.create_room("Beheerders", invite=[bot_id])
    for _ in range(2):
        await beheerder.session.create_room(unique("Noord"), invite=[bot_id])
    await start_bot(coordination_room=coordination)
    ready = [r.getMessage() for r in caplog.records if "bot ready as" in r.getMessage()]
    assert ready == [f"bot ready as {bot_id} in 3 rooms"]


async def test_reminder_is_one_sentence_and_audit_names_the_rule(make_user, start_bot) -> None:
    bot, beheerder, bewoner, coordination, watch = await neighbourhood(make_user, start_bot)
    thanks = await bewoner.send(watch, "Bedankt allemaal! 👍")
    reminder = await bewoner.wait_for(watch, thread_reply_to(thanks, bot.user_id), what="reminder")
    text = content(reminder)["body"]
    assert "Geen bedankjes, 'oké' of duimpjes" in text
    assert "Geen bedankjes of duimpjes" not in text, "the label and the rule said twice"
    audit = await beheerder.wait_for(
        coordination,
        lambda e: from_sender(bot.user_id)(e) and "herinnerde" in content(e).get("body", ""),
        what="audit line",
    )
    assert content(audit)["body"].endswith("– Geen bedankjes of duimpjes")
    assert "thanks_ok_emoji" not in content(audit)["body"]
