"""Join requests: one admission pipeline, whatever the way in.

A knock on a watch room (Element: "Vraag om toegang", with a reason) becomes a numbered
request in the store and a post to the moderators: in the coordination room, or as a notice in
the watch room that mentions its moderators. A moderator of that watch room or of the
coordination room decides with ``!toelaten 17`` / ``!weigeren 17 reden``, with ``@persoon``
instead of the number, or with a ✅ / ❌ reaction on the post. Accepting invites the person
(restricted by the house-rules gate first, if that room has one), declining rejects the knock
with the reason, which the requester sees. The store decides who was first; everyone after
hears who decided and when. A knock taken back, or a decision made by hand in a client, closes
the request too. Postcode sign-ups and invitation codes reach the same table and the same
``decide``: other features file requests of their own source with ``submit`` (postcode
sign-ups), and look at every new request first through a pre-decision hook, ``add_judge`` (an
invitation code in a knock lets the person in, a bad one leaves a note for the moderators).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.domain.commands import CommandCall
from bot.domain.formatting import Rich, local_clock, mention_html
from bot.domain.membership import ACCEPT_KEYS, DECLINE_KEYS, MemberChange
from bot.domain.targets import Found, split_target_and_rest
from bot.features.base import Context, Feature, Permission, command
from bot.features.gate import GateFeature
from bot.i18n.catalog import Language, Markup, t
from bot.matrix.client import MatrixError, txn_id
from bot.services import Services
from bot.store.admission import JoinRequest, Source, Status
from bot.store.audit import AuditEntry
from bot.store.database import now_ms
from bot.store.rooms import KnownRoom, RoomRole

log = logging.getLogger(__name__)

_NUMBER = re.compile(r"^#?(\d{1,9})$")

Answer = Callable[[Rich], Awaitable[object]]


@dataclass(frozen=True, slots=True)
class Verdict:
    """What a pre-decision hook says about a new request before moderators see it."""

    admit: bool  # let the person in now, with the bot as the one who decided
    note: str | None = None  # shown to moderators with the request (and kept as its reason)
    undo: Callable[[], Awaitable[None]] | None = None  # if admitting then fails on Matrix


# A pre-decision hook: looks at a new request (e.g. for an invitation code in the knock's
# reason) and returns a verdict, or None to leave it to the moderators as usual.
Judge = Callable[[JoinRequest], Awaitable[Verdict | None]]


class AdmissionFeature(Feature):
    name = "admission"

    def __init__(self, services: Services, gate: GateFeature) -> None:
        super().__init__(services)
        self.gate = gate
        self.judges: list[Judge] = []  # pre-decision hooks, asked in order (see ``add_judge``)

    def add_judge(self, judge: Judge) -> None:
        """Let another feature look at every new request first (invitation codes do)."""
        self.judges.append(judge)

    @property
    def _lang(self) -> Language:
        return self.services.settings.language

    # -- who may decide ----------------------------------------------------------------------

    def may_decide(self, user_id: str, room_id: str) -> bool:
        """A moderator of the watch room the request is for, or of the coordination room."""
        client, needed = self.services.client, self.services.settings.moderator_power_level
        rooms = [room_id, self.services.coordination_room_id]
        return any(r and client.room_power(r).level(user_id) >= needed for r in rooms)

    # -- membership: knocks and what happens to them -------------------------------------------

    async def on_member(self, change: MemberChange, room: KnownRoom | None) -> None:
        if room is None or room.role is not RoomRole.WATCH:
            return
        store = self.services.store.admission
        if change.membership == "knock":
            await self._knock(change)
            return
        closed: JoinRequest | None = None
        if change.previous == "knock" and change.membership in ("invite", "leave", "ban"):
            # Decided outside the bot (a client's own buttons), or withdrawn by the requester.
            if change.membership == "invite":
                status = Status.ACCEPTED
            elif change.by_self:
                status = Status.WITHDRAWN
            else:
                status = Status.DECLINED
            closed = await store.close_open(
                change.room_id, change.user_id, status, change.sender, change.reason
            )
        elif change.is_departure:
            closed = await store.close_open(
                change.room_id, change.user_id, Status.CLEARED, change.sender
            )
        if closed is not None:
            await self._record(closed, change.sender, f"request_{closed.status.value}")
            await self._update_notice(closed)

    async def _knock(self, change: MemberChange) -> None:
        request, new = await self.services.store.admission.request(
            change.room_id,
            change.user_id,
            Source.KNOCK,
            change.event_id,
            change.display_name,
            change.reason,
            change.ts,
        )
        if new:
            log.info("join request %d for %s from %s", request.id, change.room_id, change.user_id)
        if new or (request.is_open and request.notice_event_id is None):  # also after a crash
            await self.submit(request)

    async def submit(self, request: JoinRequest) -> None:
        """A new request of any source: the hooks first, then the moderators if still open."""
        for judge in self.judges:
            verdict = await judge(request)
            if verdict is None:
                continue
            if verdict.admit:
                me = self.services.client.user_id
                if await self.decide(request, me, True, verdict.note, _log_answer(request)):
                    return
                if verdict.undo is not None:
                    await verdict.undo()
                break  # the invite failed: the moderators decide, as without the hook
            if verdict.note:
                await self.services.store.admission.set_note(request.id, verdict.note)
                request = await self.services.store.admission.get(request.id) or request
            break
        await self.post_request(request)

    async def post_request(self, request: JoinRequest) -> None:
        """Put a new request to the moderators (every source of requests comes here)."""
        room_id, mentions = self._notice_target(request)
        try:
            event_id = await self.services.client.send_message(
                room_id,
                self._notice(request),
                txn_id("join-request", str(request.id)),
                mention_users=mentions,
            )
        except MatrixError as exc:
            log.warning("join request %d could not be posted: %s", request.id, exc)
            return
        await self.services.store.admission.set_notice(request.id, room_id, event_id)

    def _notice_target(self, request: JoinRequest) -> tuple[str, list[str]]:
        coordination = self.services.coordination_room_id
        client = self.services.client
        if (
            self.services.settings.admission.notify == "coordination"
            and coordination in client.joined_room_ids()
        ):
            return str(coordination), []
        power = client.room_power(request.room_id)
        needed = self.services.settings.moderator_power_level
        members = client.members(request.room_id)
        moderators = [u for u in members if u != client.user_id and power.level(u) >= needed]
        return request.room_id, moderators

    def _notice(self, request: JoinRequest, status: Rich | None = None) -> Rich:
        text = t(
            "admission.request",
            self._lang,
            number=request.id,
            room=self.services.client.room_name(request.room_id),
            who=Markup(mention_html(request.user_id, request.display_name)),
            user_id=request.user_id,
            reason=request.reason or t("admission.no_reason", self._lang).plain,
        )
        if request.note:
            text = text + t("admission.note", self._lang, note=request.note)
        return text if status is None else text + status

    async def _update_notice(self, request: JoinRequest) -> None:
        if request.notice_room_id is None or request.notice_event_id is None:
            return
        status = t(
            f"admission.status.{request.status.value}",
            self._lang,
            **self._decided_args(request),
        )
        try:
            await self.services.client.edit(
                request.notice_room_id,
                request.notice_event_id,
                self._notice(request, status),
                txn_id("join-request-edit", str(request.id), request.status.value),
            )
        except MatrixError as exc:
            log.warning("join request %d notice not updated: %s", request.id, exc)

    def _decided_args(self, request: JoinRequest) -> dict[str, object]:
        actor = request.decided_by or ""
        room = request.notice_room_id or request.room_id
        return {
            "actor": Markup(mention_html(actor, self.services.client.display_name(room, actor))),
            "time": self.local_time(request.decided_at or 0),
            "reason": f" – {request.decision_reason}" if request.decision_reason else "",
            "number": request.id,
        }

    def local_time(self, ts_ms: int) -> str:
        return local_clock(ts_ms, self.services.settings.admission.timezone, now_ms())

    async def _record(self, request: JoinRequest, actor: str, action: str) -> None:
        await self.services.store.audit.record(
            AuditEntry(
                actor,
                action,
                request.room_id,
                request.user_id,
                request.decision_reason,
                {"request": request.id, "source": request.source.value},
            )
        )

    # -- deciding ------------------------------------------------------------------------------

    async def decide(
        self, request: JoinRequest, actor: str, accept: bool, reason: str | None, answer: Answer
    ) -> bool:
        """The one decision path: checks, claims the request, acts on Matrix, audits."""
        if not self.may_decide(actor, request.room_id):
            await answer(t("admission.not_allowed", self._lang, number=request.id))
            return False
        store = self.services.store.admission
        status = Status.ACCEPTED if accept else Status.DECLINED
        claimed = request.is_open and await store.decide(request.id, status, actor, reason)
        if not claimed:
            current = await store.get(request.id) or request
            if not await self._interrupted(current, actor, status):
                await self._answer_already(current, answer)
                return False
        client = self.services.client
        try:
            if accept:
                await self.gate.before_invite(request.room_id, request.user_id)
                await client.invite(request.room_id, request.user_id)
            elif request.source is Source.KNOCK:
                text = reason or t("admission.declined_default", self._lang).plain
                await client.kick(request.room_id, request.user_id, text)
            else:  # no knock to reject: tell the person in their direct chat
                await self.services.direct.send(
                    request.user_id,
                    t(
                        "admission.declined_private",
                        self._lang,
                        room=client.room_name(request.room_id),
                        reason=reason or t("admission.declined_default", self._lang).plain,
                    ),
                    txn_id("join-request-declined", str(request.id)),
                )
        except MatrixError as exc:
            await store.reopen(request.id)
            await answer(t("admission.failed", self._lang, number=request.id, error=str(exc)))
            return False
        decided = await store.get(request.id)
        assert decided is not None
        await self._record(decided, actor, "admit" if accept else "decline")
        await self._update_notice(decided)
        key = "admission.accepted" if accept else "admission.declined"
        await answer(
            t(
                key,
                self._lang,
                who=Markup(mention_html(decided.user_id, decided.display_name)),
                room=client.room_name(decided.room_id),
                number=decided.id,
            )
        )
        return True

    async def _interrupted(self, request: JoinRequest, actor: str, status: Status) -> bool:
        """Decided by this very actor but never audited: a crash came between the claim and
        the invite or kick, and handling the command again has to finish the job."""
        if request.decided_by != actor or request.status is not status:
            return False
        entries = await self.services.store.audit.recent(request.room_id, request.user_id, 50)
        return not any(
            e.details.get("request") == request.id and e.action in ("admit", "decline")
            for e in entries
        )

    async def _answer_already(self, request: JoinRequest, answer: Answer) -> None:
        key = "admission.already.open" if request.is_open else None
        key = key or f"admission.already.{request.status.value}"
        await answer(t(key, self._lang, **self._decided_args(request)))

    @command(
        "toelaten",
        "accept",
        help="help.toelaten",
        usage="usage.request",
        permission=Permission.ROOM_MODERATOR,
    )
    async def accept(self, ctx: Context, call: CommandCall) -> None:
        await self._command(ctx, call, accept=True)

    @command(
        "weigeren",
        "decline",
        help="help.weigeren",
        usage="usage.request_reason",
        permission=Permission.ROOM_MODERATOR,
    )
    async def decline(self, ctx: Context, call: CommandCall) -> None:
        await self._command(ctx, call, accept=False)

    async def _command(self, ctx: Context, call: CommandCall, *, accept: bool) -> None:
        found = await self._find(ctx, call)
        if found is None:
            return
        request, reason = found
        await self.decide(request, ctx.message.sender, accept, reason or None, ctx.reply)

    async def _find(self, ctx: Context, call: CommandCall) -> tuple[JoinRequest, str] | None:
        """The request a command names (number, or the person) and the rest of the words."""
        store = self.services.store.admission
        first, _, rest = call.args.strip().partition(" ")
        if not first:
            await ctx.reply(ctx.t("admission.usage", name=call.name))
            return None
        if match := _NUMBER.match(first):
            request = await store.get(int(match.group(1)))
            if request is None:
                await ctx.reply(ctx.t("admission.unknown_number", number=match.group(1)))
                return None
            return request, rest.strip()
        here = ctx.message.room_id if ctx.role is RoomRole.WATCH else None
        candidates = await store.open_requests(here)
        names = {r.user_id: r.display_name or r.user_id for r in candidates}
        reference, rest = split_target_and_rest(call.args, ctx.message.formatted_body, names)
        if not isinstance(reference, Found):
            await ctx.reply(ctx.t("admission.unknown_person", query=first))
            return None
        mine = [r for r in candidates if r.user_id == reference.user_id]
        if not mine and here is not None:
            latest = await store.latest(here, reference.user_id)
            if latest is not None:
                return latest, rest  # decided already: the decision path says by whom
        if not mine:
            await ctx.reply(ctx.t("admission.none_open", user=reference.user_id))
            return None
        if len(mine) > 1:
            numbers = ", ".join(
                f"{r.id} ({self.services.client.room_name(r.room_id)})" for r in mine
            )
            await ctx.reply(ctx.t("admission.several", user=reference.user_id, numbers=numbers))
            return None
        return mine[0], rest

    async def on_reaction(self, ctx: Context) -> None:
        key = ctx.message.body
        if (key not in ACCEPT_KEYS and key not in DECLINE_KEYS) or ctx.message.target is None:
            return
        request = await self.services.store.admission.by_notice(ctx.message.target)
        if request is None or request.notice_room_id != ctx.message.room_id:
            return
        msg = ctx.message

        async def answer(text: Rich) -> object:
            return await self.services.client.send_message(
                msg.room_id,
                text,
                ctx.txn("decision"),
                reply_to=request.notice_event_id,
                mention_users=[msg.sender],
            )

        await self.decide(request, msg.sender, key in ACCEPT_KEYS, None, answer)


def _log_answer(request: JoinRequest) -> Answer:
    """Where the bot's own decisions answer: the log (the notice and audit say the rest)."""

    async def answer(text: Rich) -> None:
        # Names and reasons stay out of the log at INFO; the notice and the audit hold them.
        log.info("request %d decided by the bot", request.id)
        log.debug("request %d: %s", request.id, text.plain)

    return answer
