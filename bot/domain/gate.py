"""The house-rules gate, pure: rules versions, who is exempt, and power levels that stay small.

Synapse rejects any event over 64 KiB, ``m.room.power_levels`` included. Listing every member
who accepted the rules would break a room of a few thousand members, so the gate does the
opposite: the room's defaults let members post, and only members who have *not* accepted yet
are listed, below the level needed to send messages. A member is listed from their join (or
already from the invite that admitted them) until they accept or leave, so the list holds only
the handful of newcomers of the moment. Should a burst of newcomers ever fill the budget, the
ones beyond it are not listed and their messages are redacted instead; the budget is checked
before every change, so the event can never grow past the limit.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from bot.domain.conduct import HouseRules
from bot.domain.power import RoomPower, with_user_level

SYNAPSE_EVENT_LIMIT = 65_536
# The content is only part of the event: envelope, hashes and signatures need room too.
POWER_LEVELS_BUDGET = 60_000


def rules_version(*texts: str) -> str:
    """A short, stable fingerprint of a room's rules (all languages, whitespace-insensitive)."""
    normal = "\x1f".join(" ".join(text.split()) for text in texts)
    return hashlib.sha256(normal.encode("utf-8")).hexdigest()[:12]


def house_rules_version(rules: HouseRules) -> str:
    """The version of a room's rules text that members accept and ``!regels`` shows."""
    return rules_version(rules.rules_text.nl, rules.rules_text.en)


def is_exempt(level: float, moderator_level: int, *, is_police: bool, is_bot: bool) -> bool:
    return is_bot or is_police or level >= moderator_level


def restricted_level(power: RoomPower) -> int:
    """A level that may read but not send messages or reactions (and never above -1)."""
    needed = min(power.events.get("m.room.message", power.events_default), power.events_default)
    return min(needed - 1, -1)


def content_size(content: Mapping[str, Any]) -> int:
    """Bytes of the content as it goes over the wire (compact JSON, UTF-8)."""
    return len(json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


def restrict(
    content: Mapping[str, Any], power: RoomPower, user_id: str, budget: int = POWER_LEVELS_BUDGET
) -> dict[str, Any] | None:
    """The content with ``user_id`` listed as restricted, or ``None`` when that would not fit
    (or is not needed: they already cannot post)."""
    level = restricted_level(power)
    if power.level(user_id) <= level:
        return None
    new = with_user_level(content, power, user_id, level)
    return new if content_size(new) <= budget else None


def release(content: Mapping[str, Any], power: RoomPower, user_id: str) -> dict[str, Any] | None:
    """The content with a restricted user back at the room default, or ``None`` when they were
    not restricted (a moderator may have given them another level meanwhile: keep that)."""
    if user_id not in power.users or power.users[user_id] > restricted_level(power):
        return None
    return with_user_level(content, power, user_id, None)
