"""Wiring and lifecycle: log in, catch up, sync, hand events to the features, stop cleanly.

The sync loop does as little as possible: it stores each batch's new events together with the
next sync token (one transaction, see ``store/inbox.py``), handles membership, and submits the
events to the per-room workers. Handlers therefore never block syncing, a crash never loses or
repeats an event, and a first start ever skips the rooms' history.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any

from nio import MegolmEvent, SyncResponse

from bot.dispatch import Dispatcher
from bot.domain.membership import ACCEPT_KEYS, DECLINE_KEYS
from bot.features.admission import AdmissionFeature
from bot.features.alarm_test import AlarmTestFeature
from bot.features.base import Feature
from bot.features.bulletins import BulletinsFeature
from bot.features.conduct import ConductFeature
from bot.features.core import CoreFeature
from bot.features.face_tip import FaceTipFeature
from bot.features.gate import GateFeature
from bot.features.governance import GovernanceFeature
from bot.features.groups import GroupsFeature
from bot.features.incidents import IncidentsFeature
from bot.features.invitations import InvitationsFeature
from bot.features.moderation import ModerationFeature
from bot.features.overview import OverviewFeature
from bot.features.policy import PolicyFeature
from bot.features.reports import ReportsFeature
from bot.features.sanctions import Sanctions
from bot.features.signup import SignupFeature
from bot.matrix.client import MatrixClient, MatrixError
from bot.matrix.receipts import read_receipts
from bot.membership import Membership
from bot.monitoring import Monitor
from bot.services import Services
from bot.settings import Settings
from bot.store import Store

log = logging.getLogger(__name__)

FeatureFactory = Callable[[Services], Sequence[Feature]]
# What the features react to; receipts, custom events and most reactions are not worth a
# database round trip each (a busy fan-out echoes hundreds of them back). Only the reaction
# keys that decide something (a join request, accepting the house rules) get through, and
# membership changes of other people (knocks, joins, leaves), whoever sent them.
HANDLED_EVENT_TYPES = frozenset({"m.room.message", "m.room.redaction"})
DECISION_KEYS = ACCEPT_KEYS | DECLINE_KEYS
MEMBERSHIPS = frozenset({"knock", "invite", "join", "leave", "ban"})


def default_features(services: Services) -> list[Feature]:
    """Every capability of the product, in the order their hooks run."""
    sanctions = Sanctions(services)
    conduct = ConductFeature(services, sanctions)
    gate = GateFeature(services, conduct)  # before the others: an early post is only redacted
    reports = ReportsFeature(services)
    policy = PolicyFeature(services, sanctions)  # before admission: listed users never queue
    admission = AdmissionFeature(services, gate)
    return [
        policy,
        gate,
        admission,
        InvitationsFeature(services, admission),
        SignupFeature(services, admission),
        AlarmTestFeature(services),
        IncidentsFeature(services),
        conduct,
        ModerationFeature(services, sanctions, conduct),
        BulletinsFeature(services),
        FaceTipFeature(services, sanctions),
        GroupsFeature(services, policy),
        OverviewFeature(services, reports),
        reports,
        GovernanceFeature(services, conduct),
    ]


class Bot:
    """One bot process: ``await bot.run()`` until ``bot.stop()``."""

    def __init__(self, settings: Settings, features: FeatureFactory = default_features) -> None:
        self.settings = settings
        self._feature_factory = features
        self._stop = asyncio.Event()
        self.ready = asyncio.Event()
        self.services: Services | None = None
        self.dispatcher: Dispatcher | None = None
        self.monitor: Monitor | None = None

    def stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        store = await Store.open(self.settings.database_path)
        client = MatrixClient(self.settings)
        features: list[Feature] = []
        dispatcher: Dispatcher | None = None
        if self.settings.monitoring.http_enabled:
            self.monitor = Monitor(self.settings.monitoring, store)
        try:
            if self.monitor is not None:
                await self.monitor.start()
            await client.login(store.state)
            services = self.services = Services(self.settings, client, store)
            core = CoreFeature(services)
            features = [core, *self._feature_factory(services)]
            dispatcher = self.dispatcher = Dispatcher(services, features)
            core.table = dispatcher.commands
            membership = Membership(services)
            await self._catch_up(services, membership, dispatcher)
            for feature in features:
                await feature.start()
            # The store, not nio: rooms joined on invite during catch-up reach nio's room list
            # only with the next sync.
            rooms = len(await store.rooms.list())
            log.info("bot ready as %s in %d rooms", client.user_id, rooms)
            services.scheduler.start()
            self.ready.set()
            await self._sync_forever(services, membership, dispatcher)
        finally:
            if self.services is not None:
                await self.services.scheduler.stop()
            for feature in reversed(features):
                with contextlib.suppress(Exception):
                    await feature.stop()
            if dispatcher is not None:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(dispatcher.drain(), timeout=10)
                await dispatcher.stop()
            if self.monitor is not None:
                await self.monitor.stop()
            await client.close()
            await store.close()
            log.info("bot stopped")

    async def _catch_up(
        self, services: Services, membership: Membership, dispatcher: Dispatcher
    ) -> None:
        """First sync: rebuild room state, then resume exactly where the last run stopped."""
        store, client = services.store, services.client
        token = await store.state.sync_token()
        response = await self._sync_until_ok(client, token, timeout_ms=0, full_state=True)
        if response is None:
            return
        await membership.ensure_coordination_room()
        await membership.process(response, full_state=True)
        await _pass_receipts(dispatcher, response)
        events = await self._new_events(services, response, token) if token is not None else []
        if token is None:
            log.info("first start: skipping the history of %d rooms", len(response.rooms.join))
        await store.inbox.accept_batch(response.next_batch, events)
        if self.monitor is not None:
            await self.monitor.synced(response, 0)
        await client.after_sync()
        dispatcher.submit(await store.inbox.pending())

    async def _sync_forever(
        self, services: Services, membership: Membership, dispatcher: Dispatcher
    ) -> None:
        store, client = services.store, services.client
        delay = 1.0
        while not self._stop.is_set():
            try:
                token = await store.state.sync_token()
                response = await self._sync_until_ok(
                    client, token, timeout_ms=self.settings.sync_timeout_ms, full_state=False
                )
                if response is None:
                    return
                await membership.process(response)
                await _pass_receipts(dispatcher, response)
                events = await self._new_events(services, response, token)
                added = await store.inbox.accept_batch(response.next_batch, events)
            except sqlite3.OperationalError as exc:
                # Locked or full: the batch was not stored and the token not advanced, so
                # fetching the same batch again later loses nothing.
                log.error("database unavailable (%s); retrying the sync in %.0f s", exc, delay)
                client.forget_sync_position()
                await self._pause(delay)
                delay = min(delay * 2, self.settings.max_backoff_seconds)
                continue
            delay = 1.0
            dispatcher.submit(added)
            if self.monitor is not None:
                await self.monitor.synced(response, dispatcher.handled)
            await client.after_sync()

    async def _pause(self, seconds: float) -> None:
        """Sleep, but wake up at once when asked to stop."""
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._stop.wait(), timeout=seconds)

    async def _sync_until_ok(
        self, client: MatrixClient, token: str | None, timeout_ms: int, full_state: bool
    ) -> SyncResponse | None:
        """One successful sync, waiting out errors with capped exponential backoff.

        Lost connections are retried inside nio with the same capped backoff; what reaches this
        loop are the homeserver's own errors. ``None`` means we were asked to stop meanwhile.
        """
        delay = 1.0
        while not self._stop.is_set():
            try:
                return await self._unless_stopped(client.sync(token, timeout_ms, full_state))
            except MatrixError as exc:
                log.warning("sync failed (%s); retrying in %.0f s", exc, delay)
            except Exception:
                log.exception("sync failed unexpectedly; retrying in %.0f s", delay)
            await self._pause(delay)
            delay = min(delay * 2, self.settings.max_backoff_seconds)
        return None

    async def _unless_stopped(self, work: Coroutine[Any, Any, SyncResponse]) -> SyncResponse | None:
        task = asyncio.create_task(work)
        stop = asyncio.create_task(self._stop.wait())
        done, _ = await asyncio.wait({task, stop}, return_when=asyncio.FIRST_COMPLETED)
        stop.cancel()
        if task in done:
            return task.result()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        return None

    async def _new_events(
        self, services: Services, response: SyncResponse, since: str | None
    ) -> list[tuple[str, dict[str, Any]]]:
        """The batch's timeline events worth handling, decrypted where we hold the keys.

        In a room joined in this very batch only what follows our join counts: the history
        before it is not ours to judge. A room we were already in that comes back "limited"
        (more new events than one sync returns) has the gap fetched with /messages, all such
        rooms at once, so a busy room after downtime (or a crash) loses nothing.
        """
        client = services.client
        timelines: dict[str, list[Any]] = {}
        gaps: dict[str, Awaitable[list[Any]]] = {}
        for room_id, info in response.rooms.join.items():
            timeline = list(info.timeline.events)
            joined_at = _own_join_index(timeline, client.user_id)
            if joined_at is not None:
                timeline = timeline[joined_at + 1 :]
            elif info.timeline.limited and since is not None and info.timeline.prev_batch:
                gaps[room_id] = client.backfill(room_id, info.timeline.prev_batch, since)
            timelines[room_id] = timeline
        filled = await asyncio.gather(*gaps.values())
        for room_id, gap in zip(gaps, filled, strict=True):
            if gap:
                log.info("fetched %d events missed in %s", len(gap), room_id)
            timelines[room_id] = gap + timelines[room_id]
        return [
            (room_id, source)
            for room_id, timeline in timelines.items()
            for source in self._usable(client, room_id, timeline)
        ]

    @staticmethod
    def _usable(client: MatrixClient, room_id: str, timeline: list[Any]) -> list[dict[str, Any]]:
        sources = []
        for event in timeline:
            if isinstance(event, MegolmEvent):
                log.warning(
                    "undecryptable event %s in %s from %s (megolm session %s not shared)",
                    event.event_id,
                    room_id,
                    event.sender,
                    event.session_id,
                )
                continue
            source = getattr(event, "source", None)
            if isinstance(source, dict) and _worth_handling(source, client.user_id):
                sources.append(source)
        return sources


async def _pass_receipts(dispatcher: Dispatcher, response: SyncResponse) -> None:
    """Read receipts go to the features before the batch is stored: if storing fails, the
    same batch (and its receipts) comes again."""
    receipts = read_receipts(response)
    if not receipts:
        return
    for feature in dispatcher.features:
        try:
            await feature.on_receipts(receipts)
        except sqlite3.OperationalError:
            raise
        except Exception:
            log.exception("%s failed on %d read receipts", feature.name, len(receipts))


def _worth_handling(source: dict[str, Any], me: str) -> bool:
    """Cheap checks on the raw event, before anything is stored."""
    kind = source.get("type")
    if kind == "m.room.member":
        state_key = source.get("state_key")
        return (
            isinstance(state_key, str)
            and state_key != me
            and _field(source, "content", "membership") in MEMBERSHIPS
        )
    if source.get("sender") == me or "state_key" in source:
        return False
    if kind == "m.reaction":
        return _field(source, "content", "m.relates_to", "key") in DECISION_KEYS
    return kind in HANDLED_EVENT_TYPES


def _own_join_index(timeline: list[Any], me: str) -> int | None:
    """Where the bot's own join is in a timeline (not a profile change while joined)."""
    for index, event in enumerate(timeline):
        source = getattr(event, "source", None)
        if not isinstance(source, dict) or source.get("type") != "m.room.member":
            continue
        if source.get("state_key") != me or _field(source, "content", "membership") != "join":
            continue
        if _field(source, "unsigned", "prev_content", "membership") != "join":
            return index
    return None


def _field(event: dict[str, Any], *path: str) -> Any:
    """A nested field of an untrusted event, or None when any level is missing or odd."""
    node: Any = event
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    return node
