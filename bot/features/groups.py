"""Creating, adopting and letting go of watch groups, from the coordination room.

``!nieuwegroep`` checks everything that can be checked before the room exists (name, alias,
room version), so bad input leaves nothing behind; what can only fail afterwards (labels,
the gate, listed bans, the requester's invite) is done step by step and the reply says what
exists and what is left to fix. ``!koppel`` adopts a room only when the bot can do its job
there, and otherwise names the level it needs. ``!ontkoppel`` asks first.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from bot.domain.commands import CommandCall
from bot.domain.groups import (
    MAX_NAME_CHARS,
    NameProblem,
    RoomDefaults,
    alias_localpart,
    check_name,
    initial_state,
    missing_abilities,
    parse_group_request,
    power_levels_override,
)
from bot.features.base import Context, Feature, coordination_command
from bot.features.policy import PolicyFeature
from bot.features.watch_rooms import find_watch_room
from bot.i18n.catalog import Markup
from bot.matrix.client import MatrixError
from bot.services import Services
from bot.store.admission import Status
from bot.store.audit import AuditEntry
from bot.store.bulletins import BulletinRepository
from bot.store.rooms import RoomRole

log = logging.getLogger(__name__)

CONFIRM_WORDS = frozenset({"bevestig", "confirm"})


def room_link(room_id: str, alias: str | None = None) -> str:
    """A matrix.to link (escaped by the catalogue like every argument)."""
    return f"https://matrix.to/#/{alias or room_id}"


class GroupsFeature(Feature):
    name = "groups"

    def __init__(self, services: Services, policy: PolicyFeature) -> None:
        super().__init__(services)
        self.policy = policy
        self.labels = BulletinRepository(services.store.db)

    @property
    def defaults(self) -> RoomDefaults:
        groups = self.services.settings.groups
        return RoomDefaults(
            moderator_level=self.services.settings.moderator_power_level,
            events_default=groups.events_default,
            invite=groups.invite,
            kick=groups.kick,
            ban=groups.ban,
            redact=groups.redact,
            history_visibility=groups.history_visibility,
        )

    # -- !nieuwegroep --------------------------------------------------------------------

    @coordination_command(
        "nieuwegroep",
        "newgroup",
        help="help.nieuwegroep",
        usage="usage.nieuwegroep",
    )
    async def create_group(self, ctx: Context, call: CommandCall) -> None:
        request = parse_group_request(call.args)
        problem = check_name(request.name)
        if problem is not None:
            key = "groups.usage" if problem is NameProblem.EMPTY else f"groups.name_{problem}"
            await ctx.reply(ctx.t(key, name=request.name, max=MAX_NAME_CHARS))
            return
        client = self.services.client
        settings = self.services.settings.groups
        localpart = alias_localpart(request.name, settings.alias_prefix)
        alias = f"#{localpart}:{client.server_name}"
        room_id = await self._unfinished(alias)
        if room_id is None:
            if await self._alias_taken(ctx, alias):
                return
            room_id = await self._create_room(ctx, request.name, localpart, alias)
            if room_id is None:
                return
        problems = await self._adopt(ctx, room_id, request.name, request.labels, gate=True)
        try:
            await client.invite(room_id, ctx.message.sender)
        except MatrixError as exc:
            problems.append(ctx.t("groups.problem_invite", error=exc.errcode or str(exc)).html)
        await self._audit(ctx, "group_create", room_id, alias=alias, labels=request.labels)
        args = {
            "name": request.name,
            "link": room_link(room_id, alias),
            "alias": alias,
            "labels": self._label_text(ctx, request.labels),
        }
        if problems:
            await ctx.reply(ctx.t("groups.created_partly", **args, problems=_items(problems)))
        else:
            await ctx.reply(ctx.t("groups.created", **args))

    async def _create_room(self, ctx: Context, name: str, localpart: str, alias: str) -> str | None:
        """The room with all its settings in one ``createRoom``; ``None`` after telling why not
        (then nothing exists)."""
        client = self.services.client
        try:
            version = self.services.settings.groups.room_version
            version = version or await client.default_room_version()
            room_id = await client.create_room(
                name=name,
                alias=localpart,
                topic=ctx.t(
                    "groups.topic", number=self.services.settings.incidents.emergency_number
                ).plain,
                room_version=version,
                initial_state=initial_state(self.defaults),
                power_levels=power_levels_override(
                    self.defaults, version, client.user_id, ctx.message.sender
                ),
            )
        except MatrixError as exc:
            if exc.errcode == "M_ROOM_IN_USE":
                await ctx.reply(ctx.t("groups.alias_taken", alias=alias, link=room_link(alias)))
            else:
                await ctx.reply(ctx.t("groups.not_created", error=exc.errcode or str(exc)))
            return None
        log.info("created watch room %s (%s), version %s", room_id, alias, version)
        return room_id

    async def _unfinished(self, alias: str) -> str | None:
        """A room the bot created under this alias but never finished (a crash between
        ``createRoom`` and the last step): handling the command again completes it."""
        client = self.services.client
        try:
            room_id = await client.resolve_room(alias)
            if room_id not in client.joined_room_ids():
                return None
            await client.fetch_room_state(room_id)
        except MatrixError:
            return None
        if client.room_creator(room_id) != client.user_id:
            return None
        audit = await self.services.store.audit.recent(room_id=room_id)
        return None if any(e.action == "group_create" for e in audit) else room_id

    async def _alias_taken(self, ctx: Context, alias: str) -> bool:
        try:
            await self.services.client.resolve_room(alias)
        except MatrixError as exc:
            if exc.errcode == "M_NOT_FOUND":
                return False
            await ctx.reply(ctx.t("groups.not_created", error=exc.errcode or str(exc)))
            return True
        await ctx.reply(ctx.t("groups.alias_taken", alias=alias, link=room_link(alias)))
        return True

    # -- !koppel -------------------------------------------------------------------------

    @coordination_command(
        "koppel",
        "link",
        help="help.koppel",
        usage="usage.koppel",
    )
    async def link_group(self, ctx: Context, call: CommandCall) -> None:
        reference, *rest = call.words or [""]
        labels = parse_group_request(" ".join(rest))
        if not reference.startswith(("!", "#")) or labels.name:
            await ctx.reply(ctx.t("groups.link_usage"))
            return
        client = self.services.client
        try:
            room_id = await client.resolve_room(reference)
        except MatrixError:
            await ctx.reply(ctx.t("groups.link_unknown", room=reference))
            return
        known = await self.services.store.rooms.get(room_id)
        if room_id in (
            self.services.coordination_room_id,
            await self.services.store.policy.room_id(),
        ) or (known is not None and known.role is RoomRole.DIRECT):
            await ctx.reply(ctx.t("groups.link_special", room=reference))
            return
        was_in = room_id in client.joined_room_ids()
        if not was_in:
            try:
                await client.join(room_id)
            except MatrixError as exc:
                error = exc.errcode or str(exc)
                await ctx.reply(
                    ctx.t(
                        "groups.link_cannot_join", room=reference, bot=client.user_id, error=error
                    )
                )
                return
        try:
            power, name = await client.fetch_room_state(room_id)
        except MatrixError as exc:
            await ctx.reply(ctx.t("groups.not_linked", error=exc.errcode or str(exc)))
            return
        missing = missing_abilities(power, client.user_id)
        if missing:
            if not was_in:  # joined only to look: do not stay in a room we cannot serve
                await self._leave_quietly(room_id)
            abilities = ", ".join(
                f"{ctx.t(f'groups.ability.{a.value}').plain} {level}"
                for a, level in sorted(missing.items(), key=lambda item: -item[1])
            )
            await ctx.reply(
                ctx.t(
                    "groups.link_too_weak",
                    room=name or reference,
                    have=_level_text(power.level(client.user_id)),
                    need=max(missing.values()),
                    abilities=abilities,
                    bot=client.user_id,
                )
            )
            return
        display = name or client.room_name(room_id)
        problems = await self._adopt(ctx, room_id, display, labels.labels, gate=False)
        await self._audit(ctx, "group_link", room_id, labels=labels.labels)
        args = {
            "name": display,
            "link": room_link(room_id, reference if reference.startswith("#") else None),
            "labels": self._label_text(ctx, labels.labels),
        }
        if problems:
            await ctx.reply(ctx.t("groups.linked_partly", **args, problems=_items(problems)))
        else:
            await ctx.reply(ctx.t("groups.linked", **args))

    # -- !ontkoppel ----------------------------------------------------------------------

    @coordination_command(
        "ontkoppel",
        "unlink",
        help="help.ontkoppel",
        usage="usage.ontkoppel",
    )
    async def unlink_group(self, ctx: Context, call: CommandCall) -> None:
        words = call.words
        confirmed = bool(words) and words[-1].casefold() in CONFIRM_WORDS
        reference = " ".join(words[:-1] if confirmed else words)
        if not reference:
            await ctx.reply(ctx.t("groups.unlink_usage"))
            return
        room_id = await find_watch_room(ctx, reference)
        if room_id is None:
            return
        name = self.services.client.room_name(room_id)
        if not confirmed or reference != room_id:
            await ctx.reply(ctx.t("groups.unlink_confirm", name=name, room=room_id))
            return
        try:
            await self.services.client.leave(room_id)
        except MatrixError as exc:
            await ctx.reply(ctx.t("groups.unlink_failed", name=name, error=exc.errcode or ""))
            return
        store = self.services.store
        await store.rooms.left(room_id)
        await store.members.room_closed(room_id)
        labels = (await self.labels.labels_by_room()).get(room_id, ())
        await self.labels.remove_labels(room_id, labels)
        for request in await store.admission.open_requests(room_id):  # nobody can decide them
            await store.admission.close_open(
                room_id, request.user_id, Status.CLEARED, ctx.message.sender
            )
        for mute in await store.conduct.mutes():
            if mute.room_id == room_id:  # nobody is left to lift it: the bot is gone
                await store.conduct.delete_mute(room_id, mute.user_id)
        await self._audit(ctx, "group_unlink", room_id, labels=labels)
        await ctx.reply(ctx.t("groups.unlinked", name=name))

    # -- shared steps --------------------------------------------------------------------

    async def _adopt(
        self, ctx: Context, room_id: str, name: str, labels: Iterable[str], *, gate: bool
    ) -> list[str]:
        """Record a room as a watch room with its labels and the listed bans; the problems
        of the steps that failed, as HTML lines for the reply."""
        store = self.services.store
        await store.rooms.joined(room_id, RoomRole.WATCH, name)
        await self.labels.add_labels(room_id, labels)
        if gate:
            await store.gate.set_enabled(room_id, True, ctx.message.sender)
        problems = []
        for entity, error in (await self.policy.enforce_in(room_id)).items():
            problems.append(ctx.t("groups.problem_ban", user=entity, error=error).html)
        return problems

    async def _leave_quietly(self, room_id: str) -> None:
        try:
            await self.services.client.leave(room_id)
        except MatrixError as exc:
            log.warning("could not leave %s after a refused link: %s", room_id, exc)

    async def _audit(
        self,
        ctx: Context,
        action: str,
        room_id: str,
        alias: str | None = None,
        labels: Iterable[str] = (),
    ) -> None:
        details: dict[str, object] = {"labels": list(labels)}
        if alias:
            details["alias"] = alias
        await self.services.store.audit.record(
            AuditEntry(ctx.message.sender, action, room_id, room_id, None, details)
        )

    def _label_text(self, ctx: Context, labels: Iterable[str]) -> str:
        return " ".join(f"#{label}" for label in labels) or ctx.t("bulletin.no_labels").plain


def _items(problems: list[str]) -> Markup:
    return Markup("".join(f"<li>{p}</li>" for p in problems))


def _level_text(level: float) -> str:
    return "∞" if level == float("inf") else str(int(level))
