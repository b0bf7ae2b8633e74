"""Membership changes (``m.room.member``) as small values: knocks, joins, leaves, kicks, bans.

Read from untrusted events: a missing or odd field gives ``None``, never an exception.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Reactions that decide something: accept a join request or the house rules, or decline.
ACCEPT_KEYS = frozenset({"✅", "✔️", "☑️"})
DECLINE_KEYS = frozenset({"❌"})
MAX_REASON_CHARS = 500
MAX_NAME_CHARS = 100


@dataclass(frozen=True, slots=True)
class MemberChange:
    room_id: str
    event_id: str
    user_id: str  # whose membership changed (the state key)
    sender: str  # who changed it: the user themselves, or a moderator (kick, ban, invite)
    membership: str  # knock, invite, join, leave, ban
    previous: str | None  # membership before this event, if known
    ts: int
    reason: str | None = None
    display_name: str | None = None

    @property
    def by_self(self) -> bool:
        return self.sender == self.user_id

    @property
    def is_new_join(self) -> bool:
        """A join, not a display-name or avatar change of someone already in."""
        return self.membership == "join" and self.previous != "join"

    @property
    def is_departure(self) -> bool:
        return self.membership in ("leave", "ban")


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def parse_member_event(room_id: str, event: Any) -> MemberChange | None:
    if not isinstance(event, dict) or event.get("type") != "m.room.member":
        return None
    event_id, sender, user_id = (
        _str(event.get("event_id")),
        _str(event.get("sender")),
        _str(event.get("state_key")),
    )
    content = event.get("content")
    ts = event.get("origin_server_ts")
    if not event_id or not sender or not user_id or not isinstance(content, dict):
        return None
    if not isinstance(ts, int) or isinstance(ts, bool):
        return None
    membership = _str(content.get("membership"))
    if membership not in ("knock", "invite", "join", "leave", "ban"):
        return None
    unsigned = event.get("unsigned")
    prev = unsigned.get("prev_content") if isinstance(unsigned, dict) else None
    previous = _str(prev.get("membership")) if isinstance(prev, dict) else None
    reason = _str(content.get("reason"))
    name = _str(content.get("displayname"))
    return MemberChange(
        room_id=room_id,
        event_id=event_id,
        user_id=user_id,
        sender=sender,
        membership=membership,
        previous=previous,
        ts=ts,
        reason=reason.strip()[:MAX_REASON_CHARS] or None if reason else None,
        display_name=name.strip()[:MAX_NAME_CHARS] or None if name else None,
    )
