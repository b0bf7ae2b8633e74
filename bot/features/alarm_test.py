"""The monthly alarm test, and how many people it really reached.

At the configured local moment the bot posts the test text in every watch room; when the window
closes it reports in the coordination room, per room, how many joined members read it (a
public read receipt on the test post, or on a later event of the room) out of how many, weakest
rooms first. ``!alarmtest`` runs one at once, ``!alarmtest uitslag`` shows the last result.

Exactly once, across restarts: a test is a row whose period ("2026-12", or "manual:<event>")
is unique, so a month is never tested twice; each post and the report are sent with transaction
IDs derived from the test, so a crash between sending and recording repeats nothing; and the
report is marked done in the same transaction that stores its figures. Receipts are filtered
in memory in the sync loop (only the rooms with a test running count); the few that point at
some other event are checked against the post's time in the background. Who read what is
deleted once the figure is made.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time as wall
from collections.abc import Callable
from datetime import datetime, time
from zoneinfo import ZoneInfo

from bot.background import cancel_and_wait
from bot.domain.alarm_test import WEAKEST_SHOWN, WEEKDAYS, Monthly, Reach, total, weakest_first
from bot.domain.commands import CommandCall
from bot.domain.formatting import Rich
from bot.features.base import Context, Feature, coordination_command
from bot.i18n.catalog import Language, Markup, t
from bot.matrix.client import MatrixError, txn_id
from bot.matrix.receipts import ReadReceipt
from bot.services import Services
from bot.store.alarm_tests import AlarmTest
from bot.store.rooms import RoomRole

log = logging.getLogger(__name__)

Clock = Callable[[], int]  # unix ms
MAX_SLEEP_S = 300.0
HOUR_MS = 3_600_000


def system_clock() -> int:
    return int(wall.time() * 1000)


class AlarmTestFeature(Feature):
    name = "alarm_test"

    def __init__(self, services: Services, clock: Clock = system_clock) -> None:
        super().__init__(services)
        self.clock = clock
        self._watched: dict[str, tuple[int, str, int]] | None = None  # room -> test, post, ms
        self._later: asyncio.Queue[ReadReceipt] = asyncio.Queue()
        self._event_ts: dict[str, int] = {}
        self._counted: set[tuple[int, str, str]] = set()  # (test, room, user) already a reader
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def _lang(self) -> Language:
        return self.services.settings.language

    @property
    def _zone(self) -> ZoneInfo:
        return ZoneInfo(self.services.settings.admission.timezone)

    @property
    def schedule(self) -> Monthly:
        cfg = self.services.settings.alarm_test
        hours, minutes = (int(part) for part in cfg.time.split(":"))
        weekday = WEEKDAYS.index(cfg.weekday) if cfg.weekday else None
        return Monthly(cfg.day_of_month, time(hours, minutes), self._zone, weekday)

    @property
    def _window_ms(self) -> int:
        return int(self.services.settings.alarm_test.window_hours * HOUR_MS)

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        await self._watch_list()
        self._tasks = [
            asyncio.create_task(self._loop(), name="alarm test"),
            asyncio.create_task(self._check_later_receipts(), name="alarm test receipts"),
        ]

    async def stop(self) -> None:
        await cancel_and_wait(self._tasks)

    async def _watch_list(self) -> dict[str, tuple[int, str, int]]:
        """The rooms with a test running; loaded once, before the first receipts arrive
        (the catch-up sync after a restart comes before ``start``)."""
        if self._watched is None:
            watched = {}
            for test in await self.services.store.alarm_tests.unfinished():
                for post in await self.services.store.alarm_tests.posts(test.id):
                    if post.event_id and post.posted_at:
                        watched[post.room_id] = (test.id, post.event_id, post.posted_at)
            self._watched = watched
        return self._watched

    async def _loop(self) -> None:
        while True:
            self._wake.clear()
            try:
                wake_at = await self.tick()
            except Exception:
                log.exception("alarm test check failed; trying again later")
                wake_at = self.clock() + 60_000
            sleep = min(MAX_SLEEP_S, max(0.05, (wake_at - self.clock()) / 1000))
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=sleep)

    async def tick(self) -> int:
        """Start this month's test if due, post what is missing, report what is over; returns
        when something next needs doing."""
        now = self.clock()
        wake_at = now + int(MAX_SLEEP_S * 1000)
        if self.services.settings.alarm_test.enabled:
            period, due = self.schedule.latest_due(now)
            if now < due + self._window_ms:
                await self._begin(period, due + self._window_ms, None)
            wake_at = min(wake_at, self.schedule.next_due_after(now))
        for test in await self.services.store.alarm_tests.unfinished():
            await self._post_missing(test)
            if self.clock() >= test.report_due:
                await self._report(test)
            else:
                wake_at = min(wake_at, test.report_due)
        return wake_at

    # -- running a test ------------------------------------------------------------------

    async def _begin(self, period: str, report_due: int, by: str | None) -> AlarmTest | None:
        rooms = [room.room_id for room in await self.services.store.rooms.list(RoomRole.WATCH)]
        test = await self.services.store.alarm_tests.begin(period, report_due, by, rooms)
        if test is not None:
            log.info("alarm test %s started in %d watch rooms", period, len(rooms))
        return test

    async def _post_missing(self, test: AlarmTest) -> None:
        store = self.services.store.alarm_tests
        text = t("alarm.post", self._lang, text=self.services.settings.alarm_test.text)
        watched = await self._watch_list()
        for post in await store.posts(test.id):
            if post.event_id is not None:
                continue
            try:
                event_id = await self.services.client.send_message(
                    post.room_id,
                    text,
                    txn_id("alarm-test", str(test.id), post.room_id),
                    notice=False,  # a real alarm buzzes: notices are silent in most clients
                )
            except MatrixError as exc:
                log.warning("alarm test not posted in %s: %s", post.room_id, exc)
                continue
            await store.posted(test.id, post.room_id, event_id)
            watched[post.room_id] = (test.id, event_id, self.clock())

    async def _report(self, test: AlarmTest) -> None:
        store = self.services.store.alarm_tests
        client = self.services.client
        me = client.user_id
        figures: dict[str, tuple[int, int]] = {}
        for post in await store.posts(test.id):
            if post.event_id is None:
                continue
            members = client.joined_members(post.room_id) - {me}
            readers = await store.readers(test.id, post.room_id) & members
            figures[post.room_id] = (len(readers), len(members))
        text = self._report_text(test, figures)
        event_id = await self.services.post_to_coordination(
            text, txn_id("alarm-report", str(test.id))
        )
        if await store.finish(test.id, figures, event_id):
            log.info("alarm test %s reported (%d rooms)", test.period, len(figures))
        watched = await self._watch_list()
        for room_id in [room for room, w in watched.items() if w[0] == test.id]:
            del watched[room_id]

    def _report_text(self, test: AlarmTest, figures: dict[str, tuple[int, int]]) -> Rich:
        client = self.services.client
        rooms = weakest_first(
            [Reach(room, client.room_name(room), r, m) for room, (r, m) in figures.items()]
        )
        line = "alarm.report_line"
        weakest = "".join(self._line(line, r) for r in rooms[:WEAKEST_SHOWN])
        others = "".join(self._line(line, r) for r in rooms[WEAKEST_SHOWN:])
        overall = total(rooms)
        return t(
            "alarm.report",
            self._lang,
            date=datetime.fromtimestamp(test.started_at / 1000, tz=self._zone).strftime(
                "%d-%m-%Y %H:%M"
            ),
            readers=overall.readers,
            members=overall.members,
            percent=overall.percent,
            rooms=len(rooms),
            weakest=Markup(weakest),
            others=Markup(t("alarm.report_others", self._lang, lines=Markup(others)).html)
            if others
            else Markup(""),
        )

    def _line(self, key: str, reach: Reach) -> str:
        return t(
            key,
            self._lang,
            room=reach.name,
            readers=reach.readers,
            members=reach.members,
            percent=reach.percent,
        ).html

    # -- receipts --------------------------------------------------------------------------

    async def on_receipts(self, receipts: list[ReadReceipt]) -> None:
        watched = await self._watch_list()
        if not watched:
            return
        hits = []
        for receipt in receipts:
            found = watched.get(receipt.room_id)
            if found is None or receipt.user_id == self.services.client.user_id:
                continue
            test_id, event_id, posted_at = found
            if (test_id, receipt.room_id, receipt.user_id) in self._counted:
                continue
            if receipt.event_id == event_id:
                hits.append((test_id, receipt.room_id, receipt.user_id, receipt.ts))
            elif receipt.ts >= posted_at:
                self._later.put_nowait(receipt)  # a later event? checked off the sync loop
        await self._record(hits)

    async def _record(self, reads: list[tuple[int, str, str, int]]) -> None:
        await self.services.store.alarm_tests.record_reads(reads)
        self._counted.update(read[:3] for read in reads)

    async def _check_later_receipts(self) -> None:
        """A receipt on another event counts when that event came at or after the test post."""
        while True:
            receipt = await self._later.get()
            found = (await self._watch_list()).get(receipt.room_id)
            if found is None:
                continue
            test_id, event_id, _posted = found
            try:
                post_ts = await self._ts(receipt.room_id, event_id)
                if await self._ts(receipt.room_id, receipt.event_id) >= post_ts:
                    await self._record([(test_id, receipt.room_id, receipt.user_id, receipt.ts)])
            except MatrixError as exc:
                log.info("read receipt on %s not checked: %s", receipt.event_id, exc)
            except Exception:
                log.exception("read receipt on %s not checked", receipt.event_id)

    async def _ts(self, room_id: str, event_id: str) -> int:
        if event_id not in self._event_ts:
            self._event_ts[event_id] = await self.services.client.event_ts(room_id, event_id)
        return self._event_ts[event_id]

    # -- commands --------------------------------------------------------------------------

    @coordination_command(
        "alarmtest",
        help="help.alarmtest",
        usage="usage.alarmtest",
    )
    async def alarm_test(self, ctx: Context, call: CommandCall) -> None:
        word = call.args.strip().lower()
        if word in ("uitslag", "result"):
            await self._last_result(ctx)
            return
        if word:
            await ctx.reply(ctx.t("alarm.usage"))
            return
        report_due = self.clock() + self._window_ms
        test = await self._begin(f"manual:{ctx.message.event_id}", report_due, ctx.message.sender)
        if test is None:  # this very command was handled before a restart
            return
        rooms = len(await self.services.store.alarm_tests.posts(test.id))
        hours = self.services.settings.alarm_test.window_hours
        await ctx.reply(ctx.t("alarm.started", rooms=rooms, hours=f"{hours:g}"), "alarm-started")
        self._wake.set()

    async def _last_result(self, ctx: Context) -> None:
        store = self.services.store.alarm_tests
        test = await store.last_reported()
        if test is None:
            await ctx.reply(ctx.t("alarm.no_result"))
            return
        figures = {
            post.room_id: (post.readers or 0, post.members or 0)
            for post in await store.posts(test.id)
            if post.members is not None
        }
        await ctx.reply(self._report_text(test, figures), "alarm-result")
