"""Cold start with many joined rooms and a stored sync token: time to ready and peak memory.

Run: python tests/bench/bench_cold_start.py [--rooms 500] [--members 20]
Quick: python tests/bench/bench_cold_start.py --rooms 50 --members 5

Why this shape: after a restart (an upgrade, a crash, a reboot of the host) the bot rebuilds
every joined room from a full-state sync before it says "bot ready", so the time to ready and
the memory it needs grow with the number of rooms; a small VPS must hold it. The bot runs as a
real process (RSS is honest): a first start joins every room and stores its sync token, a
graceful stop, then the measured second start. RSS is sampled every 100 ms from launch until
10 s after ready, and the peak is reported, also per joined room: once raw and once above an
identical bot in no rooms at all (the fixed cost), which is the figure that scales.

Target (resilience issue): peak RSS under 300 MB for 500 rooms. Always exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import time
from dataclasses import dataclass
from datetime import datetime

from _setup import (
    SETUP_NOTE,
    Bench,
    Report,
    RssSampler,
    bench_world,
    bot_db,
    common_arguments,
    log,
    run,
    running,
    wait_until_joined,
)

from bot.devserver.synapse import RegisteredUser
from tests.botprocess import READY_LINE, BotProcess

TARGET_MB = 300
AFTER_READY_S = 10.0


@dataclass
class Restart:
    ready_s: float  # launch -> "bot ready" seen in the log
    peak_rss: int
    samples: int
    session_to_ready_s: float | None  # "restored session" -> "bot ready", from the log


def _log_time(log_text: str, marker: str) -> datetime | None:
    for line in log_text.splitlines():
        if marker in line:
            with contextlib.suppress(ValueError):
                return datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f")
    return None


async def measured_restart(
    bench: Bench, name: str, account: RegisteredUser | None = None
) -> Restart:
    """Start a bot that has run before and measure it from launch to 10 s after ready."""
    bot = bench.bot_process(account=account, name=name)
    sampler = RssSampler(None, interval_s=0.1)
    sampler.start()
    started = time.monotonic()
    try:
        async with running(bot):
            ready = time.monotonic() - started
            await asyncio.sleep(AFTER_READY_S)
            text = bot.log_since_start()
    finally:
        await sampler.stop()
    session, up = _log_time(text, "restored session"), _log_time(text, READY_LINE)
    inner = (up - session).total_seconds() if session and up else None
    return Restart(ready, sampler.peak, sampler.samples, inner)


async def homeserver_full_sync(bench: Bench, bot: BotProcess) -> float:
    """Seconds the homeserver alone needs for the bot's catch-up request (a full-state sync
    from the stored token, the bot's filter), so the bot's own share of the start is visible."""
    with bot_db(bot) as db:
        token = db.execute("SELECT value FROM kv WHERE key = 'sync_token'").fetchone()[0]
    params = {
        "since": token,
        "full_state": "true",
        "timeout": "0",
        "filter": json.dumps({"room": {"timeline": {"limit": 100}}}),
    }
    started = time.monotonic()
    await bench.api.request("GET", "/_matrix/client/v3/sync", bench.bot.access_token, None, params)
    return time.monotonic() - started


async def first_start(
    bench: Bench, name: str, rooms: list[str], account: RegisteredUser | None = None
) -> float:
    """Start once so the bot joins every room and stores its sync token; graceful stop."""
    bot = bench.bot_process(account=account, name=name)
    started = time.monotonic()
    async with running(bot):
        await wait_until_joined(bench, rooms, wait_s=1200)
        joined = time.monotonic() - started
        await asyncio.sleep(5)  # a few more syncs: the joined rooms' timelines, token stored
    with bot_db(bot) as db:
        token = db.execute("SELECT value FROM kv WHERE key = 'sync_token'").fetchone()
    if token is None:
        raise RuntimeError("the bot stored no sync token on its first run")
    return joined


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    common_arguments(parser, rooms=500, members=20)
    parser.add_argument(
        "--residents", type=int, default=250, help="size of the resident pool (default 250)"
    )
    args = parser.parse_args()
    report = Report(f"Cold start: {args.rooms} joined rooms x {args.members} members")
    report.notes += [
        SETUP_NOTE,
        "second start of the bot process with a stored sync token (first start joined the "
        f"rooms); RSS sampled every 100 ms from launch to {AFTER_READY_S:g} s after ready",
        "baseline: an identical bot account in no rooms, measured the same way",
    ]
    async with bench_world(args.concurrency, args.keep) as bench:
        owner = (await bench.register("beheerder", 1))[0]
        pool = max(args.members - 1, min(args.residents, args.rooms * (args.members - 1)))
        residents = await bench.register("bewoner", pool)
        log(f"creating {args.rooms} rooms with {args.members} members each ({pool} residents)")
        rooms = [
            r.room_id
            for r in await bench.create_watch_rooms(owner, residents, args.rooms, args.members)
        ]
        empty = await bench.synapse.register("leegbot")
        await bench.synapse.exempt_from_ratelimit(bench.admin.access_token, empty.user_id)
        await first_start(bench, "empty-bot", [], account=empty)
        base = await measured_restart(bench, "empty-bot", account=empty)
        log(f"baseline: ready in {base.ready_s:.1f} s, peak {base.peak_rss / 2**20:.0f} MB")

        log("first start: the bot joins every room")
        joined_s = await first_start(bench, "bot", rooms)
        log(f"joined {len(rooms)} rooms in {joined_s:.0f} s; measuring the restart")
        cold = await measured_restart(bench, "bot")
        # The homeserver's share, timed after the restart: its caches are warm by then, so
        # this is a lower bound (timed before, it would warm the caches for the bot instead).
        server_s = await homeserver_full_sync(bench, bench.bot_process())

    mb, base_mb = cold.peak_rss / 2**20, base.peak_rss / 2**20
    report.figure("first start: join all rooms", f"{joined_s:.1f} s")
    report.figure(
        "baseline bot (0 rooms): ready / peak RSS", f"{base.ready_s:.1f} s / {base_mb:.0f} MB"
    )
    report.figure("cold start: time to ready", f"{cold.ready_s:.1f} s")
    if cold.session_to_ready_s is not None:
        report.figure("  of which session restored -> ready", f"{cold.session_to_ready_s:.1f} s")
    report.figure("  homeserver alone: same full-state sync, warm", f"{server_s:.1f} s")
    report.figure("cold start: peak RSS", f"{mb:.0f} MB", f"< {TARGET_MB} MB", mb < TARGET_MB)
    report.figure("peak RSS per joined room", f"{mb / len(rooms) * 1024:.0f} KB")
    report.figure(
        "peak RSS per room above baseline", f"{(mb - base_mb) / len(rooms) * 1024:.0f} KB"
    )
    if len(rooms) != 500:
        report.figure(
            "extrapolated to 500 rooms (baseline + 500 x per-room)",
            f"{base_mb + (mb - base_mb) / len(rooms) * 500:.0f} MB",
            f"< {TARGET_MB} MB",
        )
    report.figure("RSS samples", str(cold.samples))
    report.print()


if __name__ == "__main__":
    run(main)
