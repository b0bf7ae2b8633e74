"""Reaction latency of the bot under a steady stream of reports, next to the homeserver's own.

Run: python tests/bench/bench_latency.py [--rooms 500] [--members 20] [--rate 5] [--duration 60]
Quick: python tests/bench/bench_latency.py --rooms 50 --members 5 --duration 30

Why this shape: a resident's report reaches the bot through the homeserver (hop 1) and the
bot's 👀 reaches the other residents through it again (hop 2), so the fair yardstick for the bot
is the homeserver's own round trip measured in the same run. Every report is timed twice by the
same observing client: when the report itself arrives in its /sync (the homeserver round trip,
A sends -> B receives) and when the bot's reaction to it arrives (the bot's reaction latency).
Both share the send timestamp, the observer and the load, so they are interleaved by design.

Targets (resilience issue): bot p50 <= 2.5 x round-trip p50, bot p95 <= 4 x round-trip p95.
Reports are non-urgent incidents (a reaction only, no reminder), checked with the bot's own
classifier; each (room, resident) pair is used in turn from a shuffled list so nobody floods.
Figures, not asserts: always exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import time
from dataclasses import dataclass, field
from typing import Any

from _setup import (
    SETUP_NOTE,
    Api,
    RawSyncObserver,
    Report,
    RssSampler,
    WatchRoom,
    bench_world,
    bot_db,
    common_arguments,
    count,
    log,
    ms,
    percentile,
    resident_texts,
    run,
    running,
    sync_filter,
    wait_until_joined,
)

REACTION_KEY = "👀"


@dataclass
class Observer(RawSyncObserver):
    """Client B: when each message, and the bot's 👀 on it, first arrived."""

    bot_id: str = ""
    messages: dict[str, float] = field(default_factory=dict)  # event ID -> arrival
    reactions: dict[str, float] = field(default_factory=dict)  # reacted-to event ID -> arrival

    timeline_filter = sync_filter(["m.room.message", "m.reaction"], 100)

    def note(self, room_id: str, event: dict[str, Any], arrived: float) -> None:
        if event.get("type") == "m.room.message":
            self.messages.setdefault(event["event_id"], arrived)
        elif event.get("type") == "m.reaction" and event.get("sender") == self.bot_id:
            relates = event.get("content", {}).get("m.relates_to", {})
            if relates.get("key") == REACTION_KEY and relates.get("event_id"):
                self.reactions.setdefault(relates["event_id"], arrived)


async def steady_stream(
    api: Api,
    rooms: list[WatchRoom],
    texts: list[str],
    rate: float,
    seconds: float,
    rng: random.Random,
) -> dict[str, float]:
    """Send ``rate`` reports per second for ``seconds``: event ID -> monotonic send time.

    Sends are scheduled on a fixed clock, not one after the other, so a slow response never
    lowers the offered load. Pairs (room, resident) come from a shuffled cycle: in 500 rooms
    with 19 residents no pair repeats within a minute, well under the flood rule.
    """
    pairs = [(room.room_id, person) for room in rooms for person in room.residents]
    rng.shuffle(pairs)
    cycle = itertools.cycle(pairs)
    sent: dict[str, float] = {}
    tasks: list[asyncio.Task[None]] = []

    async def send(room_id: str, token: str, text: str) -> None:
        started = time.monotonic()
        event_id = await api.send_text(token, room_id, text)
        sent[event_id] = started

    start = time.monotonic()
    total = int(rate * seconds)
    for index in range(total):
        delay = start + index / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        room_id, person = next(cycle)
        tasks.append(asyncio.create_task(send(room_id, person.access_token, rng.choice(texts))))
    await asyncio.gather(*tasks)
    return sent


async def wait_for_reactions(observer: Observer, sent: dict[str, float], grace_s: float) -> None:
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        if all(e in observer.reactions and e in observer.messages for e in sent):
            return
        await asyncio.sleep(0.2)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    common_arguments(parser, rooms=500, members=20)
    parser.add_argument("--rate", type=float, default=5.0, help="reports per second (default 5)")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds measured (60)")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds sent first, not counted")
    parser.add_argument(
        "--residents", type=int, default=250, help="size of the resident pool (default 250)"
    )
    args = parser.parse_args()
    rng = random.Random(7)
    texts = resident_texts("report", rng)
    report = Report(
        f"Reaction latency: {args.rooms} rooms x {args.members} members, "
        f"{args.rate:g} reports/s for {args.duration:g} s"
    )
    report.notes += [
        SETUP_NOTE,
        f"{len(set(texts))} distinct non-urgent report texts, all classified as incidents "
        "by the bot's classifier (reaction only, no reminder)",
        "round trip = resident A sends -> observer B's /sync receives the report; bot = A sends "
        "-> B receives the bot's 👀 reaction to it. Same messages, same observer, same run.",
    ]
    async with bench_world(args.concurrency, args.keep) as bench:
        pool = max(args.members - 1, min(args.residents, args.rooms * (args.members - 1)))
        setup_started = time.monotonic()
        observer_account = (await bench.register("waarnemer", 1))[0]
        residents = await bench.register("bewoner", pool)
        log(f"creating {args.rooms} rooms with {args.members} members each ({pool} residents)")
        rooms = await bench.create_watch_rooms(
            observer_account, residents, args.rooms, args.members
        )
        log(f"setup done in {time.monotonic() - setup_started:.0f} s; starting the bot")
        bot = bench.bot_process()
        async with running(bot):
            await wait_until_joined(bench, [r.room_id for r in rooms])
            log("bot joined every room")
            rss = RssSampler(bot.pid, interval_s=0.5)
            rss.start()
            observer = Observer(bench.api, observer_account.access_token, bench.bot_id)
            await observer.start()
            try:
                if args.warmup > 0:
                    warm = await steady_stream(bench.api, rooms, texts, args.rate, args.warmup, rng)
                    await wait_for_reactions(observer, warm, 15)
                log(f"measuring: {args.rate:g} reports/s for {args.duration:g} s")
                sent = await steady_stream(bench.api, rooms, texts, args.rate, args.duration, rng)
                log("sending done; waiting for the last reactions")
                await wait_for_reactions(observer, sent, 30)
            finally:
                await observer.stop()
                await rss.stop()
            with bot_db(bot) as db:
                strikes = count(db, "SELECT COUNT(*) FROM strikes")
                reminders = count(
                    db, "SELECT COUNT(*) FROM incidents WHERE reminder_event_id IS NOT NULL"
                )

    hop = [observer.messages[e] - t for e, t in sent.items() if e in observer.messages]
    bot_lat = [observer.reactions[e] - t for e, t in sent.items() if e in observer.reactions]
    missing = len(sent) - len(bot_lat)
    rtt50, rtt95 = percentile(hop, 50), percentile(hop, 95)
    bot50, bot95 = percentile(bot_lat, 50), percentile(bot_lat, 95)
    report.figure("reports sent (measured)", str(len(sent)))
    report.figure("homeserver round trip p50", ms(rtt50))
    report.figure("homeserver round trip p95", ms(rtt95))
    report.figure(
        "bot reaction p50",
        ms(bot50),
        f"<= 2.5 x RTT p50 = {ms(2.5 * rtt50)}",
        bool(bot_lat) and bot50 <= 2.5 * rtt50,
    )
    report.figure(
        "bot reaction p95",
        ms(bot95),
        f"<= 4 x RTT p95 = {ms(4 * rtt95)}",
        bool(bot_lat) and bot95 <= 4 * rtt95,
    )
    report.figure("bot reaction p50 / RTT p50", f"{bot50 / rtt50:.2f}x" if hop else "n/a")
    report.figure("bot reaction p95 / RTT p95", f"{bot95 / rtt95:.2f}x" if hop else "n/a")
    report.figure("bot reaction max", ms(max(bot_lat, default=float("nan"))))
    report.figure("reports without a reaction (30 s grace)", str(missing), "0", missing == 0)
    report.figure(
        "strikes / reminders caused",
        f"{strikes} / {reminders}",
        "0 / 0",
        strikes == 0 and reminders == 0,
    )
    report.figure("bot peak RSS during the run", f"{rss.peak / 2**20:.0f} MB")
    report.print()


if __name__ == "__main__":
    run(main)
