"""One ban for the whole municipality: a Matrix moderation policy list kept by the bot.

``!verban @persoon overal [reden]`` in the coordination room lists the person (our store, and an
``m.policy.rule.user`` event in the municipality's policy room, which Mjolnir and Draupnir can
follow) and bans them from every watch room. From then on a knock or a join by a listed user in
any watch room is answered with a ban, and rooms created or linked later get the listed bans
applied (``enforce_in``). ``!opheffen @persoon`` lifts it: the rule is emptied and the person is
unbanned exactly where the list banned them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from bot.background import cancel_and_wait
from bot.domain.commands import CommandCall
from bot.domain.formatting import escape, mention_html
from bot.domain.groups import state
from bot.domain.membership import MemberChange
from bot.domain.policy import USER_RULE, ban_rule, rule_state_key
from bot.domain.targets import Found, split_target_and_rest
from bot.features.base import Context, Feature, coordination_command
from bot.features.sanctions import Sanctions
from bot.i18n.catalog import Markup, t
from bot.matrix.client import MatrixError
from bot.services import Services
from bot.store.admission import Status
from bot.store.audit import AuditEntry
from bot.store.rooms import KnownRoom, RoomRole

log = logging.getLogger(__name__)

EVERYWHERE = frozenset({"overal", "everywhere"})
# Bans go out to many rooms at once, but not so many that one command floods the homeserver.
BAN_CONCURRENCY = 8
# How often the list is applied to every watch room (rooms the bot was invited into meanwhile).
APPLY_INTERVAL_S = 300.0


@dataclass
class Outcome:
    """What happened in each watch room: the rooms it worked in and why the others failed."""

    done: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


class PolicyFeature(Feature):
    name = "policy"

    def __init__(self, services: Services, sanctions: Sanctions) -> None:
        super().__init__(services)
        self.sanctions = sanctions
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._checked: set[str] = set()  # watch rooms the list was applied to in this run
        self._failed: set[tuple[str, str]] = set()  # (entity, room) refused; retried on restart

    async def start(self) -> None:
        self._task = asyncio.create_task(self._apply_forever(), name="ban list")

    async def stop(self) -> None:
        await cancel_and_wait([self._task])

    # -- commands ------------------------------------------------------------------------

    @coordination_command(
        "verban",
        "ban",
        help="help.verban_overal",
        usage="usage.verban_overal",
    )
    async def ban_everywhere(self, ctx: Context, call: CommandCall) -> None:
        target, rest = await self._target(ctx, call)
        if target is None:
            return
        word, _, reason = rest.partition(" ")
        if word.casefold() not in EVERYWHERE:
            await ctx.reply(ctx.t("policy.usage"))
            return
        reason = reason.strip() or None
        msg = ctx.message
        store = self.services.store.policy
        await store.add(target, reason, msg.sender)
        try:
            policy_room = await self._policy_room(msg.sender)
            await self.services.client.put_state(
                policy_room, USER_RULE, ban_rule(target, reason), rule_state_key(target)
            )
            rule_problem = ""
        except MatrixError as exc:
            log.warning("policy rule for %s not written: %s", target, exc)
            rule_problem = ctx.t("policy.rule_failed", error=exc.errcode or str(exc)).html
        rooms = [room.room_id for room in await self.services.store.rooms.list(RoomRole.WATCH)]
        outcome = await self._ban_in(rooms, target, reason)
        await self._audit(ctx, "policy_ban", target, reason, outcome)
        await ctx.reply(
            ctx.t(
                "policy.banned",
                user=Markup(mention_html(target)),
                done=len(outcome.done),
                total=len(rooms),
                failures=Markup(self._failures(ctx, outcome) + rule_problem),
            ),
            "done",
        )

    @coordination_command(
        "opheffen",
        "unban",
        help="help.opheffen",
        usage="usage.target",
    )
    async def lift(self, ctx: Context, call: CommandCall) -> None:
        target, _ = await self._target(ctx, call, check_power=False)
        if target is None:
            return
        store = self.services.store.policy
        if await store.get(target) is None:
            await ctx.reply(ctx.t("policy.not_listed", user=target))
            return
        rooms = await store.rooms_banned(target)
        await store.remove(target)
        self._failed = {pair for pair in self._failed if pair[0] != target}
        rule_problem = ""
        policy_room = await store.room_id()
        if policy_room is not None:
            try:
                # Empty content removes the rule (spec) and keeps the state key reusable.
                await self.services.client.put_state(
                    policy_room, USER_RULE, {}, rule_state_key(target)
                )
            except MatrixError as exc:
                rule_problem = ctx.t("policy.rule_failed", error=exc.errcode or str(exc)).html
        watch = {room.room_id for room in await self.services.store.rooms.list(RoomRole.WATCH)}
        outcome = await self._each(
            [r for r in rooms if r in watch], lambda r: self.services.client.unban(r, target)
        )
        await self._audit(ctx, "policy_lift", target, None, outcome)
        await ctx.reply(
            ctx.t(
                "policy.lifted",
                user=Markup(mention_html(target)),
                done=len(outcome.done),
                failures=Markup(self._failures(ctx, outcome) + rule_problem),
            ),
            "done",
        )

    # -- knocks and joins ----------------------------------------------------------------

    async def on_message(self, ctx: Context) -> None:
        if ctx.role is RoomRole.WATCH:
            self._notice(ctx.message.room_id)

    async def on_member(self, change: MemberChange, room: KnownRoom | None) -> None:
        """A listed user who knocks or joins a watch room is banned there at once."""
        if room is None or room.role is not RoomRole.WATCH or not room.joined:
            return
        self._notice(change.room_id)
        if change.membership not in ("knock", "join") or (
            change.membership == "join" and not change.is_new_join
        ):
            return
        listed = await self.services.store.policy.listed(change.user_id)
        if listed is None:
            return
        ban = await self.services.store.policy.get(listed)
        reason = ban.reason if ban else None
        outcome = await self._ban_in([change.room_id], change.user_id, reason)
        if outcome.failed:
            log.warning(
                "listed user %s %sed %s and could not be banned: %s",
                change.user_id,
                change.membership,
                change.room_id,
                outcome.failed[change.room_id],
            )
            return
        await self.services.store.admission.close_open(
            change.room_id, change.user_id, Status.DECLINED, self.services.client.user_id, reason
        )
        await self.sanctions.audit(
            change.room_id,
            self.services.client.user_id,
            "policy_ban",
            change.user_id,
            reason,
            key=f"policy-ban:{change.event_id}",
        )

    def _notice(self, room_id: str) -> None:
        """Activity in a watch room the list was not applied to yet (say, one the bot was
        just invited into): apply it now rather than at the next round."""
        if room_id not in self._checked:
            self._wake.set()

    async def _apply_forever(self) -> None:
        while True:
            self._wake.clear()
            try:
                await self.apply_everywhere()
            except Exception:  # a locked database or a lost connection: next round
                log.exception("applying the ban list failed; retrying later")
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=APPLY_INTERVAL_S)

    async def apply_everywhere(self) -> None:
        """Every listed user banned in every watch room, however the room became one."""
        for room in await self.services.store.rooms.list(RoomRole.WATCH):
            await self.enforce_in(room.room_id)

    async def enforce_in(self, room_id: str) -> dict[str, str]:
        """Apply every listed ban not applied yet to this watch room; returns the entities
        that could not be banned there, with the homeserver's error."""
        store = self.services.store.policy
        done = await store.banned_pairs()
        failed: dict[str, str] = {}
        for ban in await store.all():
            pair = (ban.entity, room_id)
            if "*" in ban.entity or "?" in ban.entity or pair in done or pair in self._failed:
                continue  # a glob cannot be banned up front: joins and knocks are checked
            result = await self._ban_in([room_id], ban.entity, ban.reason)
            if result.failed:
                failed[ban.entity] = result.failed[room_id]
                self._failed.add(pair)
                log.warning("listed %s not banned in %s: %s", ban.entity, room_id, failed)
                continue
            await self.sanctions.audit(
                room_id,
                self.services.client.user_id,
                "policy_ban",
                ban.entity,
                ban.reason,
                key=f"policy-apply:{ban.entity}:{room_id}",
            )
        self._checked.add(room_id)
        return failed

    # -- helpers -------------------------------------------------------------------------

    async def _target(
        self, ctx: Context, call: CommandCall, check_power: bool = True
    ) -> tuple[str | None, str]:
        client = self.services.client
        room_id = ctx.message.room_id
        members = {uid: name or uid for uid, name in client.members(room_id).items()}
        reference, rest = split_target_and_rest(call.args, ctx.message.formatted_body, members)
        if not isinstance(reference, Found):
            await ctx.reply(ctx.t("policy.usage" if check_power else "policy.lift_usage"))
            return None, ""
        target = reference.user_id
        settings = self.services.settings
        if check_power and (
            target == client.user_id or settings.is_police(target) or ctx.is_moderator(target)
        ):
            await ctx.reply(ctx.t("policy.protected", user=target))
            return None, ""
        return target, rest.strip()

    async def _policy_room(self, requester: str) -> str:
        """The municipality's policy room, created (and its ID stored) on first use."""
        store = self.services.store
        client = self.services.client
        room_id = await store.policy.room_id()
        if room_id is not None and room_id in client.joined_room_ids():
            return room_id
        lang = self.services.settings.language
        room_id = await client.create_room(
            name=t("policy.room_name", lang).plain,
            alias=None,
            topic=t("policy.room_topic", lang).plain,
            room_version=self.services.settings.groups.room_version,
            initial_state=[
                state("m.room.history_visibility", {"history_visibility": "shared"}),
                state("m.room.guest_access", {"guest_access": "forbidden"}),
            ],
            # No "users" here: the server's default keeps the bot (its creator) at the top in
            # every room version; only the bot writes rules.
            power_levels={"events_default": 50, "state_default": 100},
        )
        await store.policy.set_room_id(room_id)
        await store.rooms.forget(room_id)  # in case a sync registered it first
        for ban in await store.policy.all():  # a replacement list starts complete
            await client.put_state(
                room_id, USER_RULE, ban_rule(ban.entity, ban.reason), rule_state_key(ban.entity)
            )
        try:
            await client.invite(room_id, requester)  # so a moderator can invite Draupnir
        except MatrixError as exc:
            log.warning("could not invite %s to the policy room: %s", requester, exc)
        log.info("created the municipality's policy room %s", room_id)
        return room_id

    async def _ban_in(self, rooms: Iterable[str], user_id: str, reason: str | None) -> Outcome:
        text = t("policy.ban_reason", self.services.settings.language).plain
        text += f": {reason}" if reason else ""

        async def ban(room_id: str) -> None:
            await self.services.client.ban(room_id, user_id, text)
            await self.services.store.policy.banned_in(user_id, room_id)
            await self.services.store.conduct.delete_mute(room_id, user_id)

        return await self._each(list(rooms), ban)

    async def _each(self, rooms: list[str], action: Callable[[str], Awaitable[None]]) -> Outcome:
        outcome = Outcome()
        limit = asyncio.Semaphore(BAN_CONCURRENCY)

        async def one(room_id: str) -> None:
            async with limit:
                try:
                    await action(room_id)
                    outcome.done.append(room_id)
                except MatrixError as exc:
                    outcome.failed[room_id] = exc.errcode or str(exc)

        await asyncio.gather(*(one(room) for room in rooms))
        return outcome

    def _failures(self, ctx: Context, outcome: Outcome) -> str:
        if not outcome.failed:
            return ""
        client = self.services.client
        rooms = ", ".join(
            f"{escape(client.room_name(room))} ({escape(error)})"
            for room, error in sorted(outcome.failed.items())
        )
        return ctx.t("policy.failures", rooms=Markup(rooms)).html

    async def _audit(
        self, ctx: Context, action: str, target: str, reason: str | None, outcome: Outcome
    ) -> None:
        await self.services.store.audit.record(
            AuditEntry(
                actor=ctx.message.sender,
                action=action,
                room_id=ctx.message.room_id,
                target=target,
                reason=reason,
                details={"rooms": len(outcome.done), "failed": sorted(outcome.failed)},
            )
        )
