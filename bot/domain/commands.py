"""Recognising a command in a message body: ``!naam argumenten``."""

from __future__ import annotations

import re
from dataclasses import dataclass

_CALL = re.compile(r"(?P<name>[A-Za-z][A-Za-z0-9_-]{0,31})(?=\s|$)(?P<args>.*)", re.DOTALL)


@dataclass(frozen=True, slots=True)
class CommandCall:
    name: str  # lower-case, as typed (an alias is resolved by the registry)
    args: str  # the rest of the body, stripped, newlines kept (bulletins are multi-line)

    @property
    def words(self) -> list[str]:
        return self.args.split()


def parse_command(body: str, prefix: str = "!") -> CommandCall | None:
    """``None`` unless the body starts with the prefix followed directly by a command name.

    "!!!" or "! kijk uit" are exclamations, not commands, so they stay ordinary messages.
    """
    text = body.lstrip()
    if not text.startswith(prefix):
        return None
    match = _CALL.match(text, len(prefix))
    if not match:
        return None
    return CommandCall(match["name"].lower(), match["args"].strip())
