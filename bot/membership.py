"""Invites, joins and leaves: which rooms the bot enters, what role each gets, who is in them."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from nio import InviteMemberEvent, SyncResponse

from bot.matrix.client import MatrixError
from bot.services import Services
from bot.store.members import MemberChange
from bot.store.rooms import RoomRole

log = logging.getLogger(__name__)


class Membership:
    def __init__(self, services: Services) -> None:
        self.services = services

    def role_for(
        self, room_id: str, known: RoomRole | None = None, direct: bool = False
    ) -> RoomRole:
        """Coordination if configured so; a private chat stays one; anything else watches."""
        if room_id == self.services.coordination_room_id:
            return RoomRole.COORDINATION
        if direct or known is RoomRole.DIRECT:
            return RoomRole.DIRECT
        return RoomRole.WATCH

    async def process(self, response: SyncResponse, full_state: bool = False) -> None:
        for room_id, info in response.rooms.invite.items():
            await self._invited(room_id, info.invite_state)
        policy_room = await self.services.store.policy.room_id()
        for room_id in response.rooms.join:
            if room_id == policy_room:
                continue  # the municipality's ban list: no role, never a watch room
            known = await self.services.store.rooms.get(room_id)
            name = self.services.client.room_name(room_id)
            if known is None or not known.joined:
                # Joined some other way (e.g. by a previous run, or we joined the configured
                # coordination room ourselves): record it.
                role = self.role_for(room_id, known.role if known else None)
                await self.services.store.rooms.joined(room_id, role, name)
            elif known.name != name:
                await self.services.store.rooms.rename(room_id, name)
        await self._record_members(response, full_state)
        for room_id in response.rooms.leave:
            known = await self.services.store.rooms.get(room_id)
            if known is not None and known.joined:
                log.info("no longer in room %s (kicked, banned or left)", room_id)
                await self.services.store.rooms.left(room_id)
                await self.services.store.members.room_closed(room_id)

    async def _record_members(self, response: SyncResponse, full_state: bool) -> None:
        """Feed the member history of watch rooms from the batch's member events.

        A full-state batch lists every member, so it also seeds (first start) and reconciles
        (a restart after downtime) the history.
        """
        me = self.services.client.user_id
        for room_id, info in response.rooms.join.items():
            known = await self.services.store.rooms.get(room_id)
            if known is None or known.role is not RoomRole.WATCH:
                continue
            changes = member_changes([*info.state, *info.timeline.events], me)
            if changes or full_state:
                await self.services.store.members.apply(room_id, changes, complete=full_state)

    async def _invited(self, room_id: str, invite_state: list[Any]) -> None:
        me = self.services.client.user_id
        invite = next(
            (
                event
                for event in invite_state
                if isinstance(event, InviteMemberEvent)
                and event.state_key == me
                and event.membership == "invite"
            ),
            None,
        )
        inviter = invite.sender if invite else None
        direct = bool(invite and invite.content.get("is_direct") is True)
        settings = self.services.settings
        allowed = inviter is not None and (
            settings.inviter_allowed(inviter) or (direct and self._may_sign_up(inviter))
        )
        if inviter is None or not allowed:
            log.warning("rejected invite to %s from %s: not an allowed inviter", room_id, inviter)
            try:
                await self.services.client.leave(room_id)
            except MatrixError as exc:
                log.warning("could not reject invite to %s: %s", room_id, exc)
            return
        try:
            await self.services.client.join(room_id)
        except MatrixError as exc:
            log.warning("could not join %s after invite from %s: %s", room_id, inviter, exc)
            return
        role = self.role_for(room_id, direct=direct)
        await self.services.store.rooms.joined(room_id, role)
        log.info("joined %s as %s room on invite from %s", room_id, role.value, inviter)

    def _may_sign_up(self, inviter: str) -> bool:
        """Anyone of the bot's own server (or a listed one) may open a direct chat with it, to
        sign up with !aanmelden; such a room is only ever a direct chat to the bot."""
        server = inviter.split(":", 1)[1] if ":" in inviter else ""
        own = self.services.client.user_id.split(":", 1)[1]
        return server == own or server in self.services.settings.signup.direct_chat_servers

    async def ensure_coordination_room(self) -> None:
        """Resolve the configured coordination room and join it if we may."""
        reference = self.services.settings.coordination_room
        if reference is None:
            log.warning("no coordination_room configured: alerts to moderators are disabled")
            return
        client = self.services.client
        try:
            room_id = await client.resolve_room(reference)
        except MatrixError as exc:
            log.error("coordination room %s cannot be resolved: %s", reference, exc)
            return
        self.services.coordination_room_id = room_id
        if room_id not in client.joined_room_ids():
            try:
                await client.join(room_id)
                await self.services.store.rooms.joined(room_id, RoomRole.COORDINATION)
            except MatrixError as exc:
                log.warning("not in coordination room %s yet (invite the bot): %s", room_id, exc)
        else:
            await self.services.store.rooms.joined(room_id, RoomRole.COORDINATION)


def member_changes(events: Iterable[Any], me: str) -> list[MemberChange]:
    """The ``m.room.member`` events among ``events``, in order, skipping the bot's own and
    anything malformed (an untrusted event must never break the history)."""
    changes = []
    for event in events:
        source = getattr(event, "source", None)
        if not isinstance(source, dict) or source.get("type") != "m.room.member":
            continue
        user_id, content = source.get("state_key"), source.get("content")
        ts = source.get("origin_server_ts")
        if not isinstance(user_id, str) or not user_id.startswith("@") or user_id == me:
            continue
        if not isinstance(content, dict) or not isinstance(ts, int) or isinstance(ts, bool):
            continue
        membership = content.get("membership")
        if isinstance(membership, str):
            event_id = source.get("event_id")
            changes.append(
                MemberChange(
                    user_id,
                    membership == "join",
                    ts,
                    event_id if isinstance(event_id, str) else None,
                )
            )
    return changes
