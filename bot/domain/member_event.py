"""``m.room.member`` events as a small value: who changed to what, and who did it.

Knocks, joins, leaves and bans reach the features through the same durable inbox as messages,
so a knock or a join during downtime is still seen after a restart. Untrusted like everything
from the wire: a malformed event gives ``None``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MEMBER_EVENT = "m.room.member"
MEMBERSHIPS = frozenset({"invite", "join", "knock", "leave", "ban"})


@dataclass(frozen=True, slots=True)
class MemberEvent:
    room_id: str
    event_id: str
    user_id: str  # whose membership changed (the state key)
    sender: str  # who changed it (the user themselves, or a moderator)
    membership: str
    previous: str | None  # the membership before, when the server says so
    reason: str | None
    ts: int

    @property
    def is_new_join(self) -> bool:
        """A join, not a display-name or avatar change of someone already in the room."""
        return self.membership == "join" and self.previous != "join"


def parse_member_event(room_id: str, event: dict[str, Any]) -> MemberEvent | None:
    if event.get("type") != MEMBER_EVENT:
        return None
    content = event.get("content")
    user_id, sender, event_id = event.get("state_key"), event.get("sender"), event.get("event_id")
    if not isinstance(content, dict) or not all(
        isinstance(v, str) and v for v in (user_id, sender, event_id)
    ):
        return None
    membership = content.get("membership")
    if membership not in MEMBERSHIPS:
        return None
    unsigned = event.get("unsigned")
    prev = unsigned.get("prev_content") if isinstance(unsigned, dict) else None
    previous = prev.get("membership") if isinstance(prev, dict) else None
    reason = content.get("reason")
    ts = event.get("origin_server_ts")
    return MemberEvent(
        room_id=room_id,
        event_id=str(event_id),
        user_id=str(user_id),
        sender=str(sender),
        membership=str(membership),
        previous=previous if isinstance(previous, str) else None,
        reason=reason[:500] if isinstance(reason, str) else None,
        ts=ts if isinstance(ts, int) and not isinstance(ts, bool) else 0,
    )
