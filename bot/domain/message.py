"""Turn a raw (decrypted) Matrix event into the small value the handlers work with.

Everything from the wire is untrusted: a field of the wrong type, a missing body, a huge
``formatted_body`` or an edit that points elsewhere must give a clear ``None`` or a trimmed
value here, never an exception further down.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

MAX_BODY_CHARS = 64 * 1024
MAX_HTML_CHARS = 64 * 1024
MAX_REACTION_KEY_CHARS = 64
TEXT_MSGTYPES = frozenset({"m.text", "m.notice", "m.emote"})

_REPLY_FALLBACK = re.compile(r"\A(?:>[^\n]*\n)+\n?")


class EventKind(StrEnum):
    MESSAGE = "message"
    EDIT = "edit"
    REDACTION = "redaction"
    REACTION = "reaction"  # body is the reaction key, target the event reacted to


@dataclass(frozen=True, slots=True)
class Message:
    """A room message, an edit of one, or a redaction, stripped to what handlers need."""

    kind: EventKind
    event_id: str
    room_id: str
    sender: str
    ts: int
    body: str = ""
    formatted_body: str | None = None
    msgtype: str = "m.text"
    thread_root: str | None = None
    reply_to: str | None = None
    target: str | None = None  # the event an edit replaces or a redaction removes
    mentioned: frozenset[str] = field(default_factory=frozenset)
    room_mention: bool = False

    @property
    def in_thread(self) -> bool:
        return self.thread_root is not None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _strip_fallback(body: str) -> str:
    return _REPLY_FALLBACK.sub("", body, count=1)


def _strip_reply_block(html: str) -> str:
    """Drop a leading ``<mx-reply>`` quote in one linear scan (a regex over 64 KiB of
    unclosed tags backtracks for seconds and would stall every room)."""
    if html.lstrip()[:10].lower() != "<mx-reply>":
        return html
    end = html.lower().find("</mx-reply>")
    return html[end + len("</mx-reply>") :] if end >= 0 else html


def looks_like_text_message(event: Any) -> bool:
    """A message meant as text (so a failure to parse it is worth a log line), as opposed to
    images, state and other events the bot simply does not handle."""
    if not isinstance(event, dict) or event.get("type") != "m.room.message":
        return False
    content = event.get("content")
    return not isinstance(content, dict) or content.get("msgtype") in (*TEXT_MSGTYPES, None)


def parse_event(room_id: str, event: dict[str, Any]) -> Message | None:
    """The handler-facing view of one event, or ``None`` for anything not worth handling."""
    if not isinstance(event, dict):
        return None
    event_id, sender, etype = (
        _str(event.get("event_id")),
        _str(event.get("sender")),
        event.get("type"),
    )
    ts = event.get("origin_server_ts")
    if not event_id or not sender or not isinstance(ts, int) or isinstance(ts, bool):
        return None
    declared_room = event.get("room_id")
    if declared_room is not None and declared_room != room_id:
        return None  # a (decrypted) event claiming another room: a replay, not ours to handle
    content = event.get("content")
    if not isinstance(content, dict):
        return None
    if etype == "m.room.redaction":
        target = _str(event.get("redacts")) or _str(content.get("redacts"))
        if not target:
            return None
        return Message(EventKind.REDACTION, event_id, room_id, sender, ts, target=target)
    if etype == "m.reaction":
        return _parse_reaction(room_id, event_id, sender, ts, content)
    if etype != "m.room.message":
        return None
    return _parse_message(room_id, event_id, sender, ts, content)


def _parse_reaction(
    room_id: str, event_id: str, sender: str, ts: int, content: dict[str, Any]
) -> Message | None:
    relates = content.get("m.relates_to")
    if not isinstance(relates, dict) or relates.get("rel_type") != "m.annotation":
        return None
    target, key = _str(relates.get("event_id")), _str(relates.get("key"))
    if not target or not key or len(key) > MAX_REACTION_KEY_CHARS:
        return None
    return Message(EventKind.REACTION, event_id, room_id, sender, ts, body=key, target=target)


def _parse_message(
    room_id: str, event_id: str, sender: str, ts: int, content: dict[str, Any]
) -> Message | None:
    relates = content.get("m.relates_to")
    relates = relates if isinstance(relates, dict) else {}
    kind = EventKind.MESSAGE
    target = None
    if relates.get("rel_type") == "m.replace":
        new_content = content.get("m.new_content")
        target = _str(relates.get("event_id"))
        if not isinstance(new_content, dict) or not target:
            return None
        kind, content = EventKind.EDIT, new_content
    msgtype = content.get("msgtype")
    body = content.get("body")
    if not isinstance(msgtype, str) or msgtype not in TEXT_MSGTYPES or not isinstance(body, str):
        return None
    formatted = None
    if content.get("format") == "org.matrix.custom.html":
        formatted = _str(content.get("formatted_body"))
        if formatted is not None:
            formatted = _strip_reply_block(formatted[:MAX_HTML_CHARS])
    thread_root = _str(relates.get("event_id")) if relates.get("rel_type") == "m.thread" else None
    in_reply = relates.get("m.in_reply_to")
    reply_to = _str(in_reply.get("event_id")) if isinstance(in_reply, dict) else None
    if thread_root and relates.get("is_falling_back") is True:
        reply_to = None  # a thread message's reply fallback is not a real reply
    body = body[:MAX_BODY_CHARS]
    if reply_to:
        body = _strip_fallback(body)
    mentions = content.get("m.mentions")
    mentions = mentions if isinstance(mentions, dict) else {}
    user_ids = mentions.get("user_ids")
    mentioned = frozenset(
        u for u in (user_ids if isinstance(user_ids, list) else []) if isinstance(u, str)
    )
    return Message(
        kind=kind,
        event_id=event_id,
        room_id=room_id,
        sender=sender,
        ts=ts,
        body=body,
        formatted_body=formatted,
        msgtype=msgtype,
        thread_root=thread_root,
        reply_to=reply_to,
        target=target,
        mentioned=mentioned,
        room_mention=mentions.get("room") is True,
    )
