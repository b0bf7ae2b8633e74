"""The house-rules gate: newcomers read along, and post once they accepted the rules.

A watch room with the gate on (``!poort aan``; on by default for rooms the bot creates) lists
each newcomer in its power levels just below what posting needs: from the invite when the bot
admits them, otherwise from the moment their join arrives. The bot greets them in their direct
chat with the room's rules and SAAR; ``!akkoord`` there, or ✅ on the greeting, stores the
acceptance with its time and the rules version (a hash of the text) and lifts the restriction.
Anything a newcomer manages to post before the restriction lands is redacted. Members who were
in the room before the gate was switched on, moderators, police accounts and the bot are never
gated; a member who accepted an older version of the rules keeps posting. Leaving clears the
pending state and starts the retention period of the acceptances. See ``domain/gate.py`` for
why only newcomers are listed (the 64 KiB limit of a power_levels event).
"""

from __future__ import annotations

import logging

from bot.domain.commands import CommandCall
from bot.domain.formatting import paragraphs
from bot.domain.gate import house_rules_version, is_exempt, release, restrict
from bot.domain.membership import ACCEPT_KEYS, MemberChange
from bot.features.base import Context, Feature, Permission, command
from bot.features.conduct import ConductFeature
from bot.i18n.catalog import Language, Markup, t
from bot.matrix.client import MatrixError, txn_id
from bot.services import Services
from bot.store.audit import AuditEntry
from bot.store.database import now_ms
from bot.store.gate import Pending
from bot.store.rooms import KnownRoom, RoomRole

log = logging.getLogger(__name__)

ON_WORDS = frozenset({"aan", "on", "aanzetten", "1"})
OFF_WORDS = frozenset({"uit", "off", "uitzetten", "0"})
DAY_MS = 86_400_000


class GateFeature(Feature):
    name = "gate"

    def __init__(self, services: Services, conduct: ConductFeature) -> None:
        super().__init__(services)
        self.conduct = conduct

    @property
    def _lang(self) -> Language:
        return self.services.settings.language

    def version(self, room_id: str) -> str:
        return house_rules_version(self.conduct.rules_for(room_id))

    def exempt(self, room_id: str, user_id: str) -> bool:
        client, settings = self.services.client, self.services.settings
        return is_exempt(
            client.room_power(room_id).level(user_id),
            settings.moderator_power_level,
            is_police=settings.is_police(user_id),
            is_bot=user_id == client.user_id,
        )

    async def _needs_gate(self, room_id: str, user_id: str) -> bool:
        gate = self.services.store.gate
        if not await gate.enabled(room_id) or self.exempt(room_id, user_id):
            return False
        if await gate.has_accepted(room_id, user_id):
            await gate.rejoined(room_id, user_id)
            return False
        return True

    # -- restricting and releasing -------------------------------------------------------------

    async def _restrict(self, room_id: str, user_id: str) -> None:
        try:
            await self.services.client.edit_power_levels(
                room_id, lambda content, power: restrict(content, power, user_id)
            )
        except MatrixError as exc:
            log.warning("gate: could not restrict %s in %s: %s", user_id, room_id, exc)
            return
        # Also when it did not fit: then nothing more can be done than redacting their posts.
        if self.services.client.room_power(room_id).can_send_messages(user_id):
            log.warning("gate: %s in %s is not restricted; posts get redacted", user_id, room_id)
        else:
            await self.services.store.gate.set_restricted(room_id, user_id)

    async def _release(self, room_id: str, user_id: str) -> None:
        """Back to the room default, unless a mute holds them there: then the mute's end
        restores the default (not the gate's restriction it found when it began)."""
        conduct = self.services.store.conduct
        if await conduct.mute(room_id, user_id) is not None:
            await conduct.forget_previous_level(room_id, user_id)
            return
        try:
            await self.services.client.edit_power_levels(
                room_id, lambda content, power: release(content, power, user_id)
            )
        except MatrixError as exc:
            log.warning("gate: could not release %s in %s: %s", user_id, room_id, exc)

    async def before_invite(self, room_id: str, user_id: str) -> None:
        """Called by admission before it invites: restricted before they can even join."""
        if await self._needs_gate(room_id, user_id):
            await self.services.store.gate.add_pending(room_id, user_id)
            await self._restrict(room_id, user_id)

    # -- membership ----------------------------------------------------------------------------

    async def on_member(self, change: MemberChange, room: KnownRoom | None) -> None:
        if room is None or room.role is not RoomRole.WATCH:
            return
        room_id, user_id = change.room_id, change.user_id
        gate = self.services.store.gate
        if change.is_departure:
            pending = await gate.pending(room_id, user_id)
            await gate.left(room_id, user_id, change.ts)
            if pending is not None and pending.restricted:
                await self._release(room_id, user_id)
            return
        if not change.is_new_join:
            return
        pending = await gate.pending(room_id, user_id)
        if pending is None:
            if not await self._needs_gate(room_id, user_id):
                return
            await gate.add_pending(room_id, user_id)
            pending = await gate.pending(room_id, user_id)
        assert pending is not None
        if not pending.restricted:
            await self._restrict(room_id, user_id)
        if pending.greeting_event_id is None:
            await self._greet(room_id, user_id)

    async def _greet(self, room_id: str, user_id: str) -> None:
        rules = self.conduct.rules_for(room_id)
        lang = self._lang
        text = t(
            "gate.greeting",
            lang,
            room=self.services.client.room_name(room_id),
            rules=Markup(paragraphs(rules.rules_text.get(lang))),
            saar=Markup(paragraphs(rules.saar.get(lang))),
            version=self.version(room_id),
        )
        try:
            dm, event_id = await self.services.direct.send(
                user_id, text, txn_id("gate-greeting", room_id, user_id, str(now_ms() // DAY_MS))
            )
        except MatrixError as exc:
            log.warning("gate: could not greet %s for %s: %s", user_id, room_id, exc)
            return
        await self.services.store.gate.set_greeting(room_id, user_id, dm, event_id)

    # -- messages of newcomers -----------------------------------------------------------------

    async def on_message(self, ctx: Context) -> None:
        msg = ctx.message
        gate = self.services.store.gate
        if ctx.role is not RoomRole.WATCH or not await gate.enabled(msg.room_id):
            return  # the switch is memoised: rooms without a gate cost no query per message
        pending = await gate.pending(msg.room_id, msg.sender)
        if pending is None:
            return
        ctx.consumed = True  # not a report, not a conduct case: it should not be there at all
        try:
            await self.services.client.redact(
                msg.room_id,
                msg.event_id,
                txn_id(msg.event_id, "gate-redact"),
                t("gate.redact_reason", self._lang).plain,
            )
        except MatrixError as exc:
            log.warning("gate: could not redact %s in %s: %s", msg.event_id, msg.room_id, exc)
        if not pending.restricted:
            await self._restrict(msg.room_id, msg.sender)
        if pending.greeting_event_id is None:
            await self._greet(msg.room_id, msg.sender)

    # -- accepting -----------------------------------------------------------------------------

    async def _accept(self, pending: Pending, via: str, event_id: str) -> str:
        room_id, user_id = pending.room_id, pending.user_id
        version = self.version(room_id)
        await self._release(room_id, user_id)
        await self.services.store.gate.accept(room_id, user_id, version, via, event_id)
        await self.services.store.audit.record(
            AuditEntry(user_id, "accept_rules", room_id, user_id, details={"version": version})
        )
        log.info("gate: %s accepted rules %s of %s", user_id, version, room_id)
        return self.services.client.room_name(room_id)

    @command("akkoord", "agree", help="help.akkoord")
    async def agree(self, ctx: Context, call: CommandCall) -> None:
        msg = ctx.message
        pending = await self.services.store.gate.pending_for_user(msg.sender)
        if ctx.role is RoomRole.WATCH:
            pending = [p for p in pending if p.room_id == msg.room_id]
        if not pending:
            await ctx.reply(ctx.t("gate.nothing_to_accept"), "agree")
            return
        rooms = [await self._accept(p, "command", msg.event_id) for p in pending]
        await ctx.reply(ctx.t("gate.accepted", rooms=", ".join(rooms)), "agree")

    async def on_reaction(self, ctx: Context) -> None:
        msg = ctx.message
        if msg.body not in ACCEPT_KEYS or msg.target is None:
            return
        pending = await self.services.store.gate.pending_by_greeting(msg.target)
        if pending is None or pending.user_id != msg.sender:
            return
        room = await self._accept(pending, "reaction", msg.event_id)
        await self.services.client.send_message(
            msg.room_id,
            ctx.t("gate.accepted", rooms=room),
            ctx.txn("agree"),
            reply_to=msg.target,
            notice=False,
        )

    # -- switching it on and off ---------------------------------------------------------------

    @command(
        "poort",
        "gate",
        help="help.poort",
        usage="usage.poort",
        permission=Permission.ROOM_MODERATOR,
    )
    async def switch(self, ctx: Context, call: CommandCall) -> None:
        words = call.args.split()
        here = ctx.message.room_id if ctx.role is RoomRole.WATCH else None
        reference = words[1] if len(words) > 1 else None
        room_id = await self._room(ctx, reference or here)
        if room_id is None:
            return
        gate = self.services.store.gate
        if not words:
            state = "on" if await gate.enabled(room_id) else "off"
            await ctx.reply(
                ctx.t(f"gate.state.{state}", room=self.services.client.room_name(room_id))
            )
            return
        word = words[0].lower()
        if word not in ON_WORDS | OFF_WORDS:
            await ctx.reply(ctx.t("gate.usage"))
            return
        sender = ctx.message.sender
        needed = self.services.settings.moderator_power_level
        rooms = [room_id, self.services.coordination_room_id]
        if not any(r and self.services.client.room_power(r).level(sender) >= needed for r in rooms):
            await ctx.reply(ctx.t("command.not_allowed", name=call.name), "refused")
            return
        enabled = word in ON_WORDS
        await gate.set_enabled(room_id, enabled, sender)
        if not enabled:
            for pending in await gate.pending_in_room(room_id):
                await gate.clear_pending(room_id, pending.user_id)
                if pending.restricted:
                    await self._release(room_id, pending.user_id)
        await self.services.store.audit.record(
            AuditEntry(sender, "gate_on" if enabled else "gate_off", room_id)
        )
        state = "on" if enabled else "off"
        name = self.services.client.room_name(room_id)
        text = ctx.t(f"gate.switched.{state}", room=name)
        needed = self._power_levels_level(room_id)
        if enabled and needed is not None:
            text = text + ctx.t("gate.bot_too_weak", room=name, level=needed)
        await ctx.reply(text, "gate")

    def _power_levels_level(self, room_id: str) -> int | None:
        """The level the bot lacks to restrict newcomers here, or ``None`` when it has it."""
        client = self.services.client
        power = client.room_power(room_id)
        needed = power.events.get("m.room.power_levels", power.state_default)
        return None if power.level(client.user_id) >= needed else needed

    async def _room(self, ctx: Context, reference: str | None) -> str | None:
        if reference is None:
            await ctx.reply(ctx.t("gate.usage"))
            return None
        try:
            room_id = await self.services.client.resolve_room(reference)
        except MatrixError:
            room_id = None
        known = await self.services.store.rooms.get(room_id) if room_id else None
        if known is None or known.role is not RoomRole.WATCH or not known.joined:
            await ctx.reply(ctx.t("gate.unknown_room", room=reference))
            return None
        return room_id
