"""Invitation codes as people read them aloud, type them and paste them into a knock.

A code is two groups of four from an alphabet without look-alikes (no 0/O, 1/I/L), e.g.
"K7QM-3XPD": easy to forward by text message and to type on a phone. Every code has a digit
and a letter, so an ordinary eight-letter word in a knock's reason is never taken for one.
Synapse treats registration tokens case-sensitively, so codes are upper case only; in a knock's
reason the bot also recognises them typed in lower case, or without the dash.
"""

from __future__ import annotations

import re
import secrets

ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
_IN_TEXT = re.compile(r"(?<![A-Za-z0-9-])([A-Za-z0-9]{4})-?([A-Za-z0-9]{4})(?![A-Za-z0-9-])")


def _mixed(raw: str) -> bool:
    return any(c.isdigit() for c in raw) and any(c.isalpha() for c in raw)


def new_code() -> str:
    while not _mixed(raw := "".join(secrets.choice(ALPHABET) for _ in range(8))):
        pass
    return f"{raw[:4]}-{raw[4:]}"


def codes_in(text: str | None) -> list[str]:
    """Everything in ``text`` that could be a code, in normal form, first mention first."""
    if not text:
        return []
    found = []
    for match in _IN_TEXT.finditer(text):
        code = f"{match[1]}-{match[2]}".upper()
        if _mixed(code) and code not in found:
            found.append(code)
    return found


def normal_code(text: str) -> str | None:
    """A code typed as a command argument, or None when it is not shaped like one."""
    found = codes_in(text.strip())
    return found[0] if len(found) == 1 and len(text.strip()) <= 9 else None
