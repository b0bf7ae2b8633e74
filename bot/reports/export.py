"""``buurtbot export``: the report rows for the municipality's evaluation, as CSV or JSON.

The rows come from ``ReportQueries`` (the same queries ``!stats`` and the digest use). No
message text leaves except the stored excerpt (which the retention purge empties after
``retention.incident_excerpt_days``). User IDs are replaced by a keyed hash (HMAC-SHA256 with
``reports.pseudonym_key``): the same person gets the same pseudonym in every export made with
that key, so figures per person can be evaluated without knowing who they are.

CSV is UTF-8 *with* a byte-order mark: Excel (the spreadsheet most municipal staff open CSVs
in) reads BOM-less UTF-8 as a legacy code page and mangles names such as "Zuid-Ïjsselmonde";
LibreOffice, Google Sheets and Python's ``csv`` module (with ``utf-8-sig``) read the BOM fine.
Times are ISO 8601 in the report time zone, with the offset.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain.periods import Window, local
from bot.reports.queries import ReportQueries

KINDS = ("incidents", "moderation", "rooms", "members")
FORMATS = ("csv", "json")
CSV_ENCODING = "utf-8-sig"

# The documented columns of each kind, in order (README, "Export for the municipality").
COLUMNS: dict[str, tuple[str, ...]] = {
    "incidents": (
        "id", "time", "room_id", "room", "category", "urgent", "plates", "excerpt", "sender",
    ),
    "moderation": ("id", "time", "room_id", "room", "action", "automatic", "actor", "target"),
    "rooms": (
        "room_id", "room", "joined_at", "left_at", "members_at_end", "new_members",
        "incidents", "urgent", "moderation_actions", "bulletins_received",
    ),
    "members": ("room_id", "room", "user", "joined", "left"),
}  # fmt: skip


class ExportError(Exception):
    """Bad arguments, phrased as one line for the operator."""


@dataclass(frozen=True, slots=True)
class ExportRequest:
    kind: str
    since: date
    until: date | None
    format: str
    with_user_ids: bool = False


def parse_request(
    kind: str | None, since: str | None, until: str | None, fmt: str | None, with_ids: bool
) -> ExportRequest:
    if kind not in KINDS:
        raise ExportError(f"unknown kind {kind!r}: use one of {', '.join(KINDS)}")
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}: use --format csv or --format json")
    if since is None:
        raise ExportError("--since DATE is required (YYYY-MM-DD)")
    start = _date("--since", since)
    end = _date("--until", until) if until is not None else None
    if end is not None and end < start:
        raise ExportError(f"--until {end} is before --since {start}")
    return ExportRequest(kind, start, end, fmt, with_ids)


def _date(option: str, value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ExportError(f"{option} {value!r} is not a date like 2026-11-30") from None


def pseudonym(user_id: str, key: bytes) -> str:
    """A stable, keyed pseudonym; empty stays empty (an already anonymised row)."""
    if not user_id:
        return ""
    return "u-" + hmac.new(key, user_id.encode(), hashlib.sha256).hexdigest()[:20]


async def export_rows(
    queries: ReportQueries,
    kind: str,
    window: Window,
    tz: ZoneInfo,
    who: Callable[[str | None], str],
) -> list[dict[str, Any]]:
    """The rows of one kind, as column -> value (strings, numbers, booleans or None)."""

    def when(ts: int | None) -> str | None:
        return local(ts, tz).isoformat(timespec="seconds") if ts is not None else None

    if kind == "incidents":
        rows: Sequence[Any] = await queries.incidents(window)
        values = [
            (r.id, when(r.ts), r.room_id, r.room_name, r.category, r.urgent,
             " ".join(r.plates), r.excerpt, who(r.sender))
            for r in rows
        ]  # fmt: skip
    elif kind == "moderation":
        rows = await queries.moderation(window)
        values = [
            (r.id, when(r.ts), r.room_id, r.room_name, r.action, r.automatic, who(r.actor),
             who(r.target))
            for r in rows
        ]  # fmt: skip
    elif kind == "rooms":
        rows = await queries.rooms(window)
        values = [
            (r.room_id, r.name, when(r.joined_at), when(r.left_at), r.members_at_end,
             r.new_members, r.incidents, r.urgent, r.moderation_actions, r.bulletins_received)
            for r in rows
        ]  # fmt: skip
    else:
        rows = await queries.members(window)
        values = [
            (r.room_id, r.room_name, who(r.user_id), when(r.joined_ts), when(r.left_ts))
            for r in rows
        ]
    return [dict(zip(COLUMNS[kind], row, strict=True)) for row in values]


def to_csv(kind: str, rows: Sequence[dict[str, Any]]) -> str:
    """Header plus rows; booleans as true/false, missing values as empty cells."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS[kind])
    for row in rows:
        writer.writerow([_cell(row[column]) for column in COLUMNS[kind]])
    return buffer.getvalue()


def to_json(request: ExportRequest, window: Window, rows: Sequence[dict[str, Any]]) -> str:
    document = {
        "kind": request.kind,
        "since": request.since.isoformat(),
        "until": request.until.isoformat() if request.until else None,
        "window_ms": [window.start_ms, window.end_ms],
        "pseudonymised": not request.with_user_ids,
        "columns": list(COLUMNS[request.kind]),
        "rows": list(rows),
    }
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
