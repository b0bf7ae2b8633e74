"""Catch-up after downtime: a backlog of messages queued while the bot was down.

Run: python tests/bench/bench_catchup.py [--rooms 100] [--messages 10000] [--members 20]
Quick: python tests/bench/bench_catchup.py --rooms 20 --messages 1000 --members 5

Why this shape: the bot is down (upgrade, crash) while residents keep posting; when it comes
back it must handle exactly the events it missed, fast, and without acting on old news. The bot
runs once (joins the rooms, stores its sync token), stops gracefully, the backlog is sent
(reports, urgent "NU"/"op dit moment" reports without "112 gebeld", and chit-chat that would
break the house rules), and the bot is started again. Measured: time from launch until every
backlog event is handled (the bot's SQLite: ``inbox`` empty and ``handled_events`` grown by the
backlog's size, read-only while it runs).

What is checked, honestly:
- The staleness rule is what keeps a backlog quiet: events older than
  ``incidents.stale_after_seconds`` (default 900) get no SAAR reminder, no coordination alert
  and no conduct penalty. This bench sets it to 5 s (``BUURTBOT_INCIDENTS__STALE_AFTER_SECONDS``)
  and waits until the whole backlog is older than that before starting the bot.
- No 112 reminders and no flood penalties: the bot posts no ``m.room.message`` at all in the
  watch rooms or the coordination room (read back with /messages), the ``strikes`` and
  ``mutes`` tables stay empty, no incident has a reminder. Every report gets its 👀.
- Flood by timestamps: the flood rule is observed before the staleness check, but penalties are
  only given for live events, so "no penalties" here comes from staleness and does not by
  itself prove that floods are judged by the events' own timestamps. The backlog is shaped so
  that it is not a flood by its timestamps either (each resident's messages in a room are
  spread over the sending phase; the busiest 60 s window is printed next to the rule's limit).

Always exits 0: figures, not asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import random
import time
from collections import defaultdict

from _setup import (
    SETUP_NOTE,
    Report,
    bench_world,
    bot_db,
    bounded,
    common_arguments,
    count,
    log,
    resident_texts,
    run,
    running,
    wait_until_joined,
)

FLOOD_LIMIT = 6  # config/house_rules.toml default: more than 6 messages ...
FLOOD_WINDOW_S = 60  # ... within 60 s from one person in one room is a flood
KINDS = (("report", 0.6), ("urgent", 0.15), ("chat", 0.25))


def busiest_window(times: list[float], window_s: float) -> int:
    """Most messages of one sender within any ``window_s`` (times sorted)."""
    return max(
        (bisect.bisect_left(times, t + window_s) - i for i, t in enumerate(times)), default=0
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    common_arguments(parser, rooms=100, members=20)
    parser.add_argument("--messages", type=int, default=10_000, help="backlog size (10,000)")
    parser.add_argument("--stale-after", type=int, default=5, help="bot's staleness limit, s")
    parser.add_argument(
        "--settle", type=float, default=30.0, help="give up after this long without progress"
    )
    args = parser.parse_args()
    rng = random.Random(11)
    texts = {kind: resident_texts(kind, rng) for kind, _ in KINDS}
    report = Report(
        f"Catch-up: {args.messages} messages queued across {args.rooms} rooms "
        f"({args.members} members each) while the bot was down"
    )
    report.notes += [
        SETUP_NOTE,
        f"BUURTBOT_INCIDENTS__STALE_AFTER_SECONDS={args.stale_after}; the bot is started only "
        f"when the newest backlog message is older than that",
        "mix: "
        + ", ".join(f"{share:.0%} {kind}" for kind, share in KINDS)
        + " (kinds checked with the bot's classifier)",
    ]
    async with bench_world(args.concurrency, args.keep) as bench:
        owner = (await bench.register("beheerder", 1))[0]
        residents = await bench.register("bewoner", max(args.members - 1, 1))
        coordination = (await bench.create_watch_rooms(owner, residents, 1, 1, name="Beheerders"))[
            0
        ].room_id
        log(f"creating {args.rooms} rooms with {args.members} members each")
        rooms = await bench.create_watch_rooms(owner, residents, args.rooms, args.members)
        settings = {
            "BUURTBOT_COORDINATION_ROOM": coordination,
            "BUURTBOT_INCIDENTS__STALE_AFTER_SECONDS": str(args.stale_after),
        }
        bot = bench.bot_process(settings)
        async with running(bot):
            await wait_until_joined(bench, [coordination, *(r.room_id for r in rooms)])
            await asyncio.sleep(3)  # the joined rooms' first syncs, token stored
        with bot_db(bot) as db:
            handled_before = count(db, "SELECT COUNT(*) FROM handled_events")
        log("bot stopped; sending the backlog")

        # Round-robin over rooms, and within a room over its residents: every resident's
        # messages in a room are spread evenly over the whole sending phase.
        per_room = args.messages // args.rooms
        plan: list[tuple[str, str, str, str]] = []  # room, sender token, sender, kind
        for index in range(per_room):
            for room in rooms:
                person = room.residents[index % len(room.residents)]
                kind = rng.choices([k for k, _ in KINDS], [w for _, w in KINDS])[0]
                plan.append((room.room_id, person.access_token, person.user_id, kind))
        sent_at: dict[tuple[str, str], list[float]] = defaultdict(list)

        async def send(room_id: str, token: str, user_id: str, kind: str) -> None:
            await bench.api.send_text(token, room_id, rng.choice(texts[kind]))
            sent_at[(room_id, user_id)].append(time.monotonic())

        send_started = time.monotonic()
        await bounded(args.concurrency, [lambda p=p: send(*p) for p in plan], label="backlog")
        send_s = time.monotonic() - send_started
        reports_sent = sum(1 for *_, kind in plan if kind != "chat")
        urgent_sent = sum(1 for *_, kind in plan if kind == "urgent")
        busiest = max(
            (busiest_window(sorted(t), FLOOD_WINDOW_S) for t in sent_at.values()), default=0
        )
        per_pair = max((len(t) for t in sent_at.values()), default=0)
        await asyncio.sleep(args.stale_after + 2)  # the newest message is stale now

        log(f"backlog of {len(plan)} sent in {send_s:.0f} s; starting the bot")
        started = time.monotonic()
        async with running(bot):
            ready_s = time.monotonic() - started
            handled, previous, done_s, idle_s = 0, -1, None, None
            last_progress = time.monotonic()
            with bot_db(bot) as db:
                while True:
                    handled = count(db, "SELECT COUNT(*) FROM handled_events") - handled_before
                    waiting = count(db, "SELECT COUNT(*) FROM inbox")
                    now = time.monotonic()
                    if handled >= len(plan) and waiting == 0:
                        done_s = now - started
                        break
                    if waiting or handled != previous:
                        last_progress, previous = now, handled
                    if now - last_progress > args.settle:
                        idle_s = last_progress - started
                        break
                    await asyncio.sleep(0.25)
                strikes = count(db, "SELECT COUNT(*) FROM strikes")
                mutes = count(db, "SELECT COUNT(*) FROM mutes")
                incidents = count(db, "SELECT COUNT(*) FROM incidents")
                urgent = count(db, "SELECT COUNT(*) FROM incidents WHERE urgent")
                reminders = count(
                    db, "SELECT COUNT(*) FROM incidents WHERE reminder_event_id IS NOT NULL"
                )
            all_rooms = [coordination, *(r.room_id for r in rooms)]
            histories = await bounded(
                args.concurrency,
                [
                    lambda r=r: bench.api.room_events(
                        owner.access_token,
                        r,
                        senders=[bench.bot_id],
                        types=["m.room.message", "m.reaction"],
                    )
                    for r in all_rooms
                ],
            )
    bot_messages = sum(1 for h in histories for e in h if e["type"] == "m.room.message")
    reactions = sum(1 for h in histories for e in h if e["type"] == "m.reaction")

    total = len(plan)
    report.figure("backlog sent in", f"{send_s:.0f} s ({total / send_s:.0f} msg/s)")
    report.figure(
        "reports / of which urgent / chit-chat",
        f"{reports_sent} / {urgent_sent} / {total - reports_sent}",
    )
    flood = "a flood by its timestamps" if busiest > FLOOD_LIMIT else "not a flood"
    report.figure(
        "backlog shape: busiest 60 s of one resident in one room",
        f"{busiest} msgs ({per_pair} in all): {flood}",
        f"flood = more than {FLOOD_LIMIT}",
    )
    report.figure("bot ready after start", f"{ready_s:.1f} s")
    report.figure("backlog events handled", f"{handled} of {total}", f"{total}", handled >= total)
    if done_s is not None:
        report.figure("time to handle all", f"{done_s:.1f} s ({total / done_s:.0f} msg/s)")
    else:
        report.figure(
            "time to handle all", f"never: idle after {idle_s:.1f} s", "all handled", False
        )
    report.figure(
        "incidents recorded (urgent)",
        f"{incidents} ({urgent})",
        f"{reports_sent}",
        incidents == reports_sent,
    )
    report.figure(
        "👀 reactions by the bot", str(reactions), f"{reports_sent}", reactions == reports_sent
    )
    report.figure(
        "bot messages (reminders, alerts, warnings)", str(bot_messages), "0", bot_messages == 0
    )
    report.figure("incidents with a 112 reminder", str(reminders), "0", reminders == 0)
    report.figure(
        "strikes / mutes (flood, off-topic)",
        f"{strikes} / {mutes}",
        "0 / 0",
        strikes == 0 and mutes == 0,
    )
    report.print()


if __name__ == "__main__":
    run(main)
