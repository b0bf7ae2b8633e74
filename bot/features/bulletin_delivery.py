"""The bulletin outbox worker: sends, edits and redacts the copies in the watch rooms.

It runs beside the sync loop (never inside a handler) and works only from the ``deliveries``
table, so it resumes exactly where a crashed run stopped. Every request carries a transaction ID
derived from (command event, room, operation): Synapse deduplicates a repeat with the same
access token, so a copy whose send was in flight when the process died is not sent twice.

Each (bulletin, room) pair gets its own task; a semaphore bounds how many talk to the
homeserver at once. A rate-limited or failing room therefore only ever holds its own slot:
nio waits out ``M_LIMIT_EXCEEDED`` inside the request, other errors are retried later with
capped backoff, and permanent ones (not in the room, no permission) are recorded, not retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from enum import Enum
from typing import Any

from bot.background import cancel_and_wait
from bot.domain.formatting import Rich
from bot.i18n.catalog import Language, Markup, t
from bot.matrix.client import MatrixError, txn_id
from bot.services import Services
from bot.store.bulletins import Bulletin, BulletinRepository, Counts, Delivery, Kind, State
from bot.store.database import now_ms

log = logging.getLogger(__name__)

# Copies in flight at once. A client sending every copy at once is what a wijkagent would
# otherwise do; at 500 rooms a cap of 32 made the bot 1.18x slower than that, 128 ties it
# (tests/bench/README.md). Synapse does the queueing either way; rate limits are retried.
CONCURRENCY = 128
MAX_ATTEMPTS = 8
MAX_BACKOFF_S = 300
# A copy that replies to an alert waits while the alert itself is still on its way.
PARENT_WAIT_MS = 1000
STATUS_INTERVAL_S = 1.5
# The status reply waits this long for the copies. A fan-out that is out by then (20 rooms take
# about 0.4 s) gets one message saying so, and the homeserver spends that time on the copies
# instead of on a "sending" reply and its edit; a longer one shows its progress from then on.
FIRST_STATUS_WAIT_S = 1.0
MAX_FAILURES_LISTED = 10
_CLEAR_ERROR: dict[str, Any] = {"attempts": 0, "error": None, "next_attempt_at": 0}


class Step(Enum):
    SEND = "send"
    EDIT = "edit"
    REDACT = "redact"


def backoff_ms(attempts: int) -> int:
    """2 s, 4 s, 8 s … capped: a homeserver hiccup is retried, an outage is not hammered."""
    return min(2**attempts, MAX_BACKOFF_S) * 1000


def format_seconds(ms: int, language: Language) -> str:
    text = f"{max(ms, 0) / 1000:.1f}"
    return text.replace(".", ",") if language == "nl" else text


def reason_text(errcode: str | None, language: Language) -> str:
    if errcode == "M_FORBIDDEN":
        return t("bulletin.reason.forbidden", language).plain
    if errcode == "M_NOT_FOUND":
        return t("bulletin.reason.not_found", language).plain
    return t("bulletin.reason.other", language, code=errcode or "?").plain


def is_settled(bulletin: Bulletin, counts: Counts) -> bool:
    """Nothing left to do for any copy: every send, edit and redaction has an outcome."""
    if counts.pending:
        return False
    if bulletin.redacted:
        return counts.removed == counts.sent
    return counts.updated == counts.sent


def status_text(
    bulletin: Bulletin,
    counts: Counts,
    failures: Sequence[tuple[str, str | None]],
    language: Language,
) -> Rich:
    """The progress line under the command, as a person reads it.

    ``failures`` are (room name, error code) of the rooms that could not be reached.
    """
    if bulletin.redacted:
        return t("bulletin.status.redacted", language, removed=counts.removed, copies=counts.sent)
    if counts.pending:
        text = t("bulletin.status.progress", language, sent=counts.sent, total=counts.total)
    elif failures:
        listed = [
            t("bulletin.status.failure", language, room=room, reason=reason_text(code, language))
            for room, code in failures[:MAX_FAILURES_LISTED]
        ]
        more = len(failures) - len(listed)
        names = ", ".join(item.html for item in listed) + (f", … (+{more})" if more else "")
        text = t(
            "bulletin.status.partial",
            language,
            sent=counts.sent,
            total=counts.total,
            failures=Markup(names),
        )
    else:
        elapsed = (counts.last_sent_at or bulletin.created_at) - bulletin.created_at
        text = t(
            "bulletin.status.done",
            language,
            sent=counts.sent,
            total=counts.total,
            seconds=format_seconds(elapsed, language),
        )
    if bulletin.version > 1:
        edited = t("bulletin.status.edited", language, updated=counts.updated, sent=counts.sent)
        text = text + Rich(" ", " ") + edited
    return text


class DeliveryWorker:
    """Drives every delivery row to its end state; ``wake()`` whenever rows were added."""

    def __init__(
        self,
        services: Services,
        repo: BulletinRepository,
        *,
        concurrency: int = CONCURRENCY,
        status_interval_s: float = STATUS_INTERVAL_S,
        first_status_wait_s: float = FIRST_STATUS_WAIT_S,
    ) -> None:
        self.services = services
        self.repo = repo
        self._slots = asyncio.Semaphore(concurrency)
        self._status_interval_s = status_interval_s
        self._first_status_wait_s = first_status_wait_s
        self._wake = asyncio.Event()
        self._status_wake = asyncio.Event()
        self._progress = asyncio.Event()  # a copy took a step
        self._active: set[tuple[int, str]] = set()  # (bulletin id, room id) in flight
        self._finished: set[tuple[int, str]] = set()  # ended since the last scheduling round
        self._dirty: set[int] = set()
        self._bulletins: dict[int, asyncio.Future[Bulletin | None]] = {}
        self._last_status: dict[int, str] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._loops: list[asyncio.Task[None]] = []

    @property
    def language(self) -> Language:
        return self.services.settings.language

    def wake(self) -> None:
        self._wake.set()

    def changed(self, bulletin_id: int) -> None:
        """The status message of this bulletin is due for a (throttled) update."""
        self._dirty.add(bulletin_id)
        self._status_wake.set()
        self._progress.set()

    def announce(self, bulletin_id: int, post: Callable[[Rich], Awaitable[str]]) -> None:
        """Post the bulletin's status message in the background; ``post`` sends it and returns
        its event ID. The command's handler does not wait, so a second alert right behind
        this one is not held up."""
        task = asyncio.create_task(self._announce(bulletin_id, post), name=f"status {bulletin_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _reply_to_command(self, bulletin: Bulletin, text: Rich) -> str:
        """The status reply as the command's handler sends it (``Context.reply``)."""
        return await self.services.client.reply(
            bulletin.source_room, bulletin.source_event_id, bulletin.sender, text, "status"
        )

    async def _announce(self, bulletin_id: int, post: Callable[[Rich], Awaitable[str]]) -> None:
        try:
            await self._post_status(bulletin_id, post)
        except asyncio.CancelledError:
            raise
        except Exception:  # the database, most likely: the next start posts it
            log.exception("status message of bulletin %d failed", bulletin_id)

    async def _post_status(self, bulletin_id: int, post: Callable[[Rich], Awaitable[str]]) -> None:
        deadline = time.monotonic() + self._first_status_wait_s
        while (left := deadline - time.monotonic()) > 0:
            self._progress.clear()
            if not (await self.repo.counts(bulletin_id)).pending:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._progress.wait(), left)
        status = await self._status(bulletin_id)
        if status is None:
            return
        text = status[2]
        try:
            event_id = await post(text)
        except MatrixError as exc:
            log.warning("status message of bulletin %d not posted: %s", bulletin_id, exc)
            return
        await self.repo.set_status_event(bulletin_id, event_id)
        self._last_status[bulletin_id] = text.plain
        self.changed(bulletin_id)  # settles it, or edits it if a copy moved on meanwhile

    async def start(self) -> None:
        for bulletin_id in await self.repo.unfinished():
            self.changed(bulletin_id)  # a restart may have missed the final status edit
            bulletin = await self.repo.get(bulletin_id)
            if bulletin is not None and bulletin.status_event_id is None:
                # The process stopped before the status was posted: post it now, as the same
                # reply (same transaction ID, so a post that did go out is not repeated).
                self.announce(bulletin_id, functools.partial(self._reply_to_command, bulletin))
        self._loops = [
            asyncio.create_task(self._schedule_forever(), name="bulletin delivery"),
            asyncio.create_task(self._report_forever(), name="bulletin status"),
        ]

    async def stop(self) -> None:
        """Cancel in-flight requests: their rows stay due and repeat with the same txn IDs."""
        await cancel_and_wait([*self._loops, *self._tasks])
        self._loops.clear()

    # -- scheduling ----------------------------------------------------------------------

    async def _schedule_forever(self) -> None:
        while True:
            self._wake.clear()
            self._bulletins.clear()  # whoever changed a bulletin woke us: read it afresh
            self._finished.clear()
            try:
                now = now_ms()
                for delivery in await self.repo.actionable(now):
                    key = (delivery.bulletin_id, delivery.room_id)
                    if key in self._finished:  # read before its task ended: may be stale
                        self.wake()  # look again in the next round
                    elif key not in self._active:
                        self._spawn(delivery)
                due = await self.repo.next_attempt_after(now)
            except Exception:
                log.exception("bulletin scheduler failed; trying again shortly")
                due = now_ms() + 1000
            timeout = None if due is None else max(0.01, (due - now_ms()) / 1000)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    def _spawn(self, delivery: Delivery) -> None:
        key = (delivery.bulletin_id, delivery.room_id)
        self._active.add(key)
        task = asyncio.create_task(self._drive(delivery), name=f"delivery {key[0]} {key[1]}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _bulletin(self, bulletin_id: int) -> Bulletin | None:
        """The bulletin, read once per scheduling round instead of once per room: the copies'
        tasks all start before the first read is back, so they share that one read."""
        read = self._bulletins.get(bulletin_id)
        if read is None:
            read = self._bulletins[bulletin_id] = asyncio.ensure_future(self.repo.get(bulletin_id))
        return await asyncio.shield(read)

    async def _drive(self, delivery: Delivery) -> None:
        """All steps one copy needs now (a send may be followed by an edit that came in).

        Only this task writes this delivery row while it runs, so it keeps the row in memory
        instead of reading it back after every step.
        """
        key = (delivery.bulletin_id, delivery.room_id)
        current: Delivery | None = delivery
        try:
            async with self._slots:
                while current is not None:
                    current = await self._step(current)
                    self.changed(key[0])
        except asyncio.CancelledError:
            raise
        except Exception:  # the database, most likely: the row stays due, try again soon
            log.exception("delivery of bulletin %d to %s failed unexpectedly", *key)
            await asyncio.sleep(1)
        finally:
            self._active.discard(key)
            self._finished.add(key)
            self.changed(key[0])

    async def _step(self, delivery: Delivery) -> Delivery | None:
        """Do the next due step for one copy; the updated row, or ``None`` when done for now."""
        bulletin = await self._bulletin(delivery.bulletin_id)
        if bulletin is None or delivery.next_attempt_at > now_ms():
            return None
        if delivery.state is State.PENDING:
            if bulletin.redacted:
                await self._save(delivery, state=State.CANCELLED)
                return None
            return await self._send(bulletin, delivery)
        if delivery.state is State.SENT and delivery.event_id:
            if bulletin.redacted and not delivery.redacted:
                return await self._attempt(bulletin, delivery, Step.REDACT, self._redact)
            if not bulletin.redacted and delivery.version_sent < bulletin.version:
                return await self._attempt(bulletin, delivery, Step.EDIT, self._edit)
        return None

    async def _save(self, delivery: Delivery, **changes: Any) -> Delivery:
        await self.repo.update_delivery(delivery.bulletin_id, delivery.room_id, **changes)
        return replace(delivery, **changes)

    async def _send(self, bulletin: Bulletin, delivery: Delivery) -> Delivery | None:
        reply_to = None
        if bulletin.kind is Kind.ALERT_END and bulletin.parent_id is not None:
            parent = await self.repo.delivery(bulletin.parent_id, delivery.room_id)
            if parent is not None and parent.state is State.PENDING:
                await self._save(delivery, next_attempt_at=now_ms() + PARENT_WAIT_MS)
                self.wake()
                return None
            if parent is None or parent.state is not State.SENT:
                await self._save(delivery, state=State.CANCELLED)
                return None
            reply_to = parent.event_id

        async def send(bulletin: Bulletin, delivery: Delivery) -> Delivery:
            event_id = await self.services.client.send_message(
                delivery.room_id,
                bulletin.content,
                txn_id(bulletin.source_event_id, delivery.room_id, "send"),
                notice=False,  # police messages notify, unlike the bot's own chatter
                reply_to=reply_to,
                mention_room=bulletin.kind is Kind.ALERT,
            )
            return await self._save(
                delivery,
                state=State.SENT,
                event_id=event_id,
                version_sent=bulletin.version,
                sent_at=now_ms(),
                **_CLEAR_ERROR,
            )

        return await self._attempt(bulletin, delivery, Step.SEND, send)

    async def _edit(self, bulletin: Bulletin, delivery: Delivery) -> Delivery:
        assert delivery.event_id is not None
        await self.services.client.edit(
            delivery.room_id,
            delivery.event_id,
            bulletin.content,
            txn_id(bulletin.source_event_id, delivery.room_id, f"edit{bulletin.version}"),
            notice=False,
            mention_room=bulletin.kind is Kind.ALERT,
        )
        return await self._save(delivery, version_sent=bulletin.version, **_CLEAR_ERROR)

    async def _redact(self, bulletin: Bulletin, delivery: Delivery) -> Delivery:
        assert delivery.event_id is not None
        await self.services.client.redact(
            delivery.room_id,
            delivery.event_id,
            txn_id(bulletin.source_event_id, delivery.room_id, "redact"),
        )
        return await self._save(delivery, redacted=True, **_CLEAR_ERROR)

    async def _attempt(
        self,
        bulletin: Bulletin,
        delivery: Delivery,
        step: Step,
        action: Callable[[Bulletin, Delivery], Awaitable[Delivery]],
    ) -> Delivery | None:
        """Run one request; on failure record it and decide between retry and giving up."""
        try:
            return await action(bulletin, delivery)
        except MatrixError as exc:
            errcode, permanent = exc.errcode or "error", exc.permanent
        except (asyncio.CancelledError, KeyboardInterrupt):
            raise
        except Exception as exc:  # nio raises a few of its own, e.g. while encrypting
            log.exception("%s of bulletin %d to %s", step.value, bulletin.id, delivery.room_id)
            errcode, permanent = type(exc).__name__, False
        attempts = delivery.attempts + 1
        room = delivery.room_id
        if permanent or attempts >= MAX_ATTEMPTS:
            log.warning(
                "giving up %s of bulletin %d to %s: %s", step.value, bulletin.id, room, errcode
            )
            if step is Step.EDIT:  # the copy stays, showing an older version
                await self._save(delivery, version_sent=bulletin.version, error=errcode, attempts=0)
            else:
                await self._save(delivery, state=State.FAILED, error=errcode, attempts=attempts)
            return None
        log.info(
            "%s of bulletin %d to %s failed (%s); retrying", step.value, bulletin.id, room, errcode
        )
        await self._save(
            delivery,
            attempts=attempts,
            error=errcode,
            next_attempt_at=now_ms() + backoff_ms(attempts),
        )
        self.wake()  # so the scheduler sets its timer for the retry
        return None

    # -- the status message --------------------------------------------------------------

    async def _report_forever(self) -> None:
        """At most one round of status edits per interval, longer when edits are slow.

        Status edits share the bot's rate limit with the deliveries; when the homeserver makes
        us wait, fewer progress edits leave more of the budget for the watch rooms.
        """
        while True:
            await self._status_wake.wait()
            self._status_wake.clear()
            started = time.monotonic()
            while self._dirty:
                bulletin_id = self._dirty.pop()
                try:
                    await self._report(bulletin_id)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("status update of bulletin %d failed", bulletin_id)
            took = time.monotonic() - started
            await asyncio.sleep(max(self._status_interval_s, 4 * took))

    async def _status(self, bulletin_id: int) -> tuple[Bulletin, Counts, Rich] | None:
        """The bulletin, its counts and the status text they make now."""
        bulletin = await self.repo.get(bulletin_id)
        if bulletin is None:
            return None
        counts = await self.repo.counts(bulletin_id)
        failures = []
        if counts.failed and not counts.pending:
            client = self.services.client
            failures = [
                (client.room_name(d.room_id), d.error)
                for d in await self.repo.deliveries(bulletin_id, State.FAILED)
            ]
        return bulletin, counts, status_text(bulletin, counts, failures, self.language)

    async def _report(self, bulletin_id: int) -> None:
        status = await self._status(bulletin_id)
        # Before the status message is posted (``announce``) there is nothing to edit, and the
        # bulletin stays unfinished: a restart then posts the status it never got.
        if status is None or status[0].status_event_id is None:
            return
        bulletin, counts, text = status
        if self._last_status.get(bulletin_id) != text.plain:
            await self.services.client.edit(
                bulletin.source_room,
                bulletin.status_event_id,
                text,
                txn_id(bulletin.source_event_id, "status", text.plain),
            )
            self._last_status[bulletin_id] = text.plain
        if not is_settled(bulletin, counts):
            return
        self._last_status.pop(bulletin_id, None)
        if bulletin.finished_at is None:
            await self.repo.finish(bulletin_id, counts.last_sent_at or now_ms())
            log.info(
                "bulletin %d settled: %d sent, %d failed of %d",
                bulletin_id,
                counts.sent,
                counts.failed,
                counts.total,
            )
