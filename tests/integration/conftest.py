"""Real homeserver fixtures: one Synapse per test session, real E2EE clients, real bots.

By default a Synapse is started from the installed package on a free loopback port in a temp
dir (never port 8008, never the user's data). To run the same suite against the Synapse
container from docker-compose.yml instead, set ``BUURTBOT_TEST_HOMESERVER`` (its URL) and
``BUURTBOT_TEST_REGISTRATION_SECRET`` (its registration shared secret).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
from nio import AsyncClient, AsyncClientConfig

from bot.app import Bot, FeatureFactory, default_features
from bot.devserver.rooms import UserSession
from bot.devserver.synapse import LocalSynapse, RegisteredUser
from bot.features.base import Feature
from bot.features.bulletins import BulletinsFeature
from bot.services import Services
from bot.settings import Settings, load_settings

INTEGRATION_DIR = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test in this directory ``integration``, so ``-m integration`` selects them all.

    A ``pytestmark`` here would mark nothing: it only applies to tests in the module defining it.
    """
    for item in items:
        if item.path.is_relative_to(INTEGRATION_DIR):
            item.add_marker(pytest.mark.integration)


# Test users post far faster than people do; lift the per-user limits for them. The bot itself
# is exempted through the admin API exactly as the operator docs describe.
RELAXED_LIMITS = {
    "rc_message": {"per_second": 1000, "burst_count": 1000},
    "rc_login": {
        "address": {"per_second": 1000, "burst_count": 1000},
        "account": {"per_second": 1000, "burst_count": 1000},
        "failed_attempts": {"per_second": 1000, "burst_count": 1000},
    },
    "rc_registration": {"per_second": 1000, "burst_count": 1000},
    "rc_joins": {
        "local": {"per_second": 1000, "burst_count": 1000},
        "remote": {"per_second": 1000, "burst_count": 1000},
    },
    "rc_invites": {
        "per_room": {"per_second": 1000, "burst_count": 1000},
        "per_user": {"per_second": 1000, "burst_count": 1000},
    },
    "rc_joins_per_room": {"per_second": 1000, "burst_count": 1000},
    "rc_room_creation": {"per_second": 1000, "burst_count": 1000},
}

_counter = itertools.count()
T = TypeVar("T")


def unique(prefix: str) -> str:
    return f"{prefix}{os.getpid()}x{next(_counter)}"


async def eventually(
    check: Callable[[], Awaitable[T]], what: str, wait_s: float = 30.0, interval_s: float = 0.1
) -> T:
    """Poll ``check`` (a database row, a room's members…) until it returns something truthy.

    Returns that value; after ``wait_s`` the test fails naming ``what`` it was waiting for.
    """
    deadline = time.monotonic() + wait_s
    while not (result := await check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {wait_s:.0f} s: {what}")
        await asyncio.sleep(interval_s)
    return result


async def barrier(person: Person, room_id: str, bot_user_id: str, wait_s: float = 30.0) -> str:
    """Send ``!ping`` and wait for the bot's pong; returns the ping's event ID.

    The bot handles a room's events one after the other, so once the pong is there, everything
    sent to the room before the ping has been handled: "nothing happened" can be asserted then,
    exactly, however slow the machine is, instead of after a sleep that may be too short.
    """
    asked = await person.send(room_id, "!ping")
    await person.wait_for(
        room_id,
        lambda e: from_sender(bot_user_id)(e) and replies_to(asked)(e),
        wait_s,
        what=f"pong to the barrier !ping in {room_id}",
    )
    return asked


# Synapse's access log: "{@user:server} Processed request: ... 154B 429 "PUT /path HTTP/1.1"".
_ACCESS_LINE = re.compile(r'\{(@[^}]+)\} Processed request: .* (\d{3}) "([A-Z]+) (\S+) HTTP')
_NIO_WAIT = re.compile(r"Got 429 response \(ratelimited\), sleeping for (\d+)ms")


def refused_for_rate(synapse_log: Path, user_id: str) -> list[str]:
    """Requests of ``user_id`` that Synapse answered 429 (M_LIMIT_EXCEEDED), from its own log."""
    refused = []
    for line in synapse_log.read_text(errors="replace").splitlines():
        match = _ACCESS_LINE.search(line)
        if match and match[1] == user_id and match[2] == "429":
            refused.append(f"{match[3]} {match[4]}")
    return refused


def rate_limit_waits(caplog: pytest.LogCaptureFixture) -> list[int]:
    """Each wait (ms) nio logged before retrying a request refused with M_LIMIT_EXCEEDED.

    Needs ``watch_rate_limits(caplog)``; only the bot may use nio in such a test.
    """
    return [
        int(match[1])
        for record in caplog.records
        if record.name.startswith("nio") and (match := _NIO_WAIT.search(record.getMessage()))
    ]


async def assert_rate_limited_and_waited(
    caplog: pytest.LogCaptureFixture, synapse_log: Path, bot_user_id: str
) -> None:
    """Synapse refused the bot's messages with 429, and the bot waited out every refusal.

    Call it while the bot still runs: each refusal in Synapse's log reaches the bot (and its
    log line) a moment later, so the bot's waits catch up with the refusals read here.
    """
    refused = refused_for_rate(synapse_log, bot_user_id)
    assert any("/send/m.room.message/" in r for r in refused), f"never rate-limited: {refused}"

    async def every_refusal_waited_out() -> bool:
        return len(rate_limit_waits(caplog)) >= len(refused)

    await eventually(every_refusal_waited_out, "a retry_after_ms wait for each 429", 10)
    assert all(ms > 0 for ms in rate_limit_waits(caplog))


def watch_rate_limits(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="nio")


class ExternalHomeserver:
    """An already-running homeserver (e.g. the compose container), driven the same way."""

    def __init__(self, url: str, secret: str) -> None:
        self.url = url.rstrip("/")
        self._secret = secret

    @property
    def registration_secret(self) -> str:
        return self._secret

    async def register(self, username: str, password: str | None = None, *, admin: bool = False):
        return await LocalSynapse.register(self, username, password, admin=admin)  # type: ignore[arg-type]

    async def exempt_from_ratelimit(self, admin_token: str, user_id: str) -> None:
        await LocalSynapse.exempt_from_ratelimit(self, admin_token, user_id)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
async def homeserver(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Any]:
    url = os.environ.get("BUURTBOT_TEST_HOMESERVER")
    if url:
        yield ExternalHomeserver(url, os.environ["BUURTBOT_TEST_REGISTRATION_SECRET"])
        return
    synapse = LocalSynapse(tmp_path_factory.mktemp("synapse"), extra_config=RELAXED_LIMITS)
    await synapse.start()
    try:
        yield synapse
    finally:
        await synapse.stop()


@pytest.fixture(scope="session")
async def admin(homeserver: Any) -> RegisteredUser:
    return await homeserver.register(unique("admin"), admin=True)


@dataclass
class Person:
    """A person with a real E2EE client that syncs in the background and remembers events."""

    account: RegisteredUser
    client: AsyncClient
    session: UserSession
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    _sync: asyncio.Task[None] | None = None

    @property
    def user_id(self) -> str:
        return self.account.user_id

    async def send(self, room_id: str, body: str, **extra: Any) -> str:
        content = {"msgtype": "m.text", "body": body, **extra}
        return await self.send_event(room_id, "m.room.message", content)

    async def send_event(self, room_id: str, event_type: str, content: dict[str, Any]) -> str:
        response = await self.client.room_send(
            room_id, event_type, content, ignore_unverified_devices=True
        )
        if not hasattr(response, "event_id"):
            raise AssertionError(f"{self.user_id} could not send to {room_id}: {response}")
        return str(response.event_id)

    async def join(self, room_id: str) -> None:
        await self.session.join(room_id)
        await self.wait_until(lambda: room_id in self.client.rooms, what=f"join {room_id}")

    async def wait_until(
        self, condition: Callable[[], bool], wait_s: float = 30.0, what: str = "condition"
    ) -> None:
        deadline = time.monotonic() + wait_s
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.user_id}: timed out waiting for {what}")
            await asyncio.sleep(0.1)

    def received(self, room_id: str, predicate: Callable[[dict[str, Any]], bool]) -> list[dict]:
        return [event for rid, event in self.events if rid == room_id and predicate(event)]

    async def wait_for(
        self,
        room_id: str,
        predicate: Callable[[dict[str, Any]], bool],
        wait_s: float = 30.0,
        what: str = "event",
    ) -> dict[str, Any]:
        await self.wait_until(lambda: bool(self.received(room_id, predicate)), wait_s, what)
        return self.received(room_id, predicate)[0]

    async def raw_history(self, room_id: str, limit: int = 100) -> list[dict[str, Any]]:
        """Events as the server stores them (still encrypted in an encrypted room)."""
        return await self.session.messages(room_id, limit)


def replies_to(event_id: str) -> Callable[[dict[str, Any]], bool]:
    def check(event: dict[str, Any]) -> bool:
        relates = event.get("content", {}).get("m.relates_to", {})
        return relates.get("m.in_reply_to", {}).get("event_id") == event_id

    return check


def from_sender(user_id: str) -> Callable[[dict[str, Any]], bool]:
    return lambda event: event.get("sender") == user_id


async def connect(
    homeserver_url: str,
    account: RegisteredUser,
    store_dir: Path,
    display_name: str | None = None,
    max_backoff_s: float = 60.0,
) -> Person:
    """A real E2EE client for ``account`` that syncs in the background and records every event.

    ``max_backoff_s`` caps nio's wait between retries when the homeserver is unreachable; the
    fault tests lower it so clients come back quickly after a homeserver restart.
    """
    store_dir.mkdir(parents=True)
    client = AsyncClient(
        homeserver_url,
        account.user_id,
        device_id=account.device_id,
        store_path=str(store_dir),
        config=AsyncClientConfig(
            encryption_enabled=True,
            store_sync_tokens=False,
            max_timeout_retry_wait_time=max_backoff_s,
        ),
    )
    client.restore_login(account.user_id, account.device_id, account.access_token)
    user = Person(
        account, client, UserSession(homeserver_url, account.user_id, account.access_token)
    )
    if display_name:
        path = f"/_matrix/client/v3/profile/{account.user_id}/displayname"
        await user.session.request("PUT", path, {"displayname": display_name})

    async def remember(room: Any, event: Any) -> None:
        user.events.append((room.room_id, event.source))

    client.add_event_callback(remember, (object,))  # type: ignore[arg-type]
    await client.keys_upload()
    await client.sync(timeout=0, full_state=True)
    user._sync = asyncio.create_task(client.sync_forever(timeout=1000))
    return user


async def disconnect(user: Person) -> None:
    if user._sync is not None:
        user._sync.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await user._sync
    await user.client.close()


@pytest.fixture
async def make_user(
    homeserver: Any, tmp_path: Path
) -> AsyncIterator[Callable[..., Awaitable[Person]]]:
    users: list[Person] = []

    async def make(prefix: str = "user", display_name: str | None = None) -> Person:
        account = await homeserver.register(unique(prefix))
        store = tmp_path / f"store-{account.user_id[1:].split(':')[0]}"
        user = await connect(homeserver.url, account, store, display_name)
        users.append(user)
        return user

    yield make
    for user in users:
        await disconnect(user)


@dataclass
class RunningBot:
    bot: Bot
    task: asyncio.Task[None]
    settings: Settings

    @property
    def user_id(self) -> str:
        return self.settings.user_id

    async def stop(self) -> None:
        self.bot.stop()
        await asyncio.wait_for(self.task, timeout=30)


@dataclass
class BotAccount:
    account: RegisteredUser
    data_dir: Path


@pytest.fixture
async def bot_account(homeserver: Any, admin: RegisteredUser, tmp_path: Path) -> BotAccount:
    account = await homeserver.register(unique("bot"))
    await homeserver.exempt_from_ratelimit(admin.access_token, account.user_id)
    return BotAccount(account, tmp_path / "bot")


def only_bulletins(services: Services) -> list[Feature]:
    """A bot with nothing but the bulletins feature, for fan-out and encryption tests."""
    return [BulletinsFeature(services)]


async def police_coordination(
    beheerder: Person,
    agent: Person,
    start_bot: Callable[..., Awaitable[RunningBot]],
    features: FeatureFactory = only_bulletins,
) -> tuple[RunningBot, str]:
    """An encrypted coordination room of the beheerder with the wijkagent as police account,
    and a bot started for it and joined; returns the bot and the room."""
    coordination = await beheerder.session.create_room(
        "Beheerders", encrypted=True, invite=[agent.user_id]
    )
    await agent.join(coordination)
    bot = await start_bot(
        features=features, coordination_room=coordination, police_users=[agent.user_id]
    )
    await beheerder.session.invite(coordination, bot.user_id)
    await agent.wait_until(
        lambda: bot.user_id in agent.client.rooms[coordination].users, what="bot in coord"
    )
    return bot, coordination


@pytest.fixture
async def start_bot(
    homeserver: Any, bot_account: BotAccount
) -> AsyncIterator[Callable[..., Awaitable[RunningBot]]]:
    running: list[RunningBot] = []

    async def start(features: FeatureFactory = default_features, **overrides: Any) -> RunningBot:
        values: dict[str, Any] = {
            "homeserver": homeserver.url,
            "user_id": bot_account.account.user_id,
            "password": bot_account.account.password,
            "data_dir": bot_account.data_dir,
            "allowed_inviters": [f"*:{bot_account.account.user_id.split(':', 1)[1]}"],
            "sync_timeout_ms": 2000,
            **overrides,
        }
        settings = load_settings(**values)
        bot = Bot(settings, features)
        task = asyncio.create_task(bot.run())
        ready = asyncio.create_task(bot.ready.wait())
        done, _ = await asyncio.wait({task, ready}, timeout=60, return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            task.result()  # raises the start-up error
        assert ready in done, "bot did not become ready within 60 s"
        handle = RunningBot(bot, task, settings)
        running.append(handle)
        return handle

    yield start
    for handle in running:
        if not handle.task.done():
            await handle.stop()


async def room_with_bot(
    owner: Person,
    bot_user_id: str,
    members: list[Person],
    *,
    encrypted: bool = True,
    name: str = "Buurtpreventie Test",
    power_users: dict[str, int] | None = None,
) -> str:
    """A room the owner creates, with the bot and members invited and joined."""
    room_id = await owner.session.create_room(
        name,
        encrypted=encrypted,
        invite=[bot_user_id, *(m.user_id for m in members)],
        power_users={bot_user_id: 100, **(power_users or {})},
    )
    await owner.wait_until(lambda: room_id in owner.client.rooms, what="own room")
    for member in members:
        await member.join(room_id)
    await owner.wait_until(
        lambda: bot_user_id in owner.client.rooms[room_id].users, what="bot to join"
    )
    return room_id


async def neighbourhood(make_user, start_bot, **settings: Any):
    """A beheerder, a bewoner, a coordination room and an encrypted watch room with the bot.

    Returns ``(bot, beheerder, bewoner, coordination_room_id, watch_room_id)``.
    """
    beheerder: Person = await make_user("beheerder", display_name="Bea Beheer")
    bewoner: Person = await make_user("bewoner", display_name="Bram Bewoner")
    coordination = await beheerder.session.create_room("Beheerders", encrypted=True)
    bot = await start_bot(coordination_room=coordination, **settings)
    await beheerder.session.invite(coordination, bot.user_id)
    await beheerder.wait_until(lambda: coordination in beheerder.client.rooms, what="coord room")
    await beheerder.wait_until(
        lambda: bot.user_id in beheerder.client.rooms[coordination].users, what="bot in coord"
    )
    watch = await room_with_bot(beheerder, bot.user_id, [bewoner], name=unique("Noord"))
    return bot, beheerder, bewoner, coordination, watch
