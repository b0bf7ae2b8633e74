"""Power levels, including room version 12's unlimited creators.

From room version 12 on (MSC4289, also the ``org.matrix.hydra.11`` preview) the sender of
``m.room.create`` and its ``additional_creators`` outrank everyone and must not appear in
``power_levels.users``; older versions use the plain table. Both live side by side in one
municipality, so every check and every edit goes through here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

CREATOR_LEVEL = math.inf


def creators_have_infinite_power(room_version: str) -> bool:
    if room_version == "org.matrix.hydra.11":
        return True
    return room_version.isdigit() and int(room_version) >= 12


@dataclass(frozen=True, slots=True)
class RoomPower:
    """The facts needed to compare two users' power in one room."""

    room_version: str = "1"
    creators: frozenset[str] = frozenset()
    users: Mapping[str, int] = field(default_factory=dict)
    users_default: int = 0
    events_default: int = 0
    events: Mapping[str, int] = field(default_factory=dict)
    state_default: int = 50
    kick: int = 50
    ban: int = 50
    redact: int = 50

    @classmethod
    def from_state(
        cls, create: Mapping[str, Any] | None, power_levels: Mapping[str, Any] | None
    ) -> RoomPower:
        """Built from the raw ``m.room.create`` event and ``m.room.power_levels`` content."""
        create = create or {}
        content = create.get("content") if isinstance(create.get("content"), dict) else {}
        version = str(content.get("room_version", "1"))
        creators: set[str] = set()
        if creators_have_infinite_power(version):
            if isinstance(create.get("sender"), str):
                creators.add(create["sender"])
            extra = content.get("additional_creators")
            creators.update(u for u in extra or [] if isinstance(u, str))
        pl = power_levels or {}
        if not pl and not creators_have_infinite_power(version):
            # Without a power_levels event the creator has 100 (spec, "no power levels" rule).
            sender = create.get("sender")
            return cls(version, frozenset(), {sender: 100} if isinstance(sender, str) else {})
        return cls(
            room_version=version,
            creators=frozenset(creators),
            users=_int_map(pl.get("users")),
            users_default=_int(pl.get("users_default"), 0),
            events_default=_int(pl.get("events_default"), 0),
            events=_int_map(pl.get("events")),
            state_default=_int(pl.get("state_default"), 50),
            kick=_int(pl.get("kick"), 50),
            ban=_int(pl.get("ban"), 50),
            redact=_int(pl.get("redact"), 50),
        )

    def level(self, user_id: str) -> float:
        if user_id in self.creators:
            return CREATOR_LEVEL
        return self.users.get(user_id, self.users_default)

    def can_send_messages(self, user_id: str) -> bool:
        return self.level(user_id) >= self.events.get("m.room.message", self.events_default)

    def outranks(self, actor: str, target: str) -> bool:
        """Matrix lets you act on someone only with strictly more power than they have."""
        return self.level(actor) > self.level(target)


def with_user_level(
    power_levels: Mapping[str, Any], room: RoomPower, user_id: str, level: int | None
) -> dict[str, Any]:
    """A new power_levels content with one user's level set (``None``: back to default).

    Raises ``ValueError`` for a creator of a v12 room: their power cannot be changed and they
    must not be listed, or the homeserver rejects the whole event.
    """
    if user_id in room.creators:
        raise ValueError("room creators have unlimited power in this room version")
    content = dict(power_levels)
    users = {u: lvl for u, lvl in _int_map(content.get("users")).items() if u not in room.creators}
    if level is None or level == room.users_default:
        users.pop(user_id, None)
    else:
        users[user_id] = level
    content["users"] = users
    return content


def _int(value: Any, default: int) -> int:
    if isinstance(value, bool):
        return default
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    return default


def _int_map(value: Any) -> dict[str, int]:
    if not isinstance(value, dict):
        return {}
    return {k: _int(v, 0) for k, v in value.items() if isinstance(k, str)}
