"""What a feature is: a pluggable unit with declarative commands and event hooks.

Modelled on maubot's command decorators and Draupnir's protections: a feature declares its
commands with ``@command`` and overrides the hooks it cares about; the dispatcher does the
parsing, the permission checks and the error handling for all of them alike.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import Enum
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

from bot.domain.classifier import Classification
from bot.domain.commands import CommandCall
from bot.domain.formatting import Rich
from bot.domain.membership import MemberChange
from bot.domain.message import Message
from bot.i18n.catalog import Language, t
from bot.matrix.client import txn_id
from bot.matrix.receipts import ReadReceipt
from bot.store.rooms import KnownRoom, RoomRole

if TYPE_CHECKING:
    from bot.services import Services


class Permission(Enum):
    ANYONE = "anyone"
    MODERATOR = "moderator"  # power level >= moderator_power_level in this room
    POLICE = "police"  # configured police user, or moderator of the coordination room
    # Moderator here; in the coordination room anyone there may try, because the command is
    # about another room and the handler checks the sender's power in that room.
    ROOM_MODERATOR = "room_moderator"


class Where(Enum):
    ANY = "any"
    WATCH = "watch"
    COORDINATION = "coordination"
    DIRECT = "direct"  # the bot's private chat with one person

    def allows(self, role: RoomRole | None) -> bool:
        return self is Where.ANY or (role is not None and role.value == self.value)


@dataclass(frozen=True, slots=True)
class CommandSpec:
    names: tuple[str, ...]  # Dutch name first, then aliases
    help_key: str  # catalogue key of the one-line description
    usage_key: str | None = None  # catalogue key of the argument syntax, if any
    permission: Permission = Permission.ANYONE
    where: Where = Where.ANY


Handler = Callable[[Any, "Context", CommandCall], Awaitable[None]]
H = TypeVar("H", bound=Handler)


def command(
    *names: str,
    help: str,
    usage: str | None = None,
    permission: Permission = Permission.ANYONE,
    where: Where = Where.ANY,
) -> Callable[[H], H]:
    """Declare a method of a ``Feature`` as a chat command."""

    def mark(handler: H) -> H:
        handler.__command__ = CommandSpec(names, help, usage, permission, where)  # type: ignore[attr-defined]
        return handler

    return mark


def coordination_command(*names: str, help: str, usage: str | None = None) -> Callable[[H], H]:
    """A command for the moderators of the coordination room, run only there."""
    return command(
        *names, help=help, usage=usage, permission=Permission.MODERATOR, where=Where.COORDINATION
    )


@dataclass
class Context:
    """One incoming event and everything a handler may do in response to it."""

    services: Services
    message: Message
    room: KnownRoom | None
    language: Language
    consumed: bool = False  # set by a hook that dealt with the event for good (e.g. redacted)

    @property
    def role(self) -> RoomRole | None:
        return self.room.role if self.room else None

    @cached_property
    def classification(self) -> Classification:
        """The message classified once, however many features look at it.

        A photo without a caption, a voice note or a shared location has no words to judge:
        it is neither a report nor off-topic (the flood rule still counts it).
        """
        verdict = self.services.classifier.classify(self.message.body)
        if self.message.is_text or self.message.caption:
            return verdict
        return verdict._replace(off_topic=False, off_topic_kind=None)

    def t(self, key: str, **args: object) -> Rich:
        return t(key, self.language, **args)

    def txn(self, purpose: str) -> str:
        """Idempotent per (event, purpose): re-handling after a crash re-sends nothing new."""
        return txn_id(self.message.event_id, purpose)

    async def reply(self, text: Rich, purpose: str = "reply", *, thread: bool = False) -> str:
        """Answer the event; in a thread when asked or when the event itself is in one."""
        msg = self.message
        root = msg.thread_root or (msg.event_id if thread else None)
        return await self.services.client.reply(
            msg.room_id, msg.event_id, msg.sender, text, purpose, thread_root=root
        )

    async def react(self, key: str) -> str:
        return await self.services.client.react(
            self.message.room_id, self.message.event_id, key, self.txn(f"react:{key}")
        )

    def level(self, user_id: str) -> float:
        return self.services.client.room_power(self.message.room_id).level(user_id)

    def is_moderator(self, user_id: str) -> bool:
        return self.level(user_id) >= self.services.settings.moderator_power_level


class Feature:
    """Base class: override the hooks you need; declare commands with ``@command``."""

    name = "feature"

    def __init__(self, services: Services) -> None:
        self.services = services

    def commands(
        self,
    ) -> list[tuple[CommandSpec, Callable[[Context, CommandCall], Awaitable[None]]]]:
        found = []
        for attribute in dir(type(self)):
            spec = getattr(getattr(type(self), attribute), "__command__", None)
            if isinstance(spec, CommandSpec):
                found.append((spec, getattr(self, attribute)))
        return found

    async def start(self) -> None:
        """Called once the bot is logged in and synced: resume background work here."""

    async def stop(self) -> None:
        """Called on shutdown: finish or checkpoint background work."""

    async def on_message(self, ctx: Context) -> None:
        """A new message that is not a command."""

    async def on_edit(self, ctx: Context) -> None:
        """An ``m.replace`` edit; ``ctx.message.target`` is the edited event."""

    async def on_redaction(self, ctx: Context) -> None:
        """A redaction; ``ctx.message.target`` is the removed event."""

    async def on_reaction(self, ctx: Context) -> None:
        """A reaction that can matter (see ``DECISION_KEYS``); ``body`` is the key."""

    async def on_member(self, change: MemberChange, room: KnownRoom | None) -> None:
        """Someone knocked, joined, left, was invited, kicked or banned."""

    async def on_receipts(self, receipts: list[ReadReceipt]) -> None:
        """Public read receipts of one sync batch, in the sync loop itself: filter in memory
        and keep it cheap (a busy server sends many)."""
