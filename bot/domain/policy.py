"""Moderation policy lists (spec "Moderation policy lists"): the municipality's ban list.

A rule is a state event ``m.policy.rule.user`` whose ``entity`` is a user ID or a glob
(``*``, ``?``), with recommendation ``m.ban``. Mjolnir and Draupnir read the same events, so a
municipality can let its other bots follow the list. A rule is removed by sending the same
state key with empty content (the spec allows that or a redaction; empty content keeps the
state key reusable for a later ban).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

USER_RULE = "m.policy.rule.user"
BAN = "m.ban"
# Older Mjolnir lists still use the unstable recommendation name.
BAN_RECOMMENDATIONS = frozenset({BAN, "org.matrix.mjolnir.ban"})


def rule_state_key(entity: str) -> str:
    """One state key per entity, the convention Mjolnir and Draupnir use."""
    return f"rule:{entity}"


def ban_rule(entity: str, reason: str | None) -> dict[str, Any]:
    return {"entity": entity, "recommendation": BAN, "reason": reason or ""}


@lru_cache(maxsize=1024)
def _glob(pattern: str) -> re.Pattern[str]:
    parts = (".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return re.compile("".join(parts), re.DOTALL)


def entity_matches(entity: str, user_id: str) -> bool:
    """Whether a rule's entity (an exact ID or a glob) covers ``user_id``."""
    if "*" not in entity and "?" not in entity:
        return entity == user_id
    return _glob(entity).fullmatch(user_id) is not None


def is_listed(entities: Iterable[str], user_id: str) -> bool:
    return any(entity_matches(entity, user_id) for entity in entities)
