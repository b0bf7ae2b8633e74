"""Who a moderator command is about: "!mute @jan:example.org 1h", a pill, or "Jan de Vries".

Clients differ in what they put in the plain ``body`` for a mention: Element
writes the display name (which may contain spaces) and puts the real user ID
only in the ``formatted_body`` link; others write the full MXID. Resolving
must never guess: two members called "Jan" is an :class:`Ambiguous` answer the
moderator has to settle, not a coin toss that mutes the wrong neighbour.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import unquote

# Matrix spec, "User Identifiers": historical localparts may use any printable
# ASCII except ':'; the whole ID is at most 255 bytes.
_LOCALPART = r"[\x21-\x39\x3b-\x7e]+"
_HOSTNAME = r"[A-Za-z0-9.\-]{1,255}"
_IPV6 = r"\[[0-9A-Fa-f:.]{2,45}\]"
_SERVER_NAME = rf"(?:{_IPV6}|{_HOSTNAME})(?::[0-9]{{1,5}})?"
_USER_ID = re.compile(rf"@{_LOCALPART}:{_SERVER_NAME}", re.ASCII)
MAX_USER_ID_BYTES = 255

_MATRIX_TO = re.compile(r"^https?://matrix\.to/#/([^?]*)", re.IGNORECASE)
_MATRIX_URI = re.compile(r"^matrix:u/([^?#]*)", re.IGNORECASE)
# Element appends ": " after a pill typed at the start of a message.
_NAME_END = re.compile(r"\s*:?(?:\s+|$)")


@dataclass(frozen=True)
class Found:
    user_id: str


@dataclass(frozen=True)
class NotFound:
    query: str


@dataclass(frozen=True)
class Ambiguous:
    query: str
    candidates: tuple[str, ...]


@dataclass(frozen=True)
class Malformed:
    query: str
    reason: str  # "empty", "invalid_user_id", "not_a_user_link"


UserReference = Found | NotFound | Ambiguous | Malformed


def is_valid_user_id(user_id: str) -> bool:
    """Whether ``user_id`` follows the spec grammar, historical localparts included."""
    return (
        _USER_ID.fullmatch(user_id) is not None
        and len(user_id.encode("utf-8")) <= MAX_USER_ID_BYTES
    )


def user_id_from_link(href: str) -> str | None:
    """The user ID a matrix.to or ``matrix:u/`` link points at, or None for other links."""
    href = href.strip()
    if match := _MATRIX_TO.match(href):
        target = unquote(match.group(1))
        return target if target.startswith("@") else None
    if match := _MATRIX_URI.match(href):
        return "@" + unquote(match.group(1))
    return None


@dataclass(frozen=True)
class Pill:
    user_id: str
    text: str


class _PillParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.pills: list[Pill] = []
        self._href: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._href = dict(attrs).get("href") or ""
            self._text = []

    def handle_data(self, data: str) -> None:
        if self._href is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._href is not None:
            user_id = user_id_from_link(self._href)
            if user_id is not None and is_valid_user_id(user_id):
                self.pills.append(Pill(user_id, "".join(self._text).strip()))
            self._href = None


def extract_pills(formatted_body: str | None) -> list[Pill]:
    """User mentions in an HTML body, in order; links to rooms or the web are skipped."""
    if not formatted_body:
        return []
    parser = _PillParser()
    try:
        parser.feed(formatted_body)
        parser.close()
    except AssertionError:
        # The stdlib parser asserts on some malformed markup ("<![x["); keep what it found.
        pass
    return parser.pills


def _fold(name: str) -> str:
    return " ".join(name.casefold().split())


def _unique(user_ids: Iterable[str], query: str) -> UserReference:
    candidates = tuple(sorted(set(user_ids)))
    if not candidates:
        return NotFound(query)
    if len(candidates) == 1:
        return Found(candidates[0])
    return Ambiguous(query, candidates)


def _by_name(query: str, members: Mapping[str, str]) -> UserReference:
    """Display name first; a bare localpart ("jan" for @jan:server) as a fallback."""
    wanted = _fold(query.removeprefix("@"))
    by_display = [uid for uid, name in members.items() if name and _fold(name) == wanted]
    if by_display:
        return _unique(by_display, query)
    by_local = [uid for uid in members if _fold(uid[1:].split(":", 1)[0]) == wanted]
    return _unique(by_local, query)


def parse_user_reference(
    token: str,
    formatted_body: str | None = None,
    members: Mapping[str, str] | None = None,
) -> UserReference:
    """Resolve one argument to a user.

    ``members`` maps user ID to display name for the room. A full MXID is
    accepted even when the user is not a member (bans and kicks of people who
    already left are legitimate), as long as it is well formed.
    """
    query = token.strip()
    if not query:
        return Malformed(token, "empty")
    if "://" in query or query.lower().startswith("matrix:"):
        user_id = user_id_from_link(query)
        if user_id is None:
            return Malformed(query, "not_a_user_link")
        return Found(user_id) if is_valid_user_id(user_id) else Malformed(query, "invalid_user_id")
    if query.startswith("@") and ":" in query:
        return Found(query) if is_valid_user_id(query) else Malformed(query, "invalid_user_id")
    wanted = _fold(query.removeprefix("@"))
    pills = [
        p.user_id for p in extract_pills(formatted_body) if _fold(p.text.lstrip("@")) == wanted
    ]
    if pills:
        return _unique(pills, query)
    if members:
        return _by_name(query, members)
    return NotFound(query)


def _match_name_prefix(args: str, name: str) -> int | None:
    """Length of ``args`` consumed when it starts with ``name`` as whole words, else None."""
    name = name.strip()
    if not name:
        return None
    for candidate in (name, "@" + name):
        if args[: len(candidate)].casefold() == candidate.casefold():
            end = _NAME_END.match(args, len(candidate))
            if end is not None:
                return end.end()
    return None


def split_target_and_rest(
    args_text: str,
    formatted_body: str | None = None,
    members: Mapping[str, str] | None = None,
) -> tuple[UserReference, str]:
    """Split "Jan de Vries 30m spam" into the user and "30m spam".

    Tried in order: an MXID or link as first word; a pill whose text starts the
    arguments (Element puts the display name there); the longest member display
    name that starts the arguments; finally the first word on its own.
    """
    args = " ".join(args_text.split())
    if not args:
        return Malformed(args_text, "empty"), ""
    first, _, rest = args.partition(" ")
    if (first.startswith("@") and ":" in first) or "://" in first or first.startswith("matrix:"):
        return parse_user_reference(first, formatted_body, members), rest.strip()

    best: tuple[int, list[str]] = (0, [])
    for pill in extract_pills(formatted_body):
        consumed = _match_name_prefix(args, pill.text.lstrip("@"))
        if consumed is not None and consumed > best[0]:
            best = (consumed, [pill.user_id])
        elif consumed is not None and consumed == best[0]:
            best[1].append(pill.user_id)
    if not best[1] and members:
        for user_id, name in members.items():
            consumed = _match_name_prefix(args, name) if name else None
            if consumed is not None and consumed > best[0]:
                best = (consumed, [user_id])
            elif consumed is not None and consumed == best[0]:
                best[1].append(user_id)
    if best[1]:
        query = args[: best[0]].strip().rstrip(":").strip()
        return _unique(best[1], query), args[best[0] :].strip()
    return parse_user_reference(first, formatted_body, members), rest.strip()
