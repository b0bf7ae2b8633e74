"""From the inbox to the features: one ordered worker per room, commands and hooks.

Rooms are independent: each gets its own worker task, so a room whose sends are rate-limited
(or a slow handler) never holds up the others, and the sync loop never waits for handlers.
Within a room, events are handled in the order they arrived. An exception in a handler is
logged with the event ID (never the body) and the event is marked handled, so one poisonous
event cannot stop the bot or be retried forever.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Awaitable, Callable, Sequence

from bot.background import cancel_and_wait
from bot.domain.commands import CommandCall, parse_command
from bot.domain.membership import parse_member_event
from bot.domain.message import EventKind, Message, looks_like_text_message, parse_event
from bot.features.base import CommandSpec, Context, Feature, Permission
from bot.services import Services
from bot.store.inbox import InboxItem
from bot.store.rooms import RoomRole

log = logging.getLogger(__name__)

CommandHandler = Callable[[Context, CommandCall], Awaitable[None]]


class CommandTable:
    """All commands of all features, by every name they answer to."""

    def __init__(self, features: Sequence[Feature]) -> None:
        self.specs: list[tuple[CommandSpec, CommandHandler]] = []
        self._by_name: dict[str, tuple[CommandSpec, CommandHandler]] = {}
        for feature in features:
            for spec, handler in feature.commands():
                self.specs.append((spec, handler))
                for name in spec.names:
                    if name in self._by_name:
                        raise ValueError(f"command name {name!r} declared twice")
                    self._by_name[name] = (spec, handler)

    def lookup(self, name: str) -> tuple[CommandSpec, CommandHandler] | None:
        return self._by_name.get(name)


def may_use(spec: CommandSpec, ctx: Context) -> bool:
    """Whether the sender of ``ctx`` may run ``spec`` here; checked on every single call."""
    if not spec.where.allows(ctx.role):
        return False
    sender = ctx.message.sender
    settings = ctx.services.settings
    if spec.permission is Permission.ANYONE:
        return True
    if spec.permission is Permission.ROOM_MODERATOR:
        if ctx.role is RoomRole.COORDINATION:
            return True
        return ctx.role is RoomRole.WATCH and ctx.is_moderator(sender)
    if spec.permission is Permission.MODERATOR:
        return ctx.is_moderator(sender) or (
            settings.is_police(sender) and ctx.role is RoomRole.COORDINATION
        )
    # POLICE: a configured police account, or a moderator of the coordination room, and only
    # in the coordination room itself.
    return ctx.role is RoomRole.COORDINATION and (
        settings.is_police(sender) or ctx.is_moderator(sender)
    )


class Dispatcher:
    def __init__(self, services: Services, features: Sequence[Feature]) -> None:
        self.services = services
        self.features = list(features)
        self.commands = CommandTable(self.features)
        self._queues: dict[str, asyncio.Queue[InboxItem]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self.handled = 0  # for tests and metrics

    def submit(self, items: Sequence[InboxItem]) -> None:
        for item in items:
            queue = self._queues.get(item.room_id)
            if queue is None:
                queue = self._queues[item.room_id] = asyncio.Queue()
                self._workers[item.room_id] = asyncio.create_task(
                    self._work(item.room_id, queue), name=f"room-worker {item.room_id}"
                )
            queue.put_nowait(item)

    async def drain(self) -> None:
        """Wait until every submitted event has been handled."""
        await asyncio.gather(*(queue.join() for queue in self._queues.values()))

    async def stop(self) -> None:
        await cancel_and_wait(self._workers.values())
        self._workers.clear()
        self._queues.clear()

    async def _work(self, room_id: str, queue: asyncio.Queue[InboxItem]) -> None:
        while True:
            item = await queue.get()
            try:
                await self._handle_until_stored(item)
                self.handled += 1
            finally:
                queue.task_done()

    async def _handle_until_stored(self, item: InboxItem) -> None:
        """Handle an event and mark it handled, retrying while the database is unavailable.

        Handling is idempotent (transaction IDs per event, upserts in the store), so doing it
        again after a locked or full database is safe, and nothing it should record is lost.
        """
        delay = 1.0
        while True:
            try:
                try:
                    await self._handle(item)
                except sqlite3.OperationalError:
                    raise
                except Exception:
                    log.exception("failed to handle event %s in %s", item.event_id, item.room_id)
                await self.services.store.inbox.mark_handled(item)
                return
            except sqlite3.OperationalError as exc:
                log.error(
                    "database unavailable (%s) while handling %s; retrying in %.0f s",
                    exc,
                    item.event_id,
                    delay,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.services.settings.max_backoff_seconds)

    async def _handle(self, item: InboxItem) -> None:
        change = parse_member_event(item.room_id, item.event)
        if change is not None:
            if change.user_id != self.services.client.user_id:
                room = await self.services.store.rooms.get(item.room_id)
                for feature in self.features:
                    await feature.on_member(change, room)
            return
        message = parse_event(item.room_id, item.event)
        if message is None:
            if looks_like_text_message(item.event):
                log.info("skipped malformed message %s in %s", item.event_id, item.room_id)
            return
        if message.sender == self.services.client.user_id:
            return
        room = await self.services.store.rooms.get(item.room_id)
        ctx = Context(self.services, message, room, self.services.settings.language)
        try:
            await self._route(ctx)
        except sqlite3.OperationalError:
            raise  # transient: retried by the worker
        except Exception:
            log.exception("handler failed for event %s in %s", message.event_id, message.room_id)
            if message.kind is EventKind.MESSAGE and self._as_command(message):
                await ctx.reply(ctx.t("error.internal"), "internal-error")

    def _as_command(self, message: Message) -> CommandCall | None:
        if message.msgtype == "m.notice":
            return None  # bots talk in notices; never obey another bot
        return parse_command(message.body, self.services.settings.command_prefix)

    async def _route(self, ctx: Context) -> None:
        message = ctx.message
        if message.kind is EventKind.EDIT:
            for feature in self.features:
                await feature.on_edit(ctx)
            return
        if message.kind is EventKind.REDACTION:
            for feature in self.features:
                await feature.on_redaction(ctx)
            return
        if message.kind is EventKind.REACTION:
            for feature in self.features:
                await feature.on_reaction(ctx)
            return
        call = self._as_command(message)
        if call is None:
            for feature in self.features:
                await feature.on_message(ctx)
                if ctx.consumed:
                    break
            return
        found = self.commands.lookup(call.name)
        if found is None:
            await ctx.reply(ctx.t("command.unknown", name=call.name), "unknown-command")
            return
        spec, handler = found
        if not spec.where.allows(ctx.role):
            await ctx.reply(ctx.t(f"command.wrong_room.{spec.where.value}", name=call.name))
            return
        if not may_use(spec, ctx):
            log.info("refused !%s by %s in %s", call.name, message.sender, message.room_id)
            await ctx.reply(ctx.t("command.not_allowed", name=call.name), "refused")
            return
        await handler(ctx, call)
