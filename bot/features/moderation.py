"""Moderator commands in watch rooms, with every target and argument validated first.

A moderator names a person by full Matrix ID, by a mention pill, or by a unique display name.
Nobody can act on someone with equal or more power, nor on the bot, and the bot says so
instead of letting the homeserver refuse halfway.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from bot.domain.commands import CommandCall
from bot.domain.conduct import HouseRules
from bot.domain.durations import DurationError, format_duration, parse_duration
from bot.domain.formatting import paragraphs
from bot.domain.gate import house_rules_version
from bot.domain.targets import Ambiguous, Found, Malformed, NotFound, split_target_and_rest
from bot.features.base import Context, Feature, Permission, Where, command
from bot.features.conduct import ConductFeature
from bot.features.sanctions import Sanctions
from bot.i18n.catalog import Markup
from bot.matrix.client import MatrixError
from bot.services import Services

DEFAULT_MUTE_S = 24 * 3600

# Moderator tools act on a watch room; the ladder and the audit are per room.
moderator_command = functools.partial(command, permission=Permission.MODERATOR, where=Where.WATCH)

PersonHandler = Callable[["ModerationFeature", Context, str, str], Awaitable[None]]
CallHandler = Callable[["ModerationFeature", Context, CommandCall], Awaitable[None]]


def about_someone(must_be_member: bool = True) -> Callable[[PersonHandler], CallHandler]:
    """Resolve and check the person a command is about before the handler runs; the handler
    gets ``(ctx, target, rest_of_arguments)`` and never sees an invalid target."""

    def wrap(handler: PersonHandler) -> CallHandler:
        @functools.wraps(handler)
        async def run(self: ModerationFeature, ctx: Context, call: CommandCall) -> None:
            found = await self._target(ctx, call, must_be_member=must_be_member)
            if found is not None:
                await handler(self, ctx, *found)

        return run

    return wrap


class ModerationFeature(Feature):
    name = "moderation"

    def __init__(self, services: Services, sanctions: Sanctions, conduct: ConductFeature) -> None:
        super().__init__(services)
        self.sanctions = sanctions
        self.conduct = conduct

    async def start(self) -> None:
        self.sanctions.start()

    async def stop(self) -> None:
        await self.sanctions.stop()

    def rules(self, ctx: Context) -> HouseRules:
        return self.conduct.rules_for(ctx.message.room_id)

    # -- target validation ---------------------------------------------------------------

    async def _target(
        self, ctx: Context, call: CommandCall, *, must_be_member: bool = True
    ) -> tuple[str, str] | None:
        """The user a command is about and the rest of its arguments, or ``None`` after
        telling the moderator exactly what is wrong."""
        room_id = ctx.message.room_id
        client = self.services.client
        members = {uid: name for uid, name in client.members(room_id).items() if name}
        members.update({uid: uid for uid in client.members(room_id) if uid not in members})
        reference, rest = split_target_and_rest(call.args, ctx.message.formatted_body, members)
        if isinstance(reference, Malformed):
            key = "empty" if reference.reason == "empty" else "malformed"
            await ctx.reply(
                ctx.t(f"moderation.target_{key}", query=reference.query, name=call.name)
            )
            return None
        if isinstance(reference, NotFound):
            await ctx.reply(ctx.t("moderation.target_unknown", query=reference.query))
            return None
        if isinstance(reference, Ambiguous):
            names = ", ".join(reference.candidates)
            await ctx.reply(
                ctx.t("moderation.target_ambiguous", query=reference.query, names=names)
            )
            return None
        assert isinstance(reference, Found)
        target = reference.user_id
        if target == client.user_id:
            await ctx.reply(ctx.t("moderation.target_bot"))
            return None
        if must_be_member and target not in client.members(room_id):
            await ctx.reply(ctx.t("moderation.target_not_member", user=target))
            return None
        power = client.room_power(room_id)
        if not power.outranks(ctx.message.sender, target):
            await ctx.reply(ctx.t("moderation.target_too_powerful", user=target))
            return None
        if not power.outranks(client.user_id, target):
            await ctx.reply(ctx.t("moderation.bot_too_weak", user=target))
            return None
        return target, rest.strip()

    async def _duration(self, ctx: Context, rest: str) -> tuple[int, str] | None:
        """A leading duration ("30m", "2 uur") and the reason after it; default 24 h."""
        words = rest.split()
        for n in (2, 1):
            if len(words) < n:
                continue
            try:
                return parse_duration(" ".join(words[:n])), " ".join(words[n:])
            except DurationError as exc:
                if exc.code != "unparseable":
                    await ctx.reply(ctx.t(f"duration.{exc.code}", text=exc.text))
                    return None
        if words and any(ch.isdigit() for ch in words[0]):
            await ctx.reply(ctx.t("duration.unparseable", text=words[0]))
            return None
        return DEFAULT_MUTE_S, rest

    async def _act(
        self, ctx: Context, action: Awaitable[None], done_key: str, **args: object
    ) -> None:
        try:
            await action
        except MatrixError as exc:
            await ctx.reply(ctx.t("moderation.failed", error=exc.errcode or str(exc)))
            return
        await ctx.reply(ctx.t(done_key, **args), "done")

    # -- commands ------------------------------------------------------------------------

    @command("regels", "rules", help="help.regels", where=Where.WATCH)
    async def show_rules(self, ctx: Context, call: CommandCall) -> None:
        rules = self.rules(ctx)
        text = rules.rules_text.get(ctx.language).strip()
        saar = rules.saar.get(ctx.language).strip()
        await ctx.reply(
            ctx.t(
                "moderation.rules",
                rules=Markup(paragraphs(text)),
                saar=Markup(paragraphs(saar)),
                version=house_rules_version(rules),
            )
        )

    @moderator_command("waarschuw", "warn", help="help.waarschuw", usage="usage.target_reason")
    @about_someone()
    async def warn(self, ctx: Context, target: str, reason: str) -> None:
        msg = ctx.message
        await self.sanctions.strike(
            msg.room_id, target, msg.ts, "warning", msg.sender, msg.event_id
        )
        window = self.rules(ctx).ladder.strike_window_s
        strikes = await self.sanctions.active_strikes(msg.room_id, target, window)
        await self.sanctions.audit(
            msg.room_id, msg.sender, "warn", target, reason or None, key=f"warn:{msg.event_id}"
        )
        await self.services.client.send_message(
            msg.room_id,
            ctx.t(
                "moderation.warned",
                user=self.sanctions.who(msg.room_id, target),
                reason=reason or ctx.t("moderation.no_reason").plain,
                strikes=strikes,
            ),
            ctx.txn("warned"),
            reply_to=msg.event_id,
            mention_users=[target],
        )

    @moderator_command("demp", "mute", help="help.demp", usage="usage.target_duration")
    @about_someone()
    async def mute(self, ctx: Context, target: str, rest: str) -> None:
        parsed = await self._duration(ctx, rest)
        if parsed is None:
            return
        seconds, reason = parsed
        msg = ctx.message
        await self._act(
            ctx,
            self.sanctions.mute(
                msg.room_id, target, seconds, msg.sender, reason or None, f"mute:{msg.event_id}"
            ),
            "moderation.muted",
            user=self.sanctions.who(msg.room_id, target),
            duration=format_duration(seconds, ctx.language),
        )

    @moderator_command("ontdemp", "unmute", help="help.ontdemp", usage="usage.target")
    @about_someone()
    async def unmute(self, ctx: Context, target: str, _: str) -> None:
        msg = ctx.message
        if await self.services.store.conduct.mute(msg.room_id, target) is None:
            await ctx.reply(ctx.t("moderation.not_muted", user=target))
            return
        await self._act(
            ctx,
            self.sanctions.unmute(msg.room_id, target, msg.sender, f"unmute:{msg.event_id}"),
            "moderation.unmuted",
            user=self.sanctions.who(msg.room_id, target),
        )

    @moderator_command("verwijder", "kick", help="help.verwijder", usage="usage.target_reason")
    @about_someone()
    async def kick(self, ctx: Context, target: str, reason: str) -> None:
        msg = ctx.message
        await self._act(
            ctx,
            self.sanctions.kick(
                msg.room_id, target, msg.sender, reason or None, f"kick:{msg.event_id}"
            ),
            "moderation.kicked",
            user=target,
        )

    @moderator_command("verban", "ban", help="help.verban", usage="usage.target_reason")
    @about_someone(must_be_member=False)  # a ban also keeps out someone who already left
    async def ban(self, ctx: Context, target: str, reason: str) -> None:
        msg = ctx.message
        await self._act(
            ctx,
            self.sanctions.ban(
                msg.room_id, target, msg.sender, reason or None, f"ban:{msg.event_id}"
            ),
            "moderation.banned",
            user=target,
        )

    @moderator_command("wis", "redact", help="help.wis")
    async def redact(self, ctx: Context, call: CommandCall) -> None:
        msg = ctx.message
        if msg.reply_to is None:
            await ctx.reply(ctx.t("moderation.redact_needs_reply"))
            return
        try:
            author = await self.services.client.event_sender(msg.room_id, msg.reply_to)
        except MatrixError:
            await ctx.reply(ctx.t("moderation.redact_unknown"))
            return
        await self._act(
            ctx,
            self.sanctions.redact(msg.room_id, msg.reply_to, author, msg.sender, call.args or None),
            "moderation.redacted",
        )

    @moderator_command("overtredingen", "strikes", help="help.overtredingen", usage="usage.target")
    @about_someone(must_be_member=False)
    async def strikes(self, ctx: Context, target: str, _: str) -> None:
        room_id = ctx.message.room_id
        window = self.rules(ctx).ladder.strike_window_s
        since = int(time.time() * 1000) - window * 1000
        strikes = await self.services.store.conduct.strikes(room_id, target, since)
        mute = await self.services.store.conduct.mute(room_id, target)
        items = "".join(
            ctx.t("moderation.strike_item", time=_when(s.ts), rule=s.rule_id, actor=s.actor).html
            for s in strikes
        )
        await ctx.reply(
            ctx.t(
                "moderation.strikes",
                user=self.sanctions.who(room_id, target),
                count=len(strikes),
                days=window // 86400,
                items=Markup(f"<ul>{items}</ul>" if items else ""),
                muted=ctx.t("moderation.muted_until", until=_when(mute.until_ms)).plain
                if mute
                else "",
            )
        )

    @moderator_command("vergeef", "pardon", help="help.vergeef", usage="usage.target")
    @about_someone(must_be_member=False)
    async def pardon(self, ctx: Context, target: str, _: str) -> None:
        msg = ctx.message
        cleared = await self.services.store.conduct.clear_strikes(msg.room_id, target)
        await self.sanctions.audit(
            msg.room_id, msg.sender, "pardon", target, key=f"pardon:{msg.event_id}"
        )
        await ctx.reply(ctx.t("moderation.pardoned", user=target, count=cleared))

    @command(
        "vergeet",
        "forget",
        help="help.vergeet",
        usage="usage.target",
        permission=Permission.MODERATOR,
    )
    @about_someone(must_be_member=False)
    async def forget(self, ctx: Context, target: str, _: str) -> None:
        """AVG/GDPR: erase what the bot stored about a person (reports and strikes).

        The audit line of the erasure itself stays: it proves the request was honoured.
        """
        store = self.services.store
        reports = await store.incidents.erase_sender(target)
        strikes = await store.conduct.erase_user(target)
        await store.admission.erase_user(target)
        await store.gate.erase_user(target)
        self.conduct.forget(target)
        msg = ctx.message
        await self.sanctions.audit(
            msg.room_id, msg.sender, "forget", target, key=f"forget:{msg.event_id}"
        )
        await ctx.reply(
            ctx.t("moderation.forgotten", user=target, reports=reports, strikes=strikes)
        )


def _when(ts_ms: int) -> str:
    return datetime.fromtimestamp(ts_ms / 1000, tz=UTC).astimezone().strftime("%d-%m %H:%M")
