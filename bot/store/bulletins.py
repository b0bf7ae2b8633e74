"""Police bulletins: room labels, the bulletins themselves and one delivery row per room.

The delivery rows are the background worker's durable to-do list: a bulletin and all its rows
are written in one transaction before the first copy is sent, so a crash at any point leaves
either nothing or the complete list of rooms still to do.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum

from bot.domain.formatting import Rich
from bot.store.database import Database, now_ms


class Kind(StrEnum):
    BULLETIN = "bulletin"
    ALERT = "alert"
    ALERT_END = "alert_end"


class State(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class Bulletin:
    id: int
    kind: Kind
    sender: str
    source_room: str
    source_event_id: str
    labels: tuple[str, ...]
    plain: str
    html: str
    version: int
    redacted: bool
    parent_id: int | None
    status_event_id: str | None
    created_at: int
    finished_at: int | None

    @property
    def content(self) -> Rich:
        return Rich(self.plain, self.html)


@dataclass(frozen=True, slots=True)
class Delivery:
    bulletin_id: int
    room_id: str
    state: State
    event_id: str | None
    version_sent: int
    redacted: bool
    attempts: int
    error: str | None
    next_attempt_at: int
    sent_at: int | None


@dataclass(frozen=True, slots=True)
class Counts:
    """Where the copies of one bulletin stand, for the status message and ``!berichten``."""

    total: int = 0
    pending: int = 0
    sent: int = 0
    failed: int = 0
    cancelled: int = 0
    updated: int = 0  # sent copies that show the latest version
    removed: int = 0  # sent copies redacted after the bulletin was withdrawn
    last_sent_at: int | None = None


_DELIVERY_COLUMNS = frozenset(
    {"state", "event_id", "version_sent", "redacted", "attempts", "error", "next_attempt_at"}
    | {"sent_at"}
)


class BulletinRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    # -- labels --------------------------------------------------------------------------

    async def add_labels(self, room_id: str, labels: Iterable[str]) -> None:
        for label in labels:
            await self._db.execute(
                "INSERT OR IGNORE INTO room_labels (room_id, label) VALUES (?, ?)",
                (room_id, label),
            )

    async def remove_labels(self, room_id: str, labels: Iterable[str]) -> None:
        for label in labels:
            await self._db.execute(
                "DELETE FROM room_labels WHERE room_id = ? AND label = ?", (room_id, label)
            )

    async def labels_by_room(self) -> dict[str, tuple[str, ...]]:
        rows = await self._db.fetchall("SELECT room_id, label FROM room_labels ORDER BY label")
        found: dict[str, list[str]] = {}
        for row in rows:
            found.setdefault(row["room_id"], []).append(row["label"])
        return {room: tuple(labels) for room, labels in found.items()}

    # -- bulletins -----------------------------------------------------------------------

    async def create(
        self,
        *,
        kind: Kind,
        sender: str,
        source_room: str,
        source_event_id: str,
        labels: Iterable[str],
        rooms: Iterable[str],
        render: Callable[[int], Rich],
        parent_id: int | None = None,
        created_at: int | None = None,
    ) -> tuple[Bulletin, bool]:
        """The bulletin and all its delivery rows in one transaction; ``(bulletin, created)``.

        ``render`` gets the new row's id because an alert shows its own number. The source
        event is UNIQUE: the same command handled twice returns the first bulletin unchanged.
        """
        existing = await self.by_source(source_event_id)
        if existing is not None:
            return existing, False
        created = created_at or now_ms()
        async with self._db.transaction() as tx:
            cursor = await tx.execute(
                "INSERT INTO bulletins (kind, sender, source_room, source_event_id, labels, "
                "plain, html, parent_id, created_at) VALUES (?, ?, ?, ?, ?, '', '', ?, ?)",
                (
                    kind.value,
                    sender,
                    source_room,
                    source_event_id,
                    json.dumps(list(labels)),
                    parent_id,
                    created,
                ),
            )
            new_id = int(cursor.lastrowid or 0)
            content = render(new_id)
            await tx.execute(
                "UPDATE bulletins SET plain = ?, html = ? WHERE id = ?",
                (content.plain, content.html, new_id),
            )
            await tx.executemany(
                "INSERT INTO deliveries (bulletin_id, room_id) VALUES (?, ?)",
                [(new_id, room_id) for room_id in rooms],
            )
        bulletin = await self.get(new_id)
        assert bulletin is not None
        return bulletin, True

    async def get(self, bulletin_id: int) -> Bulletin | None:
        row = await self._db.fetchone("SELECT * FROM bulletins WHERE id = ?", (bulletin_id,))
        return _bulletin(row) if row else None

    async def by_source(self, event_id: str) -> Bulletin | None:
        row = await self._db.fetchone(
            "SELECT * FROM bulletins WHERE source_event_id = ?", (event_id,)
        )
        return _bulletin(row) if row else None

    async def set_status_event(self, bulletin_id: int, event_id: str) -> None:
        await self._db.execute(
            "UPDATE bulletins SET status_event_id = ? WHERE id = ?", (event_id, bulletin_id)
        )

    async def update_content(self, bulletin_id: int, content: Rich) -> None:
        """A new version: every copy already sent becomes due for an edit."""
        await self._db.execute(
            "UPDATE bulletins SET plain = ?, html = ?, version = version + 1, finished_at = NULL "
            "WHERE id = ? AND NOT redacted",
            (content.plain, content.html, bulletin_id),
        )

    async def mark_redacted(self, bulletin_id: int) -> None:
        """Withdrawn: the text is erased here too, copies are redacted by the worker."""
        await self._db.execute(
            "UPDATE bulletins SET redacted = 1, plain = '', html = '', finished_at = NULL "
            "WHERE id = ?",
            (bulletin_id,),
        )

    async def finish(self, bulletin_id: int, at_ms: int) -> None:
        await self._db.execute(
            "UPDATE bulletins SET finished_at = ? WHERE id = ?", (at_ms, bulletin_id)
        )

    async def unfinished(self) -> list[int]:
        rows = await self._db.fetchall("SELECT id FROM bulletins WHERE finished_at IS NULL")
        return [row["id"] for row in rows]

    async def recent(self, limit: int = 10) -> list[tuple[Bulletin, Counts]]:
        rows = await self._db.fetchall("SELECT * FROM bulletins ORDER BY id DESC LIMIT ?", (limit,))
        return [(_bulletin(row), await self.counts(row["id"])) for row in rows]

    # -- deliveries ----------------------------------------------------------------------

    async def counts(self, bulletin_id: int) -> Counts:
        row = await self._db.fetchone(
            "SELECT COUNT(*) AS total, "
            "SUM(d.state = 'pending') AS pending, SUM(d.state = 'sent') AS sent, "
            "SUM(d.state = 'failed') AS failed, SUM(d.state = 'cancelled') AS cancelled, "
            "SUM(d.state = 'sent' AND d.version_sent >= b.version) AS updated, "
            "SUM(d.state = 'sent' AND d.redacted) AS removed, MAX(d.sent_at) AS last_sent_at "
            "FROM deliveries d JOIN bulletins b ON b.id = d.bulletin_id WHERE d.bulletin_id = ?",
            (bulletin_id,),
        )
        if row is None or not row["total"]:
            return Counts()
        return Counts(
            total=row["total"],
            pending=row["pending"] or 0,
            sent=row["sent"] or 0,
            failed=row["failed"] or 0,
            cancelled=row["cancelled"] or 0,
            updated=row["updated"] or 0,
            removed=row["removed"] or 0,
            last_sent_at=row["last_sent_at"],
        )

    async def deliveries(self, bulletin_id: int, state: State | None = None) -> list[Delivery]:
        sql = "SELECT * FROM deliveries WHERE bulletin_id = ?"
        params: tuple[object, ...] = (bulletin_id,)
        if state is not None:
            sql += " AND state = ?"
            params = (bulletin_id, state.value)
        return [_delivery(row) for row in await self._db.fetchall(sql, params)]

    async def delivery(self, bulletin_id: int, room_id: str) -> Delivery | None:
        row = await self._db.fetchone(
            "SELECT * FROM deliveries WHERE bulletin_id = ? AND room_id = ?",
            (bulletin_id, room_id),
        )
        return _delivery(row) if row else None

    async def update_delivery(self, bulletin_id: int, room_id: str, **changes: object) -> None:
        unknown = set(changes) - _DELIVERY_COLUMNS
        if unknown:
            raise ValueError(f"not delivery columns: {sorted(unknown)}")
        assignments = ", ".join(f"{name} = ?" for name in changes)  # names are whitelisted
        await self._db.execute(
            f"UPDATE deliveries SET {assignments} WHERE bulletin_id = ? AND room_id = ?",
            (*changes.values(), bulletin_id, room_id),
        )

    async def actionable(self, now: int) -> list[Delivery]:
        """Deliveries with something to do now: send, edit, redact or cancel."""
        rows = await self._db.fetchall(
            "SELECT d.* FROM deliveries d JOIN bulletins b ON b.id = d.bulletin_id "
            "WHERE (d.state = 'pending' AND (b.redacted OR d.next_attempt_at <= :now)) "
            "OR (d.state = 'sent' AND b.redacted AND NOT d.redacted AND d.next_attempt_at <= :now) "
            "OR (d.state = 'sent' AND NOT b.redacted AND d.version_sent < b.version "
            "AND d.next_attempt_at <= :now) "
            "ORDER BY d.bulletin_id, d.rowid",
            {"now": now},
        )
        return [_delivery(row) for row in rows]

    async def next_attempt_after(self, now: int) -> int | None:
        """When the earliest postponed piece of work becomes due, if any is still waiting."""
        row = await self._db.fetchone(
            "SELECT MIN(d.next_attempt_at) AS due FROM deliveries d "
            "JOIN bulletins b ON b.id = d.bulletin_id WHERE d.next_attempt_at > ? AND ("
            "d.state = 'pending' OR (d.state = 'sent' AND ((b.redacted AND NOT d.redacted) "
            "OR (NOT b.redacted AND d.version_sent < b.version))))",
            (now,),
        )
        return int(row["due"]) if row and row["due"] is not None else None


def _bulletin(row: sqlite3.Row) -> Bulletin:
    return Bulletin(
        id=row["id"],
        kind=Kind(row["kind"]),
        sender=row["sender"],
        source_room=row["source_room"],
        source_event_id=row["source_event_id"],
        labels=tuple(json.loads(row["labels"])),
        plain=row["plain"],
        html=row["html"],
        version=row["version"],
        redacted=bool(row["redacted"]),
        parent_id=row["parent_id"],
        status_event_id=row["status_event_id"],
        created_at=row["created_at"],
        finished_at=row["finished_at"],
    )


def _delivery(row: sqlite3.Row) -> Delivery:
    return Delivery(
        bulletin_id=row["bulletin_id"],
        room_id=row["room_id"],
        state=State(row["state"]),
        event_id=row["event_id"],
        version_sent=row["version_sent"],
        redacted=bool(row["redacted"]),
        attempts=row["attempts"],
        error=row["error"],
        next_attempt_at=row["next_attempt_at"],
        sent_at=row["sent_at"],
    )
