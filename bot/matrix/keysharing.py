"""Megolm room keys shared ahead of time, so an alert only encrypts and sends.

matrix-nio shares a room's megolm session lazily, inside the first ``room_send`` that needs
it: Olm sessions to create, one-time keys to claim and a to-device message per device, all on
the alert's path. It also drops the outbound session on every member or device-list change,
rotates it after 100 messages or 7 days, and never persists it (so every restart re-shares in
every room). This module is the one place in the bot where sessions are shared:

- *ahead of time*, in the background: after each sync it looks at every encrypted room whose
  session nio would share on the next send (``should_share_group_session``: new start, member
  joined or left, device added, session rotated) and shares it, a few rooms at a time, pausing
  while any send is going out;
- *ahead of rotation*, in the background: a session that is nearly spent (few message
  indices or less than a day left, see ``nearly_spent``) gets its successor shared while the
  old one stays in use, so the send that would have used it up does not wait for a share;
- *on demand*, for a send into a room whose session is not shared yet: the send shares first
  (or waits for the share already under way), in the foreground.

Background shares give way to sends: between chunks of devices they pause while a send into
another room is going out (a send into their own room may be waiting for them).

The share itself is nio's own pieces through its public API: a key claim for the devices
without an Olm session (``keyrequests``, which reads the answer more cheaply than nio),
``Olm.share_group_session_parallel`` for the encrypted room-key messages, ``to_device`` to
send them. Doing the loop here rather than calling
``share_group_session`` lets the bot send many devices per request instead of nio's 20, skip
devices whose one-time keys ran out (instead of claiming them again on every share), yield to
the event loop between chunks, and log one summary line per share. A share is registered in
nio's ``sharing_session`` while it runs, so nio's own ``room_send`` waits for it instead of
starting a second share (nio raises ``LocalProtocolError`` for a concurrent one).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import logging
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Awaitable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from nio import AsyncClient, KeysClaimError, ToDeviceError, ToDeviceMessage
from nio.crypto import OlmDevice, OutboundGroupSession

from bot.background import cancel_and_wait
from bot.matrix import keyrequests
from bot.matrix.cryptostore import BotCryptoStore, has_session

log = logging.getLogger(__name__)

ENCRYPTED = "m.room.encrypted"
# A session restored after a crash skips this many message indices: a send that was encrypted
# but not yet remembered when the process died must never have its index used again (clients
# reject a reused index as a replay). After a clean stop every session was saved as it was,
# and none is skipped.
RESTORE_SKIP = 16
# A session is replaced ahead of time once fewer indices than three restarts would skip are
# left (a restore drops a session with fewer than one restart's worth), or less than a day of
# its 7-day life: then the send that would use it up, or the first one after a restart, finds
# its successor already shared instead of sharing on the alert's path. Two restarts of slack
# give the successors time to go out even when the bot is restarted twice in a row.
ROTATE_AHEAD_MESSAGES = 3 * RESTORE_SKIP
ROTATE_AHEAD_AGE = timedelta(days=1)
# Successors are shared one room at a time, resting at least this long (and as long as the
# share took) between rooms: after a restart every session may be near its end at once, and
# their to-device messages all at once would hold up the homeserver, and so the alerts.
AHEAD_REST_S = 0.2
CLAIM_PART = 200  # devices per /keys/claim request


@dataclass
class BatchToDevice(ToDeviceMessage):
    """Room-key messages for many devices in one ``/sendToDevice`` request.

    ``content`` is the whole ``{user: {device: message}}`` map; nio's ``to_device`` sends
    ``as_dict()``, so one request (with nio's retries) carries the batch.
    """

    def as_dict(self) -> dict[str, Any]:
        return {"messages": self.content}


_SHARE_KINDS = {
    (True, True): " in the background, ahead of rotation",
    (True, False): " in the background",
    (False, False): " before a send",
}


def nearly_spent(session: OutboundGroupSession) -> bool:
    """Whether a shared session should get its successor now, while it can still be used."""
    left = session.max_messages - session.message_count
    return (
        left <= ROTATE_AHEAD_MESSAGES
        or datetime.now() - session.creation_time >= session.max_age - ROTATE_AHEAD_AGE
    )


@dataclass
class ShareSummary:
    room_id: str
    devices: int
    new_olm_sessions: int
    unreachable: int
    failed: int
    seconds: float
    background: bool
    ahead: bool = False  # the successor of a nearly spent session, shared while it was in use


class KeySharing:
    """Coordinates megolm session shares with sends, for one nio client."""

    def __init__(
        self,
        nio: AsyncClient,
        *,
        background_rooms: int = 2,
        devices_per_request: int = 250,
        claim_retry_s: float = 3600.0,
    ) -> None:
        self._nio = nio
        self._background_rooms = background_rooms
        self._per_request = devices_per_request
        self._claim_retry_s = claim_retry_s
        self._queue: dict[str, None] = {}  # rooms to share in the background, oldest first
        self._wake = asyncio.Event()
        self._ahead: dict[str, None] = {}  # rooms whose nearly spent session needs a successor
        self._ahead_wake = asyncio.Event()
        self._shares: dict[str, asyncio.Task[ShareSummary | None]] = {}
        self._successors: set[asyncio.Task[ShareSummary | None]] = set()  # shares ahead
        self._sends = 0
        self._no_sends = asyncio.Event()
        self._no_sends.set()
        self._sending_to: Counter[str] = Counter()  # rooms with a send under way
        self._traffic = asyncio.Condition()  # notified whenever a send starts or ends
        self._query_lock = asyncio.Lock()
        self._workers: list[asyncio.Task[None]] = []
        # Devices whose one-time keys were gone when claimed: (user, device) -> when.
        self._unreachable: dict[tuple[str, str], float] = {}
        self.summaries: list[ShareSummary] = []  # the most recent shares, for tests and bench
        self._restored = 0
        self._ready_logged = False

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        if not self._workers:
            self._workers = [
                *(
                    asyncio.create_task(self._work(), name=f"key-sharing-{i}")
                    for i in range(self._background_rooms)
                ),
                asyncio.create_task(self._rotate_ahead(), name="key-rotation-ahead"),
            ]

    async def stop(self) -> None:
        """Stop sharing, and save every room's outbound session exactly as it is, so the next
        start can use each one on from where this run left it."""
        await cancel_and_wait([*self._workers, *self._shares.values()])
        self._workers = []
        store, olm = self._nio.store, self._nio.olm
        if isinstance(store, BotCryptoStore) and olm is not None:
            for room_id in olm.outbound_group_sessions:
                self.remember(room_id)
            store.flush(clean_stop=True)

    # -- what needs sharing -----------------------------------------------------------------

    def review(self) -> int:
        """Queue every encrypted room whose session nio would share on the next send, or
        that is nearly spent."""
        olm = self._nio.olm
        if olm is None:
            return 0
        queued = 0
        for room_id, room in self._nio.rooms.items():
            if not room.encrypted or room_id in self._shares:
                continue
            if olm.should_share_group_session(room_id):
                if room_id not in self._queue:
                    self._queue[room_id] = None
                    self._wake.set()
                    queued += 1
            elif self._spent_soon(room_id) and room_id not in self._ahead:
                self._ahead[room_id] = None
                self._ahead_wake.set()
                queued += 1
        self._log_ready()
        return queued

    def _log_ready(self) -> None:
        """Say once, after a start, when every encrypted room's key is out (for operators
        and the benchmarks)."""
        if self._ready_logged or self.pending():
            return
        rooms = sum(1 for room in self._nio.rooms.values() if room.encrypted)
        if not rooms:  # a first start: the rooms are still to be joined
            return
        self._ready_logged = True
        log.info(
            "room keys ready in all %d encrypted rooms (%d restored from the last run)",
            rooms,
            self._restored,
        )

    def _spent_soon(self, room_id: str) -> bool:
        assert self._nio.olm is not None
        session = self._nio.olm.outbound_group_sessions.get(room_id)
        return session is not None and session.shared and nearly_spent(session)

    def pending(self) -> int:
        """Rooms without a usable session: queued or being shared right now (a successor
        going out ahead of time does not count, the room's session is still in use)."""
        return len(self._queue) + sum(t not in self._successors for t in self._shares.values())

    async def query_keys(self) -> None:
        """The key query nio wants, once, however many callers want it at the same time."""
        async with self._query_lock:
            if self._nio.should_query_keys:
                await keyrequests.query(self._nio)

    # -- across restarts ------------------------------------------------------------------

    def remember(self, room_id: str) -> None:
        """Store the room's outbound session as it is now (after a share or a send)."""
        store, olm = self._nio.store, self._nio.olm
        if isinstance(store, BotCryptoStore) and olm is not None:
            store.save_outbound_session(room_id, olm.outbound_group_sessions.get(room_id))

    def restore(self) -> int:
        """Put back the outbound sessions of the last run that are still safe to use.

        nio forgets them on every restart (matrix-nio issue 380), which would make the first
        send in every room after a restart share anew. A stored session is used again only if
        it has not expired and everyone it was shared with is still a member with that device;
        members or devices that are new get it in the background. Call once the first sync and
        key query are through, so membership and device lists are current.
        """
        nio, olm, store = self._nio, self._nio.olm, self._nio.store
        if olm is None or not isinstance(store, BotCryptoStore):
            return 0
        skip = 0 if store.take_clean_stop() else RESTORE_SKIP
        restored = 0
        for room_id, stored in store.load_outbound_sessions().items():
            room = nio.rooms.get(room_id)
            session = stored.session
            if room is None or not room.encrypted or room_id in olm.outbound_group_sessions:
                continue
            current = self._devices(room_id)
            gone = stored.shared_with - current  # left, deleted or blocked since
            spent = session.message_count + skip >= session.max_messages
            if gone or spent or session.expired:
                store.save_outbound_session(room_id, None)
                continue
            session.shared = True  # nio's wrapper encrypts only a shared session
            for _ in range(skip):
                session.encrypt("{}")
            session.users_shared_with = stored.shared_with
            session.users_ignored = stored.ignored
            session.shared = current <= stored.shared_with | stored.ignored
            olm.outbound_group_sessions[room_id] = session
            self.remember(room_id)
            restored += 1
        self._restored = restored
        return restored

    # -- sends ----------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def sending(self, room_id: str) -> AsyncIterator[None]:
        """Around a send: this room's session is shared first, and background shares of other
        rooms pause (a share of this room goes on: nio's ``room_send`` may wait for it)."""
        self._sends += 1
        self._sending_to[room_id] += 1
        self._no_sends.clear()
        await self._notify()
        try:
            await self.ensure_shared(room_id)
            yield
        finally:
            self._sends -= 1
            self._sending_to[room_id] -= 1
            if not self._sending_to[room_id]:
                del self._sending_to[room_id]
            if self._sends == 0:
                self._no_sends.set()
            await self._notify()

    async def ensure_shared(self, room_id: str, *, background: bool = False) -> None:
        """Return once the room's session can be used, sharing it first if need be.

        A share under way for the room is waited for only if the room has no usable session:
        the successor of a nearly spent one goes out while the old one is still used.
        """
        olm, room = self._nio.olm, self._nio.rooms.get(room_id)
        if olm is None or room is None or not room.encrypted:
            return
        while olm.should_share_group_session(room_id):
            running = self._shares.get(room_id)
            # A finished share may still be listed: its done-callback has not run yet.
            # Awaiting a finished task never yields to the loop, so waiting for that callback
            # here would spin forever; it is replaced instead.
            if running is None or running.done():
                self._queue.pop(room_id, None)
                running = self._start(room_id, background=background, ahead=False)
            await asyncio.shield(running)

    def _start(self, room_id: str, *, background: bool, ahead: bool) -> asyncio.Task[Any]:
        task = asyncio.create_task(self._share(room_id, background, ahead))
        self._shares[room_id] = task
        if ahead:
            self._successors.add(task)
        task.add_done_callback(functools.partial(self._share_done, room_id))
        return task

    async def _notify(self) -> None:
        async with self._traffic:
            self._traffic.notify_all()

    async def _give_way(self, room_id: str) -> None:
        """Between chunks of a background share: let sync run, and pause while sends into
        other rooms are going out."""
        await asyncio.sleep(0)
        async with self._traffic:
            await self._traffic.wait_for(lambda: not self._sends or room_id in self._sending_to)

    def _share_done(self, room_id: str, task: asyncio.Task[ShareSummary | None]) -> None:
        if self._shares.get(room_id) is task:  # not a newer share of the same room
            del self._shares[room_id]
        self._successors.discard(task)

    async def _take(self, queue: dict[str, None], wake: asyncio.Event) -> str:
        """The oldest queued room, once no send is going out (a bulletin has the homeserver
        first)."""
        while True:
            while not queue:
                wake.clear()
                await wake.wait()
            await self._no_sends.wait()
            if queue:
                room_id = next(iter(queue))
                del queue[room_id]
                return room_id

    async def _work(self) -> None:
        while True:
            room_id = await self._take(self._queue, self._wake)
            await self._in_background(room_id, self.ensure_shared(room_id, background=True))
            self._log_ready()

    async def _rotate_ahead(self) -> None:
        while True:
            room_id = await self._take(self._ahead, self._ahead_wake)
            if room_id in self._shares or not self._spent_soon(room_id):
                continue  # shared anew meanwhile
            started = time.monotonic()
            share = self._start(room_id, background=True, ahead=True)
            await self._in_background(room_id, asyncio.shield(share))
            await asyncio.sleep(max(AHEAD_REST_S, time.monotonic() - started))

    async def _in_background(self, room_id: str, share: Awaitable[Any]) -> None:
        try:
            await share
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("background key share for %s failed", room_id)

    # -- one share ------------------------------------------------------------------------

    async def _share(self, room_id: str, background: bool, ahead: bool) -> ShareSummary | None:
        nio = self._nio
        olm = nio.olm
        assert olm is not None
        if room_id in nio.sharing_session:  # nio's own share is under way: wait for it
            await nio.sharing_session[room_id].wait()
            return None
        done = asyncio.Event()
        nio.sharing_session[room_id] = done
        started = time.monotonic()
        try:
            room = nio.rooms[room_id]
            if not room.members_synced:
                await nio.joined_members(room_id)
            await self.query_keys()
            users = list(room.users)
            new_sessions = await self._claim_missing(users)
            in_use = olm.outbound_group_sessions.get(room_id) if ahead else None
            if ahead and (in_use is None or not in_use.shared):
                return None  # the session changed meanwhile: an ordinary share follows
            session, chunks = self._begin(room_id, users, in_use)
            batch: dict[str, dict[str, Any]] = defaultdict(dict)
            batch_with: set[tuple[str, str]] = set()
            requests: list[asyncio.Task[bool]] = []
            limit = asyncio.Semaphore(4)

            def flush() -> None:
                nonlocal batch, batch_with
                if batch_with:
                    message = BatchToDevice(ENCRYPTED, "", "", dict(batch))
                    requests.append(
                        asyncio.create_task(self._send(message, batch_with, session, limit))
                    )
                batch, batch_with = defaultdict(dict), set()

            for sharing_with, chunk in chunks:
                for user_id, devices in chunk["messages"].items():
                    batch[user_id].update(devices)
                batch_with |= sharing_with
                if len(batch_with) >= self._per_request:
                    flush()
                if background:
                    await self._give_way(room_id)
                else:
                    await asyncio.sleep(0)  # encrypting for thousands of devices: let sync run
            flush()
            failed = sum(not ok for ok in await asyncio.gather(*requests))
            if ahead:
                if not self._take_over(room_id, in_use, session):
                    return None
            else:
                session.shared = True
            gone = set(users) - set(room.users)
            if gone:  # someone left while the key went out: they must not keep it
                log.info("%d member(s) left %s during its key share; rotating", len(gone), room_id)
                nio.invalidate_outbound_session(room_id)
            self.remember(room_id)
            summary = ShareSummary(
                room_id,
                len(session.users_shared_with),
                new_sessions,
                len(self._unreachable_in(users)),
                failed,
                time.monotonic() - started,
                background,
                ahead,
            )
            self._remember(summary)
            return summary
        finally:
            nio.sharing_session.pop(room_id, None)
            done.set()

    def _begin(
        self, room_id: str, users: list[str], in_use: OutboundGroupSession | None
    ) -> tuple[OutboundGroupSession, Iterator[tuple[set[tuple[str, str]], dict[str, Any]]]]:
        """The session to share and nio's room-key messages for it, chunk by chunk.

        With ``in_use`` (a shared session that is nearly spent) the messages carry a new
        session while the old one stays the room's session for sends: nio's generator takes
        the room's session at its first step, so the new one is the room's only for that step.
        """
        olm = self._nio.olm
        assert olm is not None
        if in_use is not None:
            olm.create_outbound_group_session(room_id)  # also our own inbound copy
        chunks = olm.share_group_session_parallel(room_id, users, ignore_unverified_devices=True)
        try:
            first = next(chunks, None)
        finally:
            # nio may have made a new session in that step (for an expired or shared one).
            session = olm.outbound_group_sessions[room_id]
            if in_use is not None:
                olm.outbound_group_sessions[room_id] = in_use
        return session, itertools.chain([] if first is None else [first], chunks)

    def _take_over(
        self, room_id: str, in_use: OutboundGroupSession | None, successor: OutboundGroupSession
    ) -> bool:
        """Make the successor the room's session, if that is still right.

        If the old session is still the room's, nothing changed while the new one went out.
        If nio dropped it (a member or device came or went), the successor is used only if no
        device it went to has gone; it is then marked unshared, so newcomers get it too. A
        session made meanwhile by an on-demand share stays.
        """
        olm = self._nio.olm
        assert olm is not None
        current = olm.outbound_group_sessions.get(room_id)
        if current is in_use:
            successor.shared = True
        elif current is None and successor.users_shared_with <= self._devices(room_id):
            successor.shared = False
        else:
            return False
        olm.outbound_group_sessions[room_id] = successor
        return True

    def _devices(self, room_id: str) -> set[tuple[str, str]]:
        """The devices that may hold the room's key now: members' active, unblocked ones."""
        olm = self._nio.olm
        assert olm is not None
        return {
            (user_id, device.id)
            for user_id in self._nio.rooms[room_id].users
            for device in olm.device_store.active_user_devices(user_id)
            if not olm.is_device_blacklisted(device)
        }

    async def _send(
        self,
        message: BatchToDevice,
        recipients: set[tuple[str, str]],
        session: Any,
        limit: asyncio.Semaphore,
    ) -> bool:
        async with limit:
            response = await self._nio.to_device(message)
        if isinstance(response, ToDeviceError):
            log.error("room key to %d devices not delivered: %s", len(recipients), response.message)
            return False
        session.users_shared_with.update(recipients)
        return True

    async def _claim_missing(self, users: list[str]) -> int:
        """Claim one-time keys for devices without an Olm session; returns sessions made.

        A device whose keys ran out (or that is blocked) is not claimed again on every share:
        blocked devices never, exhausted ones only after ``claim_retry_s``.
        """
        nio, olm = self._nio, self._nio.olm
        assert olm is not None
        now = time.monotonic()
        missing: dict[str, list[str]] = defaultdict(list)
        devices: list[OlmDevice] = []
        for user_id in users:
            for device in olm.device_store.active_user_devices(user_id):
                if device.id == nio.device_id and user_id == nio.user_id:
                    continue
                if has_session(olm.session_store, device.curve25519) or olm.is_device_blacklisted(
                    device
                ):
                    continue
                if now - self._unreachable.get((user_id, device.id), -1e12) < self._claim_retry_s:
                    continue
                missing[user_id].append(device.id)
                devices.append(device)
        if not devices:
            return 0
        # Claimed in parts, all at once: nio makes every Olm session of one response in one go
        # (about 0.3 ms each), and the sync loop should not wait for thousands of them.
        parts: list[dict[str, list[str]]] = [{}]
        size = 0
        for user_id, device_ids in missing.items():
            if size >= CLAIM_PART:
                parts.append({})
                size = 0
            parts[-1][user_id] = device_ids
            size += len(device_ids)
        for response in await asyncio.gather(*(keyrequests.claim(nio, part) for part in parts)):
            if isinstance(response, KeysClaimError):
                log.warning("one-time key claim failed: %s", response.message)
                return 0
        made = 0
        for device in devices:
            if has_session(olm.session_store, device.curve25519):
                made += 1
                self._unreachable.pop((device.user_id, device.id), None)
            else:
                self._unreachable[(device.user_id, device.id)] = now
        return made

    def _unreachable_in(self, users: list[str]) -> list[tuple[str, str]]:
        wanted = set(users)
        return [key for key in self._unreachable if key[0] in wanted]

    def _remember(self, summary: ShareSummary) -> None:
        self.summaries = [*self.summaries[-999:], summary]
        log.info(
            "shared room key of %s with %d devices (%d new Olm sessions, %d unreachable, "
            "%d requests failed) in %.2f s%s",
            summary.room_id,
            summary.devices,
            summary.new_olm_sessions,
            summary.unreachable,
            summary.failed,
            summary.seconds,
            _SHARE_KINDS[summary.background, summary.ahead],
        )
