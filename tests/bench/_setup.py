"""Shared set-up for the homeserver benchmarks (latency, cold start, catch-up).

Each benchmark needs the same scaffolding: its own Synapse in a temporary directory with the
per-user rate limits lifted (the bot itself is exempted through the admin API, as the operator
docs say), hundreds of accounts and rooms created quickly, the bot as a *separate process* (so
its RSS is honest), a read-only look into the bot's SQLite, and a table of figures at the end.
Keeping that here means the three scripts only hold what they measure.

Setup speed matters on a small (2-core) machine, where Synapse is the bottleneck: accounts are
registered with cheap bcrypt rounds, rooms are created and joined concurrently under one
semaphore, and all hot-path requests share one pooled HTTP session.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import shutil
import sqlite3
import sys
import tempfile
import time
import traceback
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import aiohttp
import psutil

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run as `python tests/bench/bench_x.py` from anywhere
    sys.path.insert(0, str(ROOT))

from bot.devserver.synapse import LocalSynapse, RegisteredUser  # noqa: E402
from tests.botprocess import BotProcess  # noqa: E402
from tests.integration.conftest import RELAXED_LIMITS  # noqa: E402

T = TypeVar("T")

# Benchmark rooms are unencrypted: the shared policy encrypts every private room by default,
# which would make the measuring clients need E2EE and measure olm/megolm instead of the bot.
# bcrypt_rounds=4 makes registering hundreds of accounts take seconds instead of minutes; it
# changes nothing the bot sees.
BENCH_SYNAPSE_CONFIG: dict[str, Any] = {
    **RELAXED_LIMITS,
    "rc_room_creation": {"per_second": 1000, "burst_count": 1000},  # not in RELAXED_LIMITS
    "encryption_enabled_by_default_for_room_type": "off",
    "bcrypt_rounds": 4,
}
SETUP_NOTE = (
    "Synapse: own temp instance, relaxed per-user rate limits (tests' RELAXED_LIMITS), bot "
    "exempted via override_ratelimit, encryption_enabled_by_default_for_room_type=off "
    "(unencrypted rooms), bcrypt_rounds=4."
)


# -- small utilities --------------------------------------------------------------------------


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile; NaN for no values (printed as "n/a", never a crash)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


async def bounded(
    limit: int, factories: Iterable[Callable[[], Awaitable[T]]], label: str = ""
) -> list[T]:
    """Run coroutine factories concurrently, at most ``limit`` at a time, results in order.

    Synapse on two cores saturates at a few dozen requests in flight; more only adds queueing.
    """
    semaphore = asyncio.Semaphore(limit)
    items = list(factories)
    done = 0
    started = time.monotonic()

    async def one(factory: Callable[[], Awaitable[T]]) -> T:
        nonlocal done
        async with semaphore:
            result = await factory()
        done += 1
        if label and (done % 500 == 0 or done == len(items)):
            print(f"  {label}: {done}/{len(items)} ({time.monotonic() - started:.0f} s)")
        return result

    return list(await asyncio.gather(*(one(f) for f in items)))


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def common_arguments(parser: argparse.ArgumentParser, *, rooms: int, members: int) -> None:
    parser.add_argument("--rooms", type=int, default=rooms, help=f"watch rooms (default {rooms})")
    parser.add_argument(
        "--members",
        type=int,
        default=members,
        help=f"human members per room incl. its creator, plus the bot (default {members})",
    )
    parser.add_argument(
        "--concurrency", type=int, default=24, help="requests in flight during setup"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp dir for inspection")


# -- what residents write ----------------------------------------------------------------------

_STREETS = ["Kerkstraat", "Merelstraat", "Dorpsweg", "Populierenlaan", "Vaart", "Molenweg"]
_REPORTS = [
    "Verdachte man bij de schuur aan de {street} {n}",
    "Gisteravond ingebroken in de garage aan de {street} {n}, twee fietsen weg",
    "Vannacht is de auto van de buren opengebroken op de {street}, ruit ingeslagen",
    "Verdachte zilveren Skoda rijdt al de hele middag rondjes door de {street}",
    "Pas op: twee mannen aan de deur die zeggen dat ze van de gemeente komen, babbeltruc",
    "Fiets gestolen bij het station, zwarte Gazelle met rood krat, {street} kant",
    "Bushokje aan de {street} vernield, overal glas",
    "Er wordt al weken gedeald vanuit een grijze Golf bij de sporthal aan de {street}",
    "Brievenbus van de {street} {n} opgeblazen met vuurwerk",
    "Katalysator gestolen van een Toyota Prius in de {street} vannacht",
]
_URGENT = [
    "Er klimt NU iemand over de schutting bij nummer {n} aan de {street}",
    "Op dit moment staan twee mannen aan de achterdeur van {street} {n} te wrikken",
    "NU inbraak bezig in de {street} {n}, glasgerinkel gehoord",
]
_CHAT = [
    "Bedankt!",
    "👍",
    "Goedemorgen allemaal",
    "Weet iemand hoe laat de milieustraat open is?",
    "Te koop: winterbanden voor een Polo, {n} euro",
    "Wie doet er mee met de buurtschoonmaak zaterdag in de {street}?",
    "Mooi weer vandaag he",
]


def resident_texts(kind: str, rng: random.Random, count: int = 200) -> list[str]:
    """Varied messages of one kind, each checked with the bot's own classifier.

    ``kind`` is ``report`` (a non-urgent incident: the bot only reacts 👀), ``urgent`` (a live
    incident without "112 gebeld": a SAAR reminder when live) or ``chat`` (off-topic). Streets
    and numbers vary so the classifier sees different texts; a template the classifier does not
    put in the expected kind is dropped, so the benchmark measures what it claims to.
    """
    from bot.domain.classifier import classifier_for
    from bot.domain.signalement import needs_signalement_guidance

    templates = {"report": _REPORTS, "urgent": _URGENT, "chat": _CHAT}[kind]
    classifier = classifier_for()
    texts: list[str] = []
    for _ in range(count):
        text = rng.choice(templates).format(street=rng.choice(_STREETS), n=rng.randint(1, 180))
        verdict = classifier.classify(text)
        matches = {
            "report": verdict.category is not None and not verdict.urgent,
            "urgent": verdict.category is not None and verdict.urgent and not verdict.police_called,
            "chat": verdict.category is None and verdict.off_topic,
        }[kind]
        if matches and not needs_signalement_guidance(text):
            texts.append(text)
    if not texts:
        raise RuntimeError(f"the classifier recognises none of the {kind} texts any more")
    return texts


# -- HTTP ---------------------------------------------------------------------------------------


class Api:
    """A pooled client-server API client for many accounts (one aiohttp session for all).

    ``UserSession`` opens a session per request, fine for a few set-up calls; the benchmarks
    send thousands of requests, and the latency figures must not include connection setup.
    """

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=64),
            timeout=aiohttp.ClientTimeout(total=120),
        )

    async def close(self) -> None:
        await self._http.close()

    async def request(
        self,
        method: str,
        path: str,
        token: str,
        body: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
    ) -> Any:
        """One request; waits out ``M_LIMIT_EXCEEDED`` so setup never fails on a rate limit."""
        headers = {"Authorization": f"Bearer {token}"}
        while True:
            async with self._http.request(
                method, f"{self.base_url}{path}", json=body, params=params, headers=headers
            ) as response:
                data = await response.json(content_type=None)
                if response.status == 429:
                    await asyncio.sleep(int(data.get("retry_after_ms", 500)) / 1000)
                    continue
                if response.status >= 400:
                    raise RuntimeError(f"{method} {path}: {response.status} {data}")
                return data

    async def send_text(self, token: str, room_id: str, body: str) -> str:
        """An ``m.text`` message as a resident's client would send it; returns the event ID."""
        path = f"/_matrix/client/v3/rooms/{quote(room_id)}/send/m.room.message/{uuid.uuid4().hex}"
        data = await self.request("PUT", path, token, {"msgtype": "m.text", "body": body})
        return str(data["event_id"])

    async def room_events(
        self, token: str, room_id: str, *, senders: list[str], types: list[str]
    ) -> list[dict[str, Any]]:
        """Every event of ``types`` by ``senders`` in a room's history (paged /messages)."""
        events: list[dict[str, Any]] = []
        event_filter = json.dumps({"senders": senders, "types": types})
        params = {"dir": "b", "limit": "1000", "filter": event_filter}
        path = f"/_matrix/client/v3/rooms/{quote(room_id)}/messages"
        while True:
            data = await self.request("GET", path, token, params=params)
            events.extend(data.get("chunk", []))
            end = data.get("end")
            if not end or not data.get("chunk"):
                return events
            params = {**params, "from": end}


# -- the homeserver and its people ------------------------------------------------------------


@dataclass
class Bench:
    """One benchmark's world: Synapse, an admin, the bot account, a pooled API client."""

    synapse: LocalSynapse
    base_dir: Path
    admin: RegisteredUser
    bot: RegisteredUser
    api: Api
    concurrency: int

    @property
    def bot_id(self) -> str:
        return self.bot.user_id

    async def register(self, prefix: str, count: int) -> list[RegisteredUser]:
        return await bounded(
            self.concurrency,
            [lambda i=i: self.synapse.register(f"{prefix}{i}") for i in range(count)],
            label=f"register {prefix}*",
        )

    def bot_process(
        self,
        settings: dict[str, str] | None = None,
        account: RegisteredUser | None = None,
        name: str = "bot",
    ) -> BotProcess:
        """The bot as ``python -m bot run`` with the data dir in this benchmark's temp dir."""
        account = account or self.bot
        return BotProcess(
            self.synapse.url,
            account.user_id,
            account.password,
            self.base_dir / name,
            settings=dict(settings or {}),
        )

    async def create_watch_rooms(
        self,
        owner: RegisteredUser,
        residents: Sequence[RegisteredUser],
        rooms: int,
        members: int,
        *,
        seed: int = 1,
        name: str = "Buurtpreventie Bench",
    ) -> list[WatchRoom]:
        """``rooms`` rooms, each with ``owner`` + ``members - 1`` residents joined, bot invited.

        Residents are drawn from a shared pool (one person sits in several watch rooms), so
        500 rooms x 20 members needs a few hundred accounts, not ten thousand. The owner creates
        each room with everybody invited in one request, then every resident joins with their
        own token. The bot is only invited: it joins when it runs, as in production.
        """
        chooser = random.Random(seed)
        plans = [
            chooser.sample(list(residents), min(members - 1, len(residents))) for _ in range(rooms)
        ]

        async def create(index: int) -> str:
            # public_chat: residents join without an invite each, half the membership events
            # Synapse has to persist (it is the bottleneck of setup); the bot does not look at
            # join rules. UserSession.create_room always makes private_chat rooms.
            body = {
                "name": f"{name} {index + 1}",
                "preset": "public_chat",
                "invite": [self.bot_id],
                "power_level_content_override": {"users": {self.bot_id: 100}},
            }
            data = await self.api.request(
                "POST", "/_matrix/client/v3/createRoom", owner.access_token, body
            )
            return str(data["room_id"])

        room_ids = await bounded(
            self.concurrency,
            [lambda i=i: create(i) for i in range(rooms)],
            label="create rooms",
        )
        joins = [
            lambda r=room_id, p=person: self.api.request(
                "POST", f"/_matrix/client/v3/join/{quote(r)}", p.access_token, {}
            )
            for room_id, plan in zip(room_ids, plans, strict=True)
            for person in plan
        ]
        await bounded(self.concurrency, joins, label="joins")
        return [
            WatchRoom(room_id, owner, list(plan))
            for room_id, plan in zip(room_ids, plans, strict=True)
        ]


@dataclass
class WatchRoom:
    room_id: str
    owner: RegisteredUser
    residents: list[RegisteredUser]


@contextlib.asynccontextmanager
async def bench_world(concurrency: int, keep: bool = False) -> AsyncIterator[Bench]:
    """Start a Synapse in a temp dir with an admin and an exempted bot; always stop it."""
    base = Path(tempfile.mkdtemp(prefix="buurtbot-bench-", dir="/dev/shm"))
    synapse = LocalSynapse(base / "synapse", extra_config=BENCH_SYNAPSE_CONFIG)
    api = Api(synapse.url)
    try:
        log(f"starting Synapse on {synapse.url} in {base}")
        await synapse.start()
        admin = await synapse.register("benchadmin", admin=True)
        bot = await synapse.register("buurtbot")
        await synapse.exempt_from_ratelimit(admin.access_token, bot.user_id)
        yield Bench(synapse, base, admin, bot, api, concurrency)
    finally:
        await api.close()
        await synapse.stop()
        if keep:
            print(f"kept {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)


@contextlib.asynccontextmanager
async def running(bot: BotProcess, wait_s: float = 600.0) -> AsyncIterator[BotProcess]:
    """The bot process for the duration of a block; killed if the block fails or stop hangs."""
    try:
        await bot.start(wait_s=wait_s)
        yield bot
    finally:
        try:
            await bot.stop()
        except Exception:
            bot.kill()


def sync_filter(types: list[str], limit: int) -> str:
    """A /sync filter for an observer: only timeline events of ``types``, no state."""
    return json.dumps(
        {
            "room": {
                "timeline": {"types": types, "limit": limit},
                "state": {"types": [], "lazy_load_members": True},
                "ephemeral": {"types": []},
                "account_data": {"types": []},
            },
            "presence": {"types": []},
            "account_data": {"types": []},
        }
    )


@dataclass
class RawSyncObserver:
    """Another resident's client: a raw /sync long-poll loop that notes when events arrive.

    Raw rather than nio: nothing but arrival times is needed, and parsing hundreds of rooms'
    state into nio's models would put the observer's own CPU into the figures. Subclasses
    say what to note (`note`) and which events to fetch (`timeline_filter`).
    """

    api: Api
    token: str
    _task: asyncio.Task[None] | None = field(default=None, init=False)

    timeline_filter = sync_filter(["m.room.message"], 50)

    def note(self, room_id: str, event: dict[str, Any], arrived: float) -> None:
        raise NotImplementedError

    async def start(self) -> None:
        """Start the sync loop (once; later calls do nothing)."""
        if self._task is None:
            first = await self._sync(None, 0)
            self._task = asyncio.create_task(self._loop(first["next_batch"]))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _sync(self, since: str | None, timeout_ms: int) -> dict[str, Any]:
        params = {"timeout": str(timeout_ms), "filter": self.timeline_filter}
        if since:
            params["since"] = since
        return dict(
            await self.api.request("GET", "/_matrix/client/v3/sync", self.token, None, params)
        )

    async def _loop(self, since: str) -> None:
        while True:
            data = await self._sync(since, 30_000)
            arrived = time.monotonic()
            since = data["next_batch"]
            for room_id, room in data.get("rooms", {}).get("join", {}).items():
                for event in room.get("timeline", {}).get("events", []):
                    self.note(room_id, event, arrived)


async def wait_until_joined(bench: Bench, room_ids: Iterable[str], wait_s: float = 600) -> None:
    """Until the bot is a joined member of every room (it joins on the invites as it syncs)."""
    pending = set(room_ids)
    deadline = time.monotonic() + wait_s
    while pending:
        data = await bench.api.request(
            "GET", "/_matrix/client/v3/joined_rooms", bench.bot.access_token
        )
        pending -= set(data["joined_rooms"])
        if not pending:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"bot did not join {len(pending)} rooms within {wait_s} s")
        await asyncio.sleep(1)


# -- measuring ------------------------------------------------------------------------------


def bot_child_pid() -> int | None:
    """The PID of our ``python -m bot run`` child, found before ``BotProcess.start`` returns
    (it only returns at "bot ready", but start-up memory is part of the figure)."""
    for child in psutil.Process().children():
        with contextlib.suppress(psutil.Error):
            if child.cmdline()[-3:] == ["-m", "bot", "run"]:
                return int(child.pid)
    return None


class RssSampler:
    """Peak RSS of one process (and its children), sampled every ``interval_s`` by an asyncio
    task; ``pid=None`` means "the bot child, as soon as it exists". A sample that finds no
    process is skipped, not fatal."""

    def __init__(self, pid: int | None = None, interval_s: float = 0.1) -> None:
        self.pid = pid
        self.interval_s = interval_s
        self.peak = 0
        self.samples = 0
        self._task: asyncio.Task[None] | None = None

    def sample(self) -> None:
        if self.pid is None and (found := bot_child_pid()) is not None:
            self.pid = found
        if self.pid is None:
            return
        try:
            process = psutil.Process(self.pid)
            rss = process.memory_info().rss
            for child in process.children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    rss += child.memory_info().rss
        except psutil.Error:
            return
        self.samples += 1
        self.peak = max(self.peak, rss)

    async def _loop(self) -> None:
        while True:
            self.sample()
            await asyncio.sleep(self.interval_s)

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


def bot_db(bot: BotProcess) -> sqlite3.Connection:
    """The bot's database, read-only (WAL lets us read while the bot writes)."""
    path = bot.data_dir / "buurtbot.sqlite3"
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)


def count(db: sqlite3.Connection, sql: str, *args: Any) -> int:
    return int(db.execute(sql, args).fetchone()[0])


# -- reporting ------------------------------------------------------------------------------


@dataclass
class Report:
    """The table every benchmark ends with: figure, value, target, verdict."""

    title: str
    notes: list[str] = field(default_factory=list)
    rows: list[tuple[str, str, str, str]] = field(default_factory=list)

    def figure(self, name: str, value: str, target: str = "", ok: bool | None = None) -> None:
        verdict = "" if ok is None else ("PASS" if ok else "FAIL")
        self.rows.append((name, value, target, verdict))

    def print(self) -> None:
        headers = ("figure", "value", "target", "")
        widths = [max(len(r[i]) for r in [headers, *self.rows]) for i in range(4)]
        line = "+".join("-" * (w + 2) for w in widths)
        print()
        print(f"== {self.title} ==")
        for note in self.notes:
            print(f"  * {note}")
        print(line)
        for row in [headers, *self.rows]:
            print("|".join(f" {cell:<{w}} " for cell, w in zip(row, widths, strict=True)))
            if row is headers:
                print(line)
        print(line, flush=True)


def ms(seconds: float) -> str:
    return "n/a" if seconds != seconds else f"{seconds * 1000:.0f} ms"  # NaN check


def run(main: Callable[[], Awaitable[None]]) -> None:
    """Run a benchmark's main; always exit 0 (figures, not asserts), but show a crash."""
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        print("interrupted")
    except Exception as exc:  # a broken run still exits 0, with the reason on screen
        traceback.print_exc()
        print(f"benchmark aborted: {exc}")
    sys.exit(0)
