"""Police bulletins and alerts as officers, beheerders and residents see them, on real Synapse.

Most tests run the bot in-process with only this feature; the crash test runs it as a real
process (``python -m bot run``) so ``kill -9`` can interrupt a fan-out anywhere (at a random
point between 10 % and 90 % of it; more runs with ``-m slow``), and the rate limit test gets a
homeserver of its own with a real ``rc_message`` limit for the bot (1/s, burst 5: Synapse's
default shape, scaled up so the test stays short).
"""

from __future__ import annotations

import asyncio
import json
import random
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from bot.app import Bot
from bot.devserver.rooms import UserSession
from bot.devserver.synapse import LocalSynapse, RegisteredUser
from bot.features.bulletin_delivery import now_ms
from bot.settings import load_settings
from bot.store.bulletins import BulletinRepository, Counts, State
from tests.botprocess import BotProcess
from tests.integration.conftest import (
    RELAXED_LIMITS,
    BotAccount,
    Person,
    RunningBot,
    assert_rate_limited_and_waited,
    eventually,
    only_bulletins,
    police_coordination,
    replies_to,
    room_with_bot,
    unique,
    watch_rate_limits,
)

Event = dict[str, Any]
COPY_TYPES = ("m.room.message", "m.room.encrypted")


def content(event: Event) -> dict[str, Any]:
    return event.get("content", {})


def copy_from(bot: str, text: str) -> Callable[[Event], bool]:
    """A new message by the bot (not an edit) whose body contains ``text``."""

    def check(event: Event) -> bool:
        relates = content(event).get("m.relates_to", {})
        return (
            event.get("sender") == bot
            and relates.get("rel_type") != "m.replace"
            and text in content(event).get("body", "")
        )

    return check


def edit_of(event_id: str, text: str) -> Callable[[Event], bool]:
    def check(event: Event) -> bool:
        relates = content(event).get("m.relates_to", {})
        new = content(event).get("m.new_content", {})
        return (
            relates.get("rel_type") == "m.replace"
            and relates.get("event_id") == event_id
            and text in new.get("body", "")
        )

    return check


def redaction_of(event_id: str) -> Callable[[Event], bool]:
    def check(event: Event) -> bool:
        target = event.get("redacts") or content(event).get("redacts")
        return event.get("type") == "m.room.redaction" and target == event_id

    return check


def edit_command(original: str, body: str) -> dict[str, Any]:
    """What Element sends when its user edits a message."""
    return {
        "m.new_content": {"msgtype": "m.text", "body": body},
        "m.relates_to": {"rel_type": "m.replace", "event_id": original},
    }


@dataclass
class Place:
    bot: RunningBot
    beheerder: Person  # moderator of the coordination room, owns the watch rooms
    agent: Person  # the wijkagent, a configured police account
    bewoner: Person  # a resident in every watch room
    coordination: str
    watch: list[str]

    @property
    def repo(self) -> BulletinRepository:
        assert self.bot.bot.services is not None
        return BulletinRepository(self.bot.bot.services.store.db)

    async def command(self, body: str, sender: Person | None = None, **extra: Any) -> str:
        return await (sender or self.agent).send(self.coordination, body, **extra)

    async def answer(self, command: str, text: str, who: Person | None = None) -> Event:
        """The bot's reply to a command in the coordination room, containing ``text``."""
        return await (who or self.agent).wait_for(
            self.coordination,
            lambda e: replies_to(command)(e) and text in content(e).get("body", ""),
            what=f"answer {text!r}",
        )

    async def status(self, command: str, text: str) -> str:
        """The status of ``command`` once it says ``text``: the reply itself when the copies
        were out before it was posted, otherwise an edit of it."""
        reply = await self.answer(command, "")
        body: str = content(reply).get("body", "")
        if text in body:
            return body
        edit = await self.agent.wait_for(
            self.coordination, edit_of(reply["event_id"], text), what=f"status {text!r}"
        )
        return str(content(edit)["m.new_content"]["body"])

    async def copies(self, text: str, rooms: list[str] | None = None) -> dict[str, Event]:
        found = await asyncio.gather(
            *(
                self.beheerder.wait_for(room, copy_from(self.bot.user_id, text), what="copy")
                for room in rooms or self.watch
            )
        )
        return dict(zip(rooms or self.watch, found, strict=True))


async def neighbourhood(make_user, start_bot, rooms: int = 2, encrypted: int = 1) -> Place:
    beheerder = await make_user("beheerder", "Bea Beheer")
    agent = await make_user("agent", "Wijkagent Jansen")
    bewoner = await make_user("bewoner")
    bot, coordination = await police_coordination(beheerder, agent, start_bot)
    watch = list(
        await asyncio.gather(
            *(
                room_with_bot(
                    beheerder, bot.user_id, [bewoner], encrypted=n < encrypted, name=unique("Wijk")
                )
                for n in range(rooms)
            )
        )
    )
    assert bot.bot.services is not None
    store = bot.bot.services.store.rooms

    async def all_registered() -> bool:
        return len(await store.list()) == rooms + 1

    await eventually(all_registered, "the bot to register every room", wait_s=10)
    return Place(bot, beheerder, agent, bewoner, coordination, watch)


async def test_bulletin_reaches_every_watch_room(make_user, start_bot) -> None:
    place = await neighbourhood(make_user, start_bot, rooms=3, encrypted=1)
    command = await place.command(
        "!bericht **Let op**: inbraakgolf\nSluit ramen en deuren.",
        format="org.matrix.custom.html",
        formatted_body="<p>!bericht <strong>Let op</strong>: inbraakgolf<br>"
        "Sluit ramen en deuren.</p><script>alert(1)</script>",
    )
    copies = await place.copies("inbraakgolf")
    for copy in copies.values():
        body, html = content(copy)["body"], content(copy)["formatted_body"]
        assert content(copy)["msgtype"] == "m.text", "a police message must notify"
        assert body.startswith("👮 Politiebericht van Wijkagent Jansen · ")
        assert "Let op: inbraakgolf\nSluit ramen en deuren." in body and "!bericht" not in body
        assert "<strong>Let op</strong>" in html and "<script>" not in html
        assert content(copy)["m.mentions"] == {}
    # The resident reads it in the encrypted room: the megolm session was shared with them.
    await place.bewoner.wait_for(place.watch[0], copy_from(place.bot.user_id, "inbraakgolf"))
    await place.status(command, "✅ Afgeleverd in 3/3 groepen in ")

    audit = await place.bot.bot.services.store.audit.recent(room_id=place.coordination)  # type: ignore[union-attr]
    entry = next(e for e in audit if e.action == "bulletin")
    assert entry.actor == place.agent.user_id and entry.details["rooms"] == 3
    listing = await place.command("!berichten")
    answer = await place.answer(listing, "Politiebericht #")
    assert "3/3 afgeleverd, 0 mislukt" in content(answer)["body"]


async def test_a_room_the_bot_may_not_post_in_is_reported_and_not_retried(
    make_user, start_bot
) -> None:
    """A beheerder made a group read-only for the bot: the others get the bulletin, the officer
    is told which group failed and why, and the bot does not keep hammering that room."""
    place = await neighbourhood(make_user, start_bot, rooms=1, encrypted=0)
    name = unique("Alleen-lezen")
    read_only = await place.beheerder.session.create_room(
        name,
        encrypted=False,
        invite=[place.bot.user_id],
        power_users={place.bot.user_id: 0},
        events_default=50,
    )
    assert place.bot.bot.services is not None
    rooms = place.bot.bot.services.store.rooms

    async def joined() -> bool:
        return read_only in {room.room_id for room in await rooms.list()}

    await eventually(joined, "the bot to join the read-only group", wait_s=10)

    command = await place.command("!bericht Inbraakgolf in de Dorpsstraat")
    await place.copies("Inbraakgolf")
    text = await place.status(command, "mislukt:")
    assert "Afgeleverd in 1/2 groepen" in text and f"{name} (geen toegang)" in text

    bulletin = await place.repo.by_source(command)
    assert bulletin is not None
    (failed,) = await place.repo.deliveries(bulletin.id, State.FAILED)
    assert failed.room_id == read_only and failed.error == "M_FORBIDDEN"
    assert failed.attempts == 1, "a permanent refusal must not be retried"
    # Not now and not later: nothing is left for the scheduler, at any time in the future.
    far_future = now_ms() + 10**12
    assert await place.repo.actionable(far_future) == []
    assert await place.repo.next_attempt_after(now_ms()) is None


async def test_labels_restrict_the_rooms(make_user, start_bot) -> None:
    place = await neighbourhood(make_user, start_bot, rooms=3, encrypted=0)
    west, centrum, oost = place.watch
    west_name = place.beheerder.client.rooms[west].display_name
    # By name (any case), by room ID; the beheerder (moderator) may manage labels too.
    first = await place.command(f"!label {west_name.upper()} #Westwijk", place.beheerder)
    await place.answer(first, "#westwijk", place.beheerder)
    second = await place.command(f"!label {centrum} #westwijk #centrum", place.beheerder)
    await place.answer(second, "#westwijk", place.beheerder)
    third = await place.command(f"!label {centrum} -#centrum", place.beheerder)
    answer = await place.answer(third, "Labels van", place.beheerder)
    assert "#centrum" not in content(answer)["body"]
    unknown_room = await place.command("!label Nergensland #westwijk", place.beheerder)
    await place.answer(unknown_room, "Ik ken geen buurtgroep", place.beheerder)
    overview = await place.command("!labels")
    assert "#westwijk" in content(await place.answer(overview, "labels"))["body"]

    wrong = await place.command("!bericht #onbekend Alleen voor onbekend")
    await place.answer(wrong, "#onbekend")
    command = await place.command("!bericht #westwijk Alleen voor de westwijk")
    await place.copies("Alleen voor de westwijk", [west, centrum])
    await place.status(command, "✅ Afgeleverd in 2/2 groepen")
    assert not place.beheerder.received(oost, copy_from(place.bot.user_id, "Alleen voor"))
    assert [b.labels for b, _ in await place.repo.recent()] == [("westwijk",)]


async def test_unauthorised_senders_are_refused_in_both_rooms(make_user, start_bot) -> None:
    place = await neighbourhood(make_user, start_bot, rooms=2, encrypted=1)
    buur = await make_user("buur")  # a member of the coordination room without rights
    await place.beheerder.session.invite(place.coordination, buur.user_id)
    await buur.join(place.coordination)
    watch = place.watch[0]

    fake = await place.bewoner.send(watch, "!bericht Nep: iedereen naar buiten")
    refusal = await place.bewoner.wait_for(watch, replies_to(fake), what="refusal in watch room")
    assert "alleen in de beheerdersgroep" in content(refusal)["body"]
    await place.bewoner.send(watch, "POLITIEBERICHT: alles is veilig, deur mag open")
    coordination_fake = await place.command("!bericht Nep via de beheerdersgroep", buur)
    refusal = await place.answer(coordination_fake, "alleen voor beheerders of de politie", buur)
    fake_alert = await place.command("!alarm wat: Nep\nlocatie: hier\nsignalement: niemand", buur)
    await place.answer(fake_alert, "alleen voor beheerders of de politie", buur)
    # A police message later still goes out, and it is the only thing that ever did.
    real = await place.command("!bericht Echt bericht")
    await place.status(real, "✅ Afgeleverd in 2/2")
    for room in place.watch:
        relayed = place.beheerder.received(room, copy_from(place.bot.user_id, "Politiebericht"))
        assert [
            e for e in relayed if "Nep" in content(e)["body"] or "veilig" in content(e)["body"]
        ] == []
    assert [b.sender for b, _ in await place.repo.recent()] == [place.agent.user_id]


async def test_alert_notifies_and_its_end_replies_to_it(make_user, start_bot) -> None:
    place = await neighbourhood(make_user, start_bot, rooms=2, encrypted=1)
    incomplete = await place.command("!alarm wat: Overval op juwelier\nlocatie: Markt")
    answer = await place.answer(incomplete, "niet verstuurd")
    assert "Signalement/Voertuig/Kenteken" in content(answer)["body"]
    assert await place.repo.recent() == []

    command = await place.command(
        "!alarm wat: Overval op juwelier\nsignalement: man, ca. 1.80 m, rode jas, zwarte broek\n"
        "voertuig: witte bestelbus\nkenteken: VNL-38-P\nlocatie: Markt\nrichting: Stationsweg"
    )
    alerts = await place.copies("Overval op juwelier")
    for alert in alerts.values():
        assert content(alert)["body"].startswith("@room 🚨 POLITIE-ALARM #")
        assert content(alert)["m.mentions"] == {"room": True}
        assert content(alert)["msgtype"] == "m.text"
        assert "Kenteken: VNL-38-P" in content(alert)["body"]
    await place.status(command, "✅ Afgeleverd in 2/2")
    (bulletin, _), *_ = await place.repo.recent()

    await place.command(f"!alarm einde {bulletin.id} Verdachte aangehouden")
    for room, alert in alerts.items():
        closing = await place.beheerder.wait_for(
            room,
            lambda e, a=alert: replies_to(a["event_id"])(e) and "aangehouden" in content(e)["body"],
            what="closing message",
        )
        assert f"Actie beëindigd (alarm #{bulletin.id})" in content(closing)["body"]
    unknown = await place.command("!alarm einde 999")
    await place.answer(unknown, "Er is geen alarm #999")


async def test_edit_and_redaction_follow_to_every_copy(make_user, start_bot) -> None:
    place = await neighbourhood(make_user, start_bot, rooms=2, encrypted=1)
    command = await place.command("!bericht Eerste versie van het bericht")
    copies = await place.copies("Eerste versie")
    await place.status(command, "✅ Afgeleverd in 2/2")

    # Only the sender's edits count: the beheerder's (handled first, same room) is ignored.
    await place.command(
        "* !bericht Gekaapt", place.beheerder, **edit_command(command, "!bericht Gekaapt")
    )
    await place.command(
        "* !bericht Tweede versie", **edit_command(command, "!bericht Tweede versie")
    )
    for room, copy in copies.items():
        edit = await place.beheerder.wait_for(room, edit_of(copy["event_id"], "Tweede versie"))
        assert content(edit)["m.new_content"]["msgtype"] == "m.text"
    await place.status(command, "bewerkt in 2/2 groepen")
    for room, copy in copies.items():
        assert not place.beheerder.received(room, edit_of(copy["event_id"], "Gekaapt"))

    await place.agent.client.room_redact(place.coordination, command, "vergissing")
    for room, copy in copies.items():
        await place.beheerder.wait_for(room, redaction_of(copy["event_id"]), what="redacted copy")
    await place.status(command, "🗑️ Ingetrokken: verwijderd in 2/2")
    (bulletin, counts), *_ = await place.repo.recent()
    assert bulletin.redacted and bulletin.plain == "" and counts.removed == 2


# -- kill -9 mid-fan-out ------------------------------------------------------------------


async def limit_messages(homeserver: Any, admin: RegisteredUser, user_id: str, rate: int) -> None:
    """A per-user ``rc_message`` override (the operator API), here to make a fan-out slower."""
    session = UserSession(homeserver.url, admin.user_id, admin.access_token)
    path = f"/_synapse/admin/v1/users/{quote(user_id)}/override_ratelimit"
    await session.request("POST", path, {"messages_per_second": rate, "burst_count": rate})


def delivery_states(data_dir: Path) -> dict[str, int]:
    with sqlite3.connect(f"file:{data_dir / 'buurtbot.sqlite3'}?mode=ro", uri=True) as db:
        try:
            rows = db.execute("SELECT state, COUNT(*) FROM deliveries GROUP BY state").fetchall()
        except sqlite3.OperationalError:  # not migrated yet
            return {}
    return dict(rows)


def watch_rooms_joined(data_dir: Path) -> int:
    path = data_dir / "buurtbot.sqlite3"
    if not path.exists():
        return 0
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        sql = "SELECT COUNT(*) FROM rooms WHERE role = 'watch' AND left_at IS NULL"
        return int(db.execute(sql).fetchone()[0])


async def until(
    condition: Callable[[], bool], wait_s: float, what: str, every: float = 0.1
) -> None:
    deadline = time.monotonic() + wait_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {wait_s} s waiting for {what}")
        await asyncio.sleep(every)


# The seed picks the kill point: 29 of 50 copies in the normal suite; 8, 13, 34 and 44 (16 % to
# 88 %) in the slow one.
@pytest.mark.parametrize(
    "seed", [0, *(pytest.param(n, marks=pytest.mark.slow) for n in (1, 2, 5, 9))]
)
async def test_kill_9_mid_fan_out_delivers_exactly_once(
    homeserver: Any, admin: RegisteredUser, bot_account: BotAccount, make_user, seed: int
) -> None:
    """Fifty encrypted watch rooms; the bot is killed after a random 10-90 % of the copies.

    Every member is a real E2EE client: each must decrypt exactly one copy in every room, and
    receive nothing from the bot it cannot decrypt (the restarted bot must share its keys).
    """
    rooms = 50
    kill_after = random.Random(seed).randint(rooms // 10, rooms * 9 // 10)
    beheerder: Person = await make_user("beheerder")
    bewoner: Person = await make_user("bewoner")
    agent: Person = await make_user("agent")
    bot_id = bot_account.account.user_id
    coordination = await beheerder.session.create_room(
        "Beheerders", encrypted=True, invite=[agent.user_id, bot_id]
    )
    await agent.join(coordination)
    # Fifty rooms at once exceed rc_room_creation: the beheerder is exempted for the set-up.
    await homeserver.exempt_from_ratelimit(admin.access_token, beheerder.user_id)
    # ~10 copies a second: slow enough to kill the bot mid-way, and retry_after is honoured.
    await limit_messages(homeserver, admin, bot_id, 10)
    bot = BotProcess(
        homeserver.url,
        bot_id,
        bot_account.account.password,
        bot_account.data_dir,
        settings={
            "BUURTBOT_COORDINATION_ROOM": coordination,
            "BUURTBOT_POLICE_USERS": json.dumps([agent.user_id]),
        },
    )
    await bot.start()
    try:
        watch = await asyncio.gather(
            *(
                beheerder.session.create_room(
                    unique("Wijk"),
                    encrypted=True,
                    invite=[bot_id, bewoner.user_id],
                    power_users={bot_id: 100},
                )
                for _ in range(rooms)
            )
        )
        await asyncio.gather(*(bewoner.join(room) for room in watch))
        await until(lambda: watch_rooms_joined(bot.data_dir) == rooms, 90, "bot in all rooms")
        await agent.wait_until(lambda: bot_id in agent.client.rooms[coordination].users)

        sent = "SELECT COUNT(*) FROM deliveries WHERE state = 'sent'"
        killer = asyncio.create_task(bot.kill_when(sent, kill_after))
        text = "Kill -9 proef: één keer in elke groep"
        command = await agent.send(coordination, f"!bericht {text}")
        await killer
        states = delivery_states(bot.data_dir)
        assert 0 < states.get("sent", 0) < rooms, f"not killed mid-fan-out: {states}"

        await bot.start()
        await until(
            lambda: delivery_states(bot.data_dir) == {"sent": rooms}, 90, "all copies sent", 0.2
        )
        for person in (beheerder, bewoner):
            await person.wait_until(
                lambda p=person: all(p.received(room, copy_from(bot_id, text)) for room in watch),
                60,
                what="a decrypted copy in every room",
            )
        histories = await asyncio.gather(*(beheerder.raw_history(room) for room in watch))
        for room, history in zip(watch, histories, strict=True):
            copies = [
                e
                for e in history
                if e.get("sender") == bot_id
                and e.get("type") in COPY_TYPES
                and "m.relates_to" not in content(e)
            ]
            assert len(copies) == 1, f"{room} has {len(copies)} copies (killed after {states})"
            for person in (beheerder, bewoner):
                decrypted = person.received(room, copy_from(bot_id, text))
                assert len(decrypted) == 1, f"{person.user_id} decrypted {len(decrypted)} in {room}"
        for person in (beheerder, bewoner, agent):
            unreadable = [
                e for _, e in person.events
                if e.get("sender") == bot_id and e.get("type") == "m.room.encrypted"
            ]  # fmt: skip
            assert unreadable == [], f"{person.user_id}: unable to decrypt {len(unreadable)}"
        with sqlite3.connect(bot.data_dir / "buurtbot.sqlite3") as db:
            assert db.execute("SELECT COUNT(*) FROM bulletins").fetchone()[0] == 1
        # Killed before or after its status was posted, the officer gets one status reply,
        # and it ends up saying that every group has the bulletin.
        done = f"Afgeleverd in {rooms}/{rooms} groepen"

        def says_done(event: Event) -> bool:
            shown = content(event).get("m.new_content", content(event))
            return event.get("sender") == bot_id and done in shown.get("body", "")

        await agent.wait_for(coordination, says_done, 60, what="status: delivered everywhere")
        replies = agent.received(coordination, replies_to(command))
        assert len(replies) == 1, f"{len(replies)} status replies (killed after {states})"
    finally:
        await bot.stop()


# -- a rate-limited bot --------------------------------------------------------


async def test_rate_limited_bot_still_delivers_everything(tmp_path: Path, caplog) -> None:
    """A homeserver with a real ``rc_message`` limit for the bot, which was NOT exempted.

    Not Synapse's default (a burst of 10, then 0.2/s): the bot's joins draw from the same
    bucket, so joining 13 rooms would leave a default-limited bot a minute of waiting before
    the first copy. The same shape scaled up (burst 5, then 1/s) keeps the test short while
    twelve copies plus the status messages still need many ``M_LIMIT_EXCEEDED`` waits with
    their ``retry_after_ms``; the test reads them from Synapse's log and the bot's. Only the
    people setting up rooms are exempted.
    """
    watch_rate_limits(caplog)
    rooms = 12
    config = {
        **RELAXED_LIMITS,
        "rc_message": {"per_second": 1, "burst_count": 5},
        "encryption_enabled_by_default_for_room_type": "off",
    }
    synapse = LocalSynapse(tmp_path / "synapse", extra_config=config)
    await synapse.start()
    bot_task: asyncio.Task[None] | None = None
    bot: Bot | None = None
    try:
        admin = await synapse.register(unique("admin"), admin=True)
        bot_user = await synapse.register(unique("bot"))
        agent_user = await synapse.register(unique("agent"))
        for user in (admin, agent_user):
            await synapse.exempt_from_ratelimit(admin.access_token, user.user_id)
        agent = UserSession(synapse.url, agent_user.user_id, agent_user.access_token)
        coordination = await agent.create_room(
            "Beheerders", encrypted=False, invite=[bot_user.user_id]
        )
        settings = load_settings(
            homeserver=synapse.url,
            user_id=bot_user.user_id,
            password=bot_user.password,
            data_dir=tmp_path / "bot",
            allowed_inviters=["*:localhost"],
            coordination_room=coordination,
            police_users=[agent_user.user_id],
            sync_timeout_ms=2000,
        )
        bot = Bot(settings, only_bulletins)
        bot_task = asyncio.create_task(bot.run())
        await asyncio.wait_for(bot.ready.wait(), timeout=60)
        watch = await asyncio.gather(
            *(
                agent.create_room(
                    unique("Wijk"),
                    encrypted=False,
                    invite=[bot_user.user_id],
                    power_users={bot_user.user_id: 100},
                )
                for _ in range(rooms)
            )
        )
        assert bot.services is not None
        store = bot.services.store
        repo = BulletinRepository(store.db)

        async def all_registered() -> bool:
            return len(await store.rooms.list()) == rooms + 1

        async def all_sent() -> Counts | None:
            recent = await repo.recent(1)
            counts = recent[0][1] if recent else None
            return counts if counts is not None and counts.sent == rooms else None

        await eventually(all_registered, "the bot to register every room")
        await agent.send_text(coordination, "!bericht Ook met een echte limiet")
        counts = await eventually(all_sent, "every copy sent", wait_s=90)
        assert counts is not None and counts.sent == rooms and counts.failed == 0, counts
        synapse_log = synapse.base_dir / "homeserver.log"
        await assert_rate_limited_and_waited(caplog, synapse_log, bot_user.user_id)
        for room in watch:
            copies = [
                e
                for e in await agent.messages(room)
                if e.get("sender") == bot_user.user_id and e.get("type") == "m.room.message"
            ]
            assert len(copies) == 1, f"{room}: {len(copies)} copies"
    finally:
        if bot is not None and bot_task is not None:
            bot.stop()
            await asyncio.wait_for(bot_task, timeout=30)
        await synapse.stop()
