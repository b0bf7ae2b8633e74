"""Faults the bot must survive with nothing lost and nothing doubled, on real homeservers.

These tests start homeservers of their own (a restart or default rate limits must not disturb
the rest of the suite) and use plain rooms driven over HTTP, so residents' sends during an
outage fail the way a phone's would. The long variants run with ``-m slow``.
"""

from __future__ import annotations

import asyncio
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
from tests.integration.conftest import RELAXED_LIMITS, eventually, unique

PLAIN_ROOMS = {"encryption_enabled_by_default_for_room_type": "off"}


class Neighbourhood:
    """A homeserver of this test's own with a bot account, a beheerder and a plain room."""

    def __init__(self, synapse: LocalSynapse, tmp_path: Path) -> None:
        self.synapse = synapse
        self.tmp_path = tmp_path
        self.bot: RegisteredUser
        self.beheerder: UserSession
        self.room_id: str

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

    async def wait_for_bot_in_room(self, room_id: str | None = None) -> None:
        async def joined() -> bool:
            return self.bot.user_id in await self.beheerder.joined_members(room_id or self.room_id)

        await eventually(joined, "the bot did not join")

    async def answers(self) -> Counter[str]:
        """How many replies the bot sent to each event."""
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


@pytest.fixture
async def neighbourhood(
    tmp_path: Path,
) -> AsyncIterator[Callable[..., Awaitable[Neighbourhood]]]:
    started: list[LocalSynapse] = []

    async def make(limits: dict[str, Any] | None = None, exempt_bot: bool = True) -> Neighbourhood:
        config = {**PLAIN_ROOMS, **(RELAXED_LIMITS if limits is None else limits)}
        synapse = LocalSynapse(tmp_path / "synapse", extra_config=config)
        started.append(synapse)
        await synapse.start()
        place = Neighbourhood(synapse, tmp_path)
        await place.setup(exempt_bot)
        return place

    yield make
    for synapse in started:
        await synapse.stop()


async def run_bot(place: Neighbourhood, **overrides: Any) -> tuple[Bot, asyncio.Task[None]]:
    bot = Bot(load_settings(**place.settings(**overrides)))
    task = asyncio.create_task(bot.run())
    await asyncio.wait_for(bot.ready.wait(), timeout=60)
    return bot, task


async def stop_bot(bot: Bot, task: asyncio.Task[None]) -> None:
    bot.stop()
    await asyncio.wait_for(task, timeout=30)


@pytest.mark.parametrize(
    "outage_s", [5, pytest.param(20, marks=pytest.mark.slow)], ids=["5s", "20s"]
)
async def test_homeserver_restart(neighbourhood, outage_s: int) -> None:
    place = await neighbourhood()
    bot, task = await run_bot(place)
    try:
        await place.wait_for_bot_in_room()
        before = [await place.beheerder.send_text(place.room_id, "!ping") for _ in range(3)]
        await place.wait_for_answers(before)

        await place.synapse.stop()
        failed = 0
        for _ in range(outage_s):  # residents keep trying; their phones get errors
            try:
                await place.beheerder.send_text(place.room_id, "!ping")
            except aiohttp.ClientError:
                failed += 1
            await asyncio.sleep(1)
        assert failed == outage_s, "the homeserver was supposed to be down"
        await place.synapse.start()

        after = [await place.beheerder.send_text(place.room_id, "!ping") for _ in range(3)]
        await place.wait_for_answers(after)
        await asyncio.sleep(3)  # room for a duplicate to show up
        counts = await place.answers()
        assert all(counts[e] == 1 for e in before + after), counts
        assert not task.done(), "the bot must reconnect by itself, not stop"
    finally:
        await stop_bot(bot, task)


async def test_locked_database_is_waited_out(neighbourhood) -> None:
    place = await neighbourhood()
    bot, task = await run_bot(place)
    try:
        await place.wait_for_bot_in_room()
        blocker = sqlite3.connect(bot.settings.database_path, timeout=1)
        blocker.execute("BEGIN EXCLUSIVE")  # another process holding the write lock
        asked = [await place.beheerder.send_text(place.room_id, "!ping") for _ in range(3)]
        await asyncio.sleep(13)  # longer than the bot's busy timeout of 10 s
        during = await place.answers()
        assert not any(during[e] for e in asked), "nothing can be recorded while locked"
        blocker.rollback()
        blocker.close()
        await place.wait_for_answers(asked)
        await asyncio.sleep(2)
        counts = await place.answers()
        assert all(counts[e] == 1 for e in asked), counts
        assert await bot.services.store.db.integrity_check() == "ok"
    finally:
        await stop_bot(bot, task)


async def test_default_rate_limits_slow_down_but_complete(neighbourhood) -> None:
    # Synapse's own defaults (rc_message 0.2/s, burst 10) and a bot that was NOT exempted:
    # answering 13 commands needs several M_LIMIT_EXCEEDED waits with retry_after_ms.
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
    finally:
        await stop_bot(bot, task)


@pytest.mark.parametrize(
    "kills", [2, pytest.param(6, marks=pytest.mark.slow)], ids=["2-kills", "6-kills"]
)
async def test_kill_9_during_a_busy_stream(neighbourhood, tmp_path: Path, kills: int) -> None:
    place = await neighbourhood()
    beheerder = place.beheerder
    coordination = await beheerder.create_room(
        "Beheerders", encrypted=False, invite=[place.bot.user_id]
    )
    watch_rooms = [place.room_id] + [
        await beheerder.create_room(
            f"Wijk {n}",
            encrypted=False,
            invite=[place.bot.user_id],
            power_users={place.bot.user_id: 100},
        )
        for n in range(3)
    ]
    settings = {
        "BUURTBOT_COORDINATION_ROOM": coordination,
        "BUURTBOT_POLICE_USERS": f'["{beheerder.user_id}"]',
    }
    bot = BotProcess(
        place.synapse.url, place.bot.user_id, place.bot.password, tmp_path / "bot", settings
    )
    await bot.start()
    for room_id in [coordination, *watch_rooms]:
        await place.wait_for_bot_in_room(room_id)
    asked: list[str] = []
    reports: list[str] = []
    bulletins: list[str] = []

    async def stream() -> None:
        texts = ["!ping", "Verdachte man bij de schuur aan de Kerkstraat", "!hulp", "!ping"]
        for n in range(20 * kills):
            text = texts[n % len(texts)]
            event_id = await beheerder.send_text(place.room_id, text)
            (asked if text.startswith("!") else reports).append(event_id)
            if n % 10 == 5:  # now and then a police bulletin fans out to every watch room
                bulletins.append(f"Bulletin {n}")
                await beheerder.send_text(coordination, f"!bericht Bulletin {n}")
            await asyncio.sleep(0.05)

    sender = asyncio.create_task(stream())
    try:
        rng = random.Random(kills)
        for _ in range(kills):
            await asyncio.sleep(rng.uniform(0.3, 1.5))
            bot.kill()
            await bot.start()
        await sender
        await place.wait_for_answers(asked, wait_s=120)
        for room_id in watch_rooms:
            await wait_for_copies(place, room_id, bulletins)
        await asyncio.sleep(2)
        counts = await place.answers()
        doubled = {e: n for e, n in counts.items() if n > 1}
        assert not doubled, f"commands answered twice after kill -9: {doubled}"
        reactions = Counter(
            e["content"]["m.relates_to"]["event_id"]
            for e in await beheerder.messages(place.room_id, limit=1000)
            if e.get("sender") == place.bot.user_id and e.get("type") == "m.reaction"
        )
        assert all(reactions[r] == 1 for r in reports), reactions
        for room_id in watch_rooms:
            copies = await bulletin_copies(place, room_id, bulletins)
            assert all(copies[b] == 1 for b in bulletins), (room_id, copies)
    finally:
        sender.cancel()
        await bot.stop()
    with sqlite3.connect(tmp_path / "bot" / "buurtbot.sqlite3") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.execute("SELECT COUNT(*) FROM inbox").fetchone()[0] == 0


async def bulletin_copies(place: Neighbourhood, room_id: str, texts: list[str]) -> Counter[str]:
    """How many relayed copies of each bulletin text the room holds (edits not counted)."""
    copies: Counter[str] = Counter()
    for event in await place.beheerder.messages(room_id, limit=1000):
        content = event.get("content", {})
        if event.get("sender") != place.bot.user_id or "m.new_content" in content:
            continue
        last_line = str(content.get("body", "")).strip().split("\n")[-1].strip()
        if last_line in texts:
            copies[last_line] += 1
    return copies


async def wait_for_copies(place: Neighbourhood, room_id: str, texts: list[str]) -> None:
    for _ in range(240):
        copies = await bulletin_copies(place, room_id, texts)
        if all(copies[t] for t in texts):
            return
        await asyncio.sleep(0.5)
    raise AssertionError(f"bulletins missing in {room_id}: {set(texts) - set(copies)}")


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
