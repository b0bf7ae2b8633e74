"""Watch groups the bot builds or adopts: names, aliases, the room's settings, the power it needs.

Pure functions, no I/O: the feature (``features/groups.py``) asks the homeserver, these decide.
Room version 12 gives the creator unlimited power and forbids listing them in
``power_levels.users``; older versions need the creator listed, or the override Synapse applies
on top of its defaults (a shallow update: ``users`` is replaced as a whole) would strip the bot
of its power. So the version decides the ``users`` table.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bot.domain.power import RoomPower, creators_have_infinite_power

MAX_NAME_CHARS = 80
# "#" + localpart + ":" + server must stay within the spec's 255 bytes; 100 leaves room.
MAX_ALIAS_LOCALPART = 100
BOT_LEVEL = 100
MEGOLM = "m.megolm.v1.aes-sha2"

_LABEL = re.compile(r"#([\w-]{1,64})")
_NOT_ALIAS = re.compile(r"[^a-z0-9]+")


class NameProblem(StrEnum):
    EMPTY = "empty"
    TOO_LONG = "too_long"
    NO_ALIAS = "no_alias"  # nothing of the name survives folding to a-z 0-9 -


@dataclass(frozen=True, slots=True)
class GroupRequest:
    """``!nieuwegroep Oud-Zuid #zuid #centrum`` → name "Oud-Zuid", labels (zuid, centrum)."""

    name: str
    labels: tuple[str, ...]


def parse_group_request(args: str) -> GroupRequest:
    """The name is everything before the trailing ``#label`` words; labels lower-case."""
    words = args.split()
    trailing: list[str] = []
    while words and (match := _LABEL.fullmatch(words[-1])):
        trailing.insert(0, match.group(1).casefold())
        words.pop()
    return GroupRequest(" ".join(words), tuple(dict.fromkeys(trailing)))


def fold_alias(name: str) -> str:
    """Lower case, diacritics folded, only ``a-z 0-9 -``: "Ĳsselmonde Oost" → "ijsselmonde-oost".

    NFKD splits "é" into "e" plus a combining accent (dropped) and the "Ĳ" ligature into "IJ";
    every run of anything else becomes one dash.
    """
    decomposed = unicodedata.normalize("NFKD", name)
    ascii_only = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    return _NOT_ALIAS.sub("-", ascii_only).strip("-")[:MAX_ALIAS_LOCALPART].strip("-")


def alias_localpart(name: str, prefix: str) -> str:
    """The alias without ``#`` and server: the prefix plus the folded name, never doubled
    ("Buurtpreventie Westwijk" with prefix "buurtpreventie-" stays "buurtpreventie-westwijk")."""
    folded = fold_alias(name)
    if not folded:
        return ""
    if prefix and (folded + "-").startswith(prefix):
        return folded
    return (prefix + folded)[:MAX_ALIAS_LOCALPART].strip("-")


def check_name(name: str) -> NameProblem | None:
    if not name.strip():
        return NameProblem.EMPTY
    if len(name) > MAX_NAME_CHARS:
        return NameProblem.TOO_LONG
    if not fold_alias(name):
        return NameProblem.NO_ALIAS
    return None


@dataclass(frozen=True, slots=True)
class RoomDefaults:
    """The levels a new watch room starts with (``groups`` settings)."""

    moderator_level: int
    events_default: int = 0
    invite: int = 50
    kick: int = 50
    ban: int = 50
    redact: int = 50
    history_visibility: str = "shared"


def bot_level(defaults: RoomDefaults) -> int:
    """Above everyone the bot appoints, whatever the configured moderator level."""
    return max(BOT_LEVEL, defaults.moderator_level + 1)


def power_levels_override(
    defaults: RoomDefaults, room_version: str, bot: str, requester: str
) -> dict[str, Any]:
    """What ``createRoom`` puts on top of the server's default power levels."""
    users: dict[str, int] = {requester: defaults.moderator_level}
    if not creators_have_infinite_power(room_version):
        users[bot] = bot_level(defaults)
    return {
        "users": users,
        "users_default": 0,
        "events_default": defaults.events_default,
        "invite": defaults.invite,
        "kick": defaults.kick,
        "ban": defaults.ban,
        "redact": defaults.redact,
    }


def state(event_type: str, content: dict[str, Any]) -> dict[str, Any]:
    """One ``initial_state`` entry of ``createRoom``."""
    return {"type": event_type, "state_key": "", "content": content}


def initial_state(defaults: RoomDefaults) -> list[dict[str, Any]]:
    """Encrypted, knock to join, history for members only, no guests."""
    return [
        state("m.room.encryption", {"algorithm": MEGOLM}),
        state("m.room.join_rules", {"join_rule": "knock"}),
        state("m.room.history_visibility", {"history_visibility": defaults.history_visibility}),
        state("m.room.guest_access", {"guest_access": "forbidden"}),
    ]


class Ability(StrEnum):
    """What a watch room's bot must be able to do, each with the level it takes."""

    KICK = "kick"
    BAN = "ban"
    REDACT = "redact"
    POWER_LEVELS = "power_levels"


def required_levels(power: RoomPower) -> dict[Ability, int]:
    """The level each ability takes in this room (changing power levels is a state event)."""
    return {
        Ability.KICK: power.kick,
        Ability.BAN: power.ban,
        Ability.REDACT: power.redact,
        Ability.POWER_LEVELS: power.events.get("m.room.power_levels", power.state_default),
    }


def missing_abilities(power: RoomPower, bot: str) -> dict[Ability, int]:
    """The abilities the bot lacks here, with the level each one needs; empty: all fine."""
    have = power.level(bot)
    return {a: need for a, need in required_levels(power).items() if have < need}


def moderators(power: RoomPower, members: Iterable[str], threshold: int, bot: str) -> list[str]:
    """Members at or above the moderator level (v12 creators included), the bot left out."""
    return sorted(u for u in members if u != bot and power.level(u) >= threshold)
