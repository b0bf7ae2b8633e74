"""Faults the bot must survive with nothing lost and nothing doubled, on real homeservers.

These tests start homeservers of their own (a restart or default rate limits must not disturb
the rest of the suite). The restart and crash tests run in encrypted rooms, as production does:
every member is a real E2EE client that must decrypt each answer and bulletin copy exactly once,
and see nothing from the bot it cannot decrypt. Sends during an outage go over plain HTTP, so
they fail the way a phone's would. The long variants run with ``-m slow``.
"""

from __future__ import annotations

import asyncio
import logging
import random
import sqlite3
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.app import Bot
from bot.devserver.rooms import UserSession
from bot.devserver.synapse import LocalSynapse, RegisteredUser
from bot.settings import load_settings
from tests.botprocess import BotProcess
from tests.integration.conftest import (
    RELAXED_LIMITS,
    Person,
    assert_rate_limited_and_waited,
    connect,
    disconnect,
    eventually,
    replies_to,
    unique,
    watch_rate_limits,
)

PLAIN_ROOMS = {"encryption_enabled_by_default_for_room_type": "off"}
Event = dict[str, Any]


class Neighbourhood:
    """A homeserver of this test's own with a bot account, a beheerder and a plain room."""

    def __init__(self, synapse: LocalSynapse, tmp_path: Path) -> None:
        self.synapse = synapse
        self.tmp_path = tmp_path
        self.bot: RegisteredUser
        self.beheerder: UserSession
        self.room_id: str
        self.people: list[Person] = []

    async def setup(self, exempt_bot: bool = True) -> None:
        admin = await self.synapse.register(unique("admin"), admin=True)
        self.bot = await self.synapse.register(unique("bot"))
        if exempt_bot:
            await self.synapse.exempt_from_ratelimit(admin.access_token, self.bot.user_id)
        user = await self.synapse.register(unique("beheerder"))
        self.beheerder = UserSession(self.synapse.url, user.user_id, user.access_token)
        self.room_id = await self.beheerder.create_room(
            "Buurtpreventie", encrypted=False, invite=[self.bot.user_id],
            power_users={self.bot.user_id: 100},
        )  # fmt: skip

    async def person(self, prefix: str) -> Person:
        """A resident with a real E2EE client; it retries within a second once Synapse is back."""
        account = await self.synapse.register(unique(prefix))
        store = self.tmp_path / f"store-{account.user_id[1:].split(':')[0]}"
        person = await connect(self.synapse.url, account, store, max_backoff_s=1)
        self.people.append(person)
        return person

    async def encrypted_room(
        self, owner: Person, members: list[Person], name: str, wait_for_bot: bool = True
    ) -> str:
        """An encrypted room of ``owner`` with the bot (power 100) and ``members`` joined."""
        room_id = await owner.session.create_room(
            name,
            encrypted=True,
            invite=[self.bot.user_id, *(m.user_id for m in members)],
            power_users={self.bot.user_id: 100},
        )
        await owner.wait_until(lambda: room_id in owner.client.rooms, what="own room")
        for member in members:
            await member.join(room_id)
        if wait_for_bot:
            await self.wait_for_bot_in_room(room_id, owner.session)
        return room_id

    def settings(self, **overrides: Any) -> dict[str, Any]:
        return {
            "homeserver": self.synapse.url,
            "user_id": self.bot.user_id,
            "password": self.bot.password,
            "data_dir": self.tmp_path / "bot",
            "allowed_inviters": ["*:localhost"],
            "sync_timeout_ms": 2000,
            "max_backoff_seconds": 2,
            **overrides,
        }

    async def wait_for_bot_in_room(
        self, room_id: str | None = None, member: UserSession | None = None
    ) -> None:
        async def joined() -> bool:
            members = await (member or self.beheerder).joined_members(room_id or self.room_id)
            return self.bot.user_id in members

        await eventually(joined, "the bot did not join")

    async def answers(self) -> Counter[str]:
        """How many replies the bot sent to each event (of the plain room, read over HTTP)."""
        counts: Counter[str] = Counter()
        for event in await self.beheerder.messages(self.room_id, limit=1000):
            if event.get("sender") != self.bot.user_id:
                continue
            relates = event.get("content", {}).get("m.relates_to", {})
            target = relates.get("m.in_reply_to", {}).get("event_id")
            if target:
                counts[target] += 1
        return counts

    async def wait_for_answers(self, asked: list[str], wait_s: float = 90.0) -> Counter[str]:
        for _ in range(int(wait_s / 0.5)):
            counts = await self.answers()
            if all(counts[e] for e in asked):
                return counts
            await asyncio.sleep(0.5)
        missing = [e for e in asked if not counts[e]]
        raise AssertionError(f"{len(missing)} of {len(asked)} commands never answered")

    async def barrier(self) -> None:
        """A ``!ping`` answered in the plain room: everything sent there before it was handled."""
        await self.wait_for_answers([await self.beheerder.send_text(self.room_id, "!ping")])


@pytest.fixture
async def neighbourhood(
    tmp_path: Path,
) -> AsyncIterator[Callable[..., Awaitable[Neighbourhood]]]:
    started: list[tuple[LocalSynapse, Neighbourhood]] = []

    async def make(limits: dict[str, Any] | None = None, exempt_bot: bool = True) -> Neighbourhood:
        config = {**PLAIN_ROOMS, **(RELAXED_LIMITS if limits is None else limits)}
        synapse = LocalSynapse(tmp_path / "synapse", extra_config=config)
        place = Neighbourhood(synapse, tmp_path)
        started.append((synapse, place))
        await synapse.start()
        await place.setup(exempt_bot)
        return place

    yield make
    for synapse, place in started:
        for person in place.people:
            await disconnect(person)
        await synapse.stop()


async def run_bot(place: Neighbourhood, **overrides: Any) -> tuple[Bot, asyncio.Task[None]]:
    bot = Bot(load_settings(**place.settings(**overrides)))
    task = asyncio.create_task(bot.run())
    await asyncio.wait_for(bot.ready.wait(), timeout=60)
    return bot, task


async def stop_bot(bot: Bot, task: asyncio.Task[None]) -> None:
    bot.stop()
    await asyncio.wait_for(task, timeout=30)


# -- what every member of an encrypted room sees ------------------------------------------


def from_bot(bot_id: str, event_type: str) -> Callable[[Event], bool]:
    return lambda e: e.get("sender") == bot_id and e.get("type") == event_type


def undecryptable(person: Person, bot_id: str) -> list[Event]:
    """The bot's events this member's client received but could not decrypt."""
    return [e for _, e in person.events if from_bot(bot_id, "m.room.encrypted")(e)]


def decrypted_answers(person: Person, room_id: str, bot_id: str, asked: list[str]) -> Counter:
    """How many decrypted replies of the bot to each of ``asked`` this member received."""
    counts: Counter[str] = Counter()
    for event_id in asked:
        check = replies_to(event_id)
        counts[event_id] = len(
            person.received(
                room_id, lambda e, c=check: from_bot(bot_id, "m.room.message")(e) and c(e)
            )
        )
    return counts


async def wait_for_decrypted_answers(
    people: list[Person], room_id: str, bot_id: str, asked: list[str], wait_s: float = 120.0
) -> None:
    for person in people:
        await person.wait_until(
            lambda p=person: all(decrypted_answers(p, room_id, bot_id, asked).values()),
            wait_s,
            what=f"decrypted answers to {len(asked)} commands",
        )


async def encrypted_barrier(person: Person, room_id: str, bot_id: str) -> None:
    """``!ping`` answered, decrypted: every event sent to the room before it was handled."""
    asked = await person.send(room_id, "!ping")
    await wait_for_decrypted_answers([person], room_id, bot_id, [asked], wait_s=60)


def assert_each_answered_once(
    people: list[Person], room_id: str, bot_id: str, asked: list[str]
) -> None:
    for person in people:
        counts = decrypted_answers(person, room_id, bot_id, asked)
        wrong = {e: n for e, n in counts.items() if n != 1}
        assert not wrong, f"{person.user_id}: answers not exactly once: {wrong}"
        assert undecryptable(person, bot_id) == [], f"{person.user_id}: unable to decrypt"


# -- the tests ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "outage_s", [5, pytest.param(20, marks=pytest.mark.slow)], ids=["5s", "20s"]
)
async def test_homeserver_restart(neighbourhood, outage_s: int) -> None:
    place = await neighbourhood()
    beheerder = await place.person("beheerder")
    residents = [await place.person("bewoner") for _ in range(2)]
    people = [beheerder, *residents]
    bot, task = await run_bot(place)
    try:
        room = await place.encrypted_room(beheerder, residents, "Buurtpreventie Oost")
        bot_id = place.bot.user_id
        before = [await residents[n % 2].send(room, "!ping") for n in range(3)]
        await wait_for_decrypted_answers(people, room, bot_id, before)

        await place.synapse.stop()
        failed = 0
        for _ in range(outage_s):  # residents keep trying; their phones get errors
            try:
                await residents[0].session.send_text(room, "!ping")
            except aiohttp.ClientError:
                failed += 1
            await asyncio.sleep(1)
        assert failed == outage_s, "the homeserver was supposed to be down"
        await place.synapse.start()

        after = [await residents[n % 2].send(room, "!ping") for n in range(3)]
        await wait_for_decrypted_answers(people, room, bot_id, after)
        await encrypted_barrier(beheerder, room, bot_id)  # a duplicate would have come first
        assert_each_answered_once(people, room, bot_id, before + after)
        assert not task.done(), "the bot must reconnect by itself, not stop"
    finally:
        await stop_bot(bot, task)


def exclusive_lock(path: Path) -> sqlite3.Connection:
    """Another process holding the write lock."""
    blocker = sqlite3.connect(path, timeout=30, check_same_thread=False)
    blocker.execute("BEGIN EXCLUSIVE")
    return blocker


async def test_locked_database_is_waited_out(neighbourhood, caplog) -> None:
    caplog.set_level(logging.INFO, logger="bot")
    place = await neighbourhood()
    bot, task = await run_bot(place)
    try:
        await place.wait_for_bot_in_room()
        # Taking the lock waits for whatever the bot is writing right now (start-up work such
        # as the member history or the scheduler may hold a transaction for a moment). The
        # wait runs in a thread: the bot shares this event loop, and a transaction it began
        # cannot commit while the loop is blocked on the lock (a deadlock until the timeout).
        blocker = await asyncio.to_thread(exclusive_lock, bot.settings.database_path)
        asked = [await place.beheerder.send_text(place.room_id, "!ping") for _ in range(3)]

        def locked_lines() -> list[str]:
            return [
                r.getMessage()
                for r in caplog.records
                if r.name.startswith("bot")
                and r.levelno == logging.ERROR
                and "database unavailable (database is locked)" in r.getMessage()
                and "retrying" in r.getMessage()
            ]

        async def logged() -> bool:  # once the busy timeout (10 s) has run out
            return bool(locked_lines())

        await eventually(logged, "a clear 'database unavailable ... retrying' error", 60)
        during = await place.answers()
        assert not any(during[e] for e in asked), "nothing can be recorded while locked"
        blocker.rollback()
        blocker.close()
        await place.wait_for_answers(asked)
        await place.barrier()
        counts = await place.answers()
        assert all(counts[e] == 1 for e in asked), counts
        assert await bot.services.store.db.integrity_check() == "ok"
    finally:
        await stop_bot(bot, task)


async def test_default_rate_limits_slow_down_but_complete(neighbourhood, caplog) -> None:
    # Synapse's own defaults (rc_message 0.2/s, burst 10) and a bot that was NOT exempted:
    # answering 13 commands needs several M_LIMIT_EXCEEDED waits with retry_after_ms.
    watch_rate_limits(caplog)
    place = await neighbourhood(limits={}, exempt_bot=False)
    others = []
    for _ in range(3):  # residents are rate-limited too: spread the commands over three
        user = await place.synapse.register(unique("bewoner"))
        session = UserSession(place.synapse.url, user.user_id, user.access_token)
        await place.beheerder.invite(place.room_id, user.user_id)
        await session.join(place.room_id)
        others.append(session)
    bot, task = await run_bot(place)
    try:
        await place.wait_for_bot_in_room()
        asked = []
        for n in range(13):
            asked.append(await others[n % 3].send_text(place.room_id, "!ping"))
        counts = await place.wait_for_answers(asked, wait_s=120)
        assert all(counts[e] == 1 for e in asked), counts
        synapse_log = place.synapse.base_dir / "homeserver.log"
        await assert_rate_limited_and_waited(caplog, synapse_log, place.bot.user_id)
    finally:
        await stop_bot(bot, task)


@pytest.mark.parametrize(
    "kills", [2, pytest.param(6, marks=pytest.mark.slow)], ids=["2-kills", "6-kills"]
)
async def test_kill_9_during_a_busy_stream(neighbourhood, tmp_path: Path, kills: int) -> None:
    place = await neighbourhood()
    bot_id = place.bot.user_id
    beheerder = await place.person("beheerder")
    bewoner = await place.person("bewoner")
    agent = await place.person("agent")
    coordination = await place.encrypted_room(beheerder, [agent], "Beheerders", False)
    settings = {
        "BUURTBOT_COORDINATION_ROOM": coordination,
        "BUURTBOT_POLICE_USERS": f'["{agent.user_id}"]',
    }
    bot = BotProcess(place.synapse.url, bot_id, place.bot.password, tmp_path / "bot", settings)
    await bot.start()
    await place.wait_for_bot_in_room(coordination, beheerder.session)
    watch_rooms = [await place.encrypted_room(beheerder, [bewoner], f"Wijk {n}") for n in range(4)]
    stream_room = watch_rooms[0]
    asked: list[str] = []
    reports: list[str] = []
    bulletins: list[str] = []

    async def stream() -> None:
        texts = ["!ping", "Verdachte man bij de schuur aan de Kerkstraat", "!hulp", "!ping"]
        for n in range(20 * kills):
            text = texts[n % len(texts)]
            event_id = await beheerder.send(stream_room, text)  # a moderator: never muted
            (asked if text.startswith("!") else reports).append(event_id)
            if n % 10 == 5:  # now and then a police bulletin fans out to every watch room
                bulletins.append(f"Bulletin {n}")
                await agent.send(coordination, f"!bericht Bulletin {n}")
            await asyncio.sleep(0.05)

    sender = asyncio.create_task(stream())
    try:
        rng = random.Random(kills)
        for _ in range(kills):
            await asyncio.sleep(rng.uniform(0.3, 1.5))
            bot.kill()
            await bot.start()
        await sender
        people = [beheerder, bewoner]
        await wait_for_decrypted_answers(people, stream_room, bot_id, asked)
        for room_id in watch_rooms:
            for person in people:
                await wait_for_copies(person, room_id, bot_id, bulletins)
        await encrypted_barrier(beheerder, stream_room, bot_id)
        assert_each_answered_once(people, stream_room, bot_id, asked)
        reactions = Counter(
            e["content"]["m.relates_to"]["event_id"]
            for _, e in bewoner.events
            if from_bot(bot_id, "m.reaction")(e)
        )
        assert all(reactions[r] == 1 for r in reports), reactions
        for room_id in watch_rooms:
            for person in people:
                copies = bulletin_copies(person, room_id, bot_id, bulletins)
                assert all(copies[b] == 1 for b in bulletins), (person.user_id, room_id, copies)
        for person in [*people, agent]:
            assert undecryptable(person, bot_id) == [], f"{person.user_id}: unable to decrypt"
    finally:
        sender.cancel()
        await bot.stop()
    with sqlite3.connect(tmp_path / "bot" / "buurtbot.sqlite3") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.execute("SELECT COUNT(*) FROM inbox").fetchone()[0] == 0


def bulletin_copies(person: Person, room_id: str, bot_id: str, texts: list[str]) -> Counter[str]:
    """How many decrypted copies of each bulletin text a member received (edits not counted)."""
    copies: Counter[str] = Counter()
    for event in person.received(room_id, from_bot(bot_id, "m.room.message")):
        content = event.get("content", {})
        if "m.new_content" in content:
            continue
        last_line = str(content.get("body", "")).strip().split("\n")[-1].strip()
        if last_line in texts:
            copies[last_line] += 1
    return copies


async def wait_for_copies(person: Person, room_id: str, bot_id: str, texts: list[str]) -> None:
    await person.wait_until(
        lambda: all(bulletin_copies(person, room_id, bot_id, texts)[t] for t in texts),
        120,
        what=f"every bulletin in {room_id}",
    )


async def test_backlog_longer_than_one_sync_is_not_lost(neighbourhood) -> None:
    # More events than one sync returns per room: the timeline comes back "limited" and the
    # bot must fetch the gap itself.
    place = await neighbourhood()
    bot, task = await run_bot(place)
    await place.wait_for_bot_in_room()
    await stop_bot(bot, task)
    asked = [await place.beheerder.send_text(place.room_id, "!ping") for _ in range(130)]
    bot, task = await run_bot(place)
    try:
        await place.wait_for_answers(asked)
        counts = await place.answers()
        assert all(counts[e] == 1 for e in asked)
    finally:
        await stop_bot(bot, task)
