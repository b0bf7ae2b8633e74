"""Invitation codes: a neighbour without a Matrix account gets in with one code.

``!uitnodiging [aantal] [dagen]`` (a moderator, in a watch room) makes a Synapse registration
token with that many uses and an expiry, links it to the room in the store, and sends the
moderator a ready-to-forward text in their direct chat with the bot (never in the room: the
code is as good as a key). The neighbour installs Element, registers with the code, opens the
room link and asks to join with the code in the reason. That knock is let in by the bot, using
one use of the code, through the admission pipeline's pre-decision hook; a code that is wrong,
used up, revoked or expired leaves the request to the moderators with a note saying so.
"""

from __future__ import annotations

import functools
import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.domain.commands import CommandCall
from bot.domain.formatting import Rich
from bot.domain.invitation import codes_in, new_code, normal_code
from bot.features.admission import AdmissionFeature, Verdict
from bot.features.base import Context, Feature, Permission, Where, command
from bot.i18n.catalog import Language, Markup, t
from bot.matrix.admin import AdminApiError
from bot.matrix.client import MatrixError
from bot.services import Services
from bot.store.admission import JoinRequest
from bot.store.audit import AuditEntry
from bot.store.database import now_ms
from bot.store.invitations import InvitationCode

log = logging.getLogger(__name__)

DAY_MS = 86_400_000
watch_moderator_command = functools.partial(
    command, permission=Permission.MODERATOR, where=Where.WATCH
)


class InvitationsFeature(Feature):
    name = "invitations"

    def __init__(self, services: Services, admission: AdmissionFeature) -> None:
        super().__init__(services)
        admission.add_judge(self.judge)

    @property
    def _lang(self) -> Language:
        return self.services.settings.language

    def _date(self, ts_ms: int) -> str:
        zone = ZoneInfo(self.services.settings.admission.timezone)
        return datetime.fromtimestamp(ts_ms / 1000, tz=zone).strftime("%d-%m-%Y %H:%M")

    async def _admin_ready(self, ctx: Context) -> bool:
        if self.services.admin is None:
            await ctx.reply(ctx.t("invite.no_admin"), "invite-no-admin")
            return False
        return True

    # -- commands ------------------------------------------------------------------------

    @watch_moderator_command(
        "uitnodiging",
        "invite",
        help="help.uitnodiging",
        usage="usage.uitnodiging",
    )
    async def invite(self, ctx: Context, call: CommandCall) -> None:
        limits = self.services.settings.invitations
        numbers = call.words
        if len(numbers) > 2 or not all(w.isdigit() for w in numbers):
            await ctx.reply(ctx.t("invite.usage", uses=limits.max_uses, days=limits.max_days))
            return
        uses = int(numbers[0]) if numbers else limits.default_uses
        days = int(numbers[1]) if len(numbers) > 1 else limits.default_days
        if not (1 <= uses <= limits.max_uses and 1 <= days <= limits.max_days):
            await ctx.reply(ctx.t("invite.usage", uses=limits.max_uses, days=limits.max_days))
            return
        if not await self._admin_ready(ctx):
            return
        assert self.services.admin is not None
        room_id, sender = ctx.message.room_id, ctx.message.sender
        expires = now_ms() + days * DAY_MS
        try:
            token = await self.services.admin.create_token(uses, expires, code=new_code())
        except AdminApiError as exc:
            log.warning("registration token not created for %s: %s", room_id, exc)
            await ctx.reply(ctx.t("invite.admin_failed", status=exc.status), "invite-failed")
            return
        code = await self.services.store.invitations.add(
            token.token, room_id, sender, uses, expires
        )
        await self._audit(sender, "invitation_created", code)
        text = self._invitation_text(code)
        try:
            await self.services.direct.send(sender, text, ctx.txn("invitation"))
        except MatrixError as exc:
            log.warning("invitation text not delivered to %s: %s", sender, exc)
            try:
                await self._withdraw(code, self.services.client.user_id)  # nobody knows it
            except AdminApiError as error:
                log.warning("undelivered code not withdrawn: %s", error)
            await ctx.reply(ctx.t("invite.dm_failed"), "invite-dm-failed")
            return
        await ctx.reply(
            ctx.t("invite.sent_privately", uses=uses, until=self._date(expires)), "invite-ok"
        )

    def _invitation_text(self, code: InvitationCode) -> Rich:
        settings = self.services.settings
        client = self.services.client
        return t(
            "invite.text",
            self._lang,
            room=client.room_name(code.room_id),
            homeserver=settings.invitations.public_homeserver or settings.homeserver,
            code=code.code,
            link=client.room_link(code.room_id),
            until=self._date(code.expires_at),
            uses=code.uses_allowed,
        )

    @watch_moderator_command(
        "uitnodigingen",
        "invites",
        help="help.uitnodigingen",
    )
    async def list_codes(self, ctx: Context, call: CommandCall) -> None:
        codes = await self.services.store.invitations.active(ctx.message.room_id)
        if not codes:
            await ctx.reply(ctx.t("invite.none_active"), "invites")
            return
        registered = await self._registrations()
        lines = "".join(
            ctx.t(
                "invite.line",
                code=c.code,
                left=c.admissions_left,
                uses=c.uses_allowed,
                registered=registered.get(c.code, "?"),
                until=self._date(c.expires_at),
            ).html
            for c in codes
        )
        await ctx.reply(ctx.t("invite.list", lines=Markup(lines)), "invites")

    async def _registrations(self) -> dict[str, int]:
        """Accounts registered with each code, as Synapse counts them (empty without admin)."""
        if self.services.admin is None:
            return {}
        try:
            tokens = await self.services.admin.list_tokens()
        except AdminApiError as exc:
            log.warning("registration tokens not listed: %s", exc)
            return {}
        return {token.token: token.completed for token in tokens}

    @watch_moderator_command(
        "intrekken",
        "revoke",
        help="help.intrekken",
        usage="usage.intrekken",
    )
    async def revoke(self, ctx: Context, call: CommandCall) -> None:
        code_text = normal_code(call.args)
        store = self.services.store.invitations
        code = await store.get(code_text) if code_text else None
        if code is None or code.room_id != ctx.message.room_id:
            await ctx.reply(ctx.t("invite.unknown_code", code=call.args.strip()[:20]))
            return
        if not await self._admin_ready(ctx):
            return
        try:
            await self._withdraw(code, ctx.message.sender)
        except AdminApiError as exc:
            log.warning("registration token %s not deleted: %s", code.code[:4], exc)
            await ctx.reply(ctx.t("invite.admin_failed", status=exc.status), "revoke-failed")
            return
        await ctx.reply(ctx.t("invite.revoked", code=code.code), "revoked")

    async def _withdraw(self, code: InvitationCode, actor: str) -> None:
        """Delete the token on Synapse, then mark the code revoked (and audit it) here."""
        assert self.services.admin is not None
        await self.services.admin.delete_token(code.code)
        if await self.services.store.invitations.revoke(code.code, actor):
            await self._audit(actor, "invitation_revoked", code)

    async def _audit(self, actor: str, action: str, code: InvitationCode) -> None:
        await self.services.store.audit.record(
            AuditEntry(
                actor,
                action,
                code.room_id,
                details={"uses": code.uses_allowed, "expires_at": code.expires_at},
            )
        )

    # -- the pre-decision hook of the admission pipeline ----------------------------------

    async def judge(self, request: JoinRequest) -> Verdict | None:
        """A knock with a usable code of this room is let in; a bad code gets a note."""
        candidates = codes_in(request.reason)
        if not candidates:
            return None
        store = self.services.store.invitations
        for candidate in candidates:
            if await store.use(candidate, request.room_id):
                log.info("join request %d admitted with an invitation code", request.id)
                note = t("invite.admitted_note", self._lang, code=candidate).plain
                return Verdict(True, note, undo=functools.partial(store.give_back, candidate))
        known = await store.get(candidates[0])
        if known is None or known.room_id != request.room_id:
            problem = "unknown"
        elif known.revoked_at is not None:
            problem = "revoked"
        elif known.expires_at <= now_ms():
            problem = "expired"
        else:
            problem = "used_up"
        note = t(f"invite.bad_code.{problem}", self._lang, code=candidates[0])
        return Verdict(False, note.plain)
