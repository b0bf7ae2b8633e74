"""The one query module over the store for every report (chat, digest, export). Read-only.

Each figure is defined once here, as a count over rows whose own timestamp falls in a
``Window``: incidents by their report time, moderation actions by their audit time, bulletin
copies by the time they were confirmed sent, members from the member history. The chat
commands and the export differ only in how they present the same rows.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from bot.domain.periods import DAY_MS, Window, local_hour
from bot.store import Store

# Audit actions that are moderation (automatic or by a beheerder); bulletins and erasures are
# audited too but are not moderation.
MODERATION_ACTIONS = ("remind", "warn", "mute", "unmute", "kick", "ban", "redact", "pardon")
TREND_DAYS = (0, 30, 90)


@dataclass(frozen=True, slots=True)
class RoomFigures:
    room_id: str
    name: str
    incidents: dict[str, int] = field(default_factory=dict)  # category -> count
    urgent: int = 0
    members: int = 0  # at the end of the window
    new_members: int = 0  # joined within the window
    moderation: dict[str, int] = field(default_factory=dict)  # audit action -> count
    bulletins: int = 0  # police copies delivered within the window

    @property
    def incident_total(self) -> int:
        return sum(self.incidents.values())

    @property
    def moderation_total(self) -> int:
        return sum(self.moderation.values())


@dataclass(frozen=True, slots=True)
class TrendPoint:
    days_ago: int
    groups: int
    members: int


@dataclass(frozen=True, slots=True)
class BulletinReach:
    bulletin_id: int
    kind: str
    created_at: int
    rooms_sent: int
    rooms_failed: int
    members_reached: int  # members of the rooms it reached, at delivery: an upper bound


@dataclass(frozen=True, slots=True)
class IncidentRow:
    id: int
    event_id: str
    room_id: str
    room_name: str
    ts: int
    category: str
    urgent: bool
    plates: tuple[str, ...]
    excerpt: str
    sender: str


@dataclass(frozen=True, slots=True)
class ModerationRow:
    id: int
    room_id: str | None
    room_name: str
    ts: int
    action: str
    actor: str
    target: str | None
    automatic: bool


@dataclass(frozen=True, slots=True)
class RoomRow:
    room_id: str
    name: str
    role: str
    joined_at: int
    left_at: int | None
    members_at_end: int
    new_members: int
    incidents: int
    urgent: int
    moderation_actions: int
    bulletins_received: int


@dataclass(frozen=True, slots=True)
class MemberRow:
    room_id: str
    room_name: str
    user_id: str
    joined_ts: int
    left_ts: int | None


class ReportQueries:
    def __init__(self, store: Store, bot_user_id: str = "") -> None:
        self.store = store
        self._db = store.db
        self._bot = bot_user_id

    async def watch_rooms(self, *, include_left: bool = False) -> dict[str, str]:
        """Watch rooms by ID with their display names, in the order the bot joined them."""
        sql = "SELECT room_id, name FROM rooms WHERE role = 'watch'"
        if not include_left:
            sql += " AND left_at IS NULL"
        rows = await self._db.fetchall(sql + " ORDER BY joined_at, room_id")
        return {row["room_id"]: row["name"] or row["room_id"] for row in rows}

    async def room_figures(
        self, window: Window, room_ids: Sequence[str] | None = None
    ) -> list[RoomFigures]:
        """Per watch room (all joined ones, or exactly ``room_ids``): the window's figures."""
        names = await self.watch_rooms(include_left=room_ids is not None)
        rooms = list(room_ids) if room_ids is not None else list(names)
        incidents: dict[str, Counter[str]] = {room: Counter() for room in rooms}
        urgent: Counter[str] = Counter()
        for row in await self._rows(
            "SELECT room_id, category, urgent, COUNT(*) AS n FROM incidents "
            "WHERE ts >= ? AND ts < ?",
            window,
            rooms,
            " GROUP BY room_id, category, urgent",
        ):
            incidents[row["room_id"]][row["category"]] += row["n"]
            if row["urgent"]:
                urgent[row["room_id"]] += row["n"]
        moderation: dict[str, Counter[str]] = {room: Counter() for room in rooms}
        marks = ",".join("?" * len(MODERATION_ACTIONS))
        for row in await self._rows(
            "SELECT room_id, action, COUNT(*) AS n FROM audit "
            f"WHERE ts >= ? AND ts < ? AND action IN ({marks})",
            window,
            rooms,
            " GROUP BY room_id, action",
            MODERATION_ACTIONS,
        ):
            moderation[row["room_id"]][row["action"]] += row["n"]
        bulletins: Counter[str] = Counter()
        for row in await self._rows(
            "SELECT room_id, COUNT(*) AS n FROM deliveries "
            "WHERE state = 'sent' AND sent_at >= ? AND sent_at < ?",
            window,
            rooms,
            " GROUP BY room_id",
        ):
            bulletins[row["room_id"]] += row["n"]
        members = await self.store.members.counts(at=window.end_ms - 1, room_ids=rooms)
        new = await self.store.members.joined_since(window.start_ms, window.end_ms, rooms)
        return [
            RoomFigures(
                room_id=room,
                name=names.get(room, room),
                incidents=dict(sorted(incidents[room].items())),
                urgent=urgent[room],
                members=members.get(room, 0),
                new_members=new.get(room, 0),
                moderation=dict(sorted(moderation[room].items())),
                bulletins=bulletins[room],
            )
            for room in rooms
        ]

    async def trend(self, now_ms: int, days: Iterable[int] = TREND_DAYS) -> list[TrendPoint]:
        """The programme in numbers: watch rooms and their members now and days ago."""
        points = []
        for ago in days:
            at = now_ms - ago * DAY_MS
            groups = await self._watch_ids_at(at)
            counts = await self.store.members.counts(at=None if ago == 0 else at)
            points.append(TrendPoint(ago, len(groups), sum(counts.get(room, 0) for room in groups)))
        return points

    async def busiest_hours(self, window: Window, tz: ZoneInfo) -> list[int]:
        """Reports per local hour of the day (24 buckets) in all watch rooms."""
        hours = [0] * 24
        rows = await self._db.fetchall(
            "SELECT ts FROM incidents WHERE ts >= ? AND ts < ?", (window.start_ms, window.end_ms)
        )
        for row in rows:
            hours[local_hour(row["ts"], tz)] += 1
        return hours

    async def bulletin_reach(self, window: Window) -> list[BulletinReach]:
        """Bulletins and alerts sent in the window, with where they arrived.

        Read receipts are not stored (and private ones are invisible anyway), so reach is the
        number of members of the rooms a copy was delivered to at the time it arrived.
        """
        bulletins = await self._db.fetchall(
            "SELECT id, kind, created_at FROM bulletins WHERE created_at >= ? AND created_at < ? "
            "ORDER BY id",
            (window.start_ms, window.end_ms),
        )
        reach = []
        for bulletin in bulletins:
            deliveries = await self._db.fetchall(
                "SELECT room_id, state, sent_at FROM deliveries WHERE bulletin_id = ?",
                (bulletin["id"],),
            )
            members = 0
            for delivery in deliveries:
                if delivery["state"] == "sent" and delivery["sent_at"] is not None:
                    at_time = await self.store.members.counts(
                        at=delivery["sent_at"], room_ids=[delivery["room_id"]]
                    )
                    members += at_time.get(delivery["room_id"], 0)
            reach.append(
                BulletinReach(
                    bulletin["id"],
                    bulletin["kind"],
                    bulletin["created_at"],
                    sum(d["state"] == "sent" for d in deliveries),
                    sum(d["state"] == "failed" for d in deliveries),
                    members,
                )
            )
        return reach

    # -- rows for exports (and the digest's list of urgent reports) ----------------------

    async def incidents(
        self, window: Window, *, urgent_only: bool = False, room_ids: Sequence[str] | None = None
    ) -> list[IncidentRow]:
        names = await self.watch_rooms(include_left=True)
        sql = "SELECT * FROM incidents WHERE ts >= ? AND ts < ?"
        if urgent_only:
            sql += " AND urgent = 1"
        rows = await self._rows(sql, window, room_ids, " ORDER BY ts, id")
        return [
            IncidentRow(
                id=row["id"],
                event_id=row["event_id"],
                room_id=row["room_id"],
                room_name=names.get(row["room_id"], row["room_id"]),
                ts=row["ts"],
                category=row["category"],
                urgent=bool(row["urgent"]),
                plates=tuple(json.loads(row["plates"] or "[]")),
                excerpt=row["excerpt"],
                sender=row["sender"],
            )
            for row in rows
        ]

    async def moderation(self, window: Window) -> list[ModerationRow]:
        names = await self.watch_rooms(include_left=True)
        marks = ",".join("?" * len(MODERATION_ACTIONS))
        rows = await self._db.fetchall(
            "SELECT id, room_id, ts, action, actor, target FROM audit "
            f"WHERE ts >= ? AND ts < ? AND action IN ({marks}) ORDER BY ts, id",
            (window.start_ms, window.end_ms, *MODERATION_ACTIONS),
        )
        return [
            ModerationRow(
                id=row["id"],
                room_id=row["room_id"],
                room_name=names.get(row["room_id"], row["room_id"] or ""),
                ts=row["ts"],
                action=row["action"],
                actor=row["actor"],
                target=row["target"],
                automatic=bool(self._bot) and row["actor"] == self._bot,
            )
            for row in rows
        ]

    async def rooms(self, window: Window) -> list[RoomRow]:
        """Every watch room not left before the window: the rooms ``!stats`` lists now, plus
        those left during the window, each with exactly the figures ``!stats`` shows."""
        rows = await self._db.fetchall(
            "SELECT room_id, role, joined_at, left_at FROM rooms WHERE role = 'watch' "
            "AND (left_at IS NULL OR left_at >= ?) ORDER BY joined_at, room_id",
            (window.start_ms,),
        )
        figures = {
            f.room_id: f for f in await self.room_figures(window, [r["room_id"] for r in rows])
        }
        return [
            RoomRow(
                room_id=row["room_id"],
                name=figures[row["room_id"]].name,
                role=row["role"],
                joined_at=row["joined_at"],
                left_at=row["left_at"],
                members_at_end=figures[row["room_id"]].members,
                new_members=figures[row["room_id"]].new_members,
                incidents=figures[row["room_id"]].incident_total,
                urgent=figures[row["room_id"]].urgent,
                moderation_actions=figures[row["room_id"]].moderation_total,
                bulletins_received=figures[row["room_id"]].bulletins,
            )
            for row in rows
        ]

    async def members(self, window: Window) -> list[MemberRow]:
        names = await self.watch_rooms(include_left=True)
        return [
            MemberRow(s.room_id, names.get(s.room_id, s.room_id), s.user_id, s.joined_ts, s.left_ts)
            for s in await self.store.members.stints(window.start_ms, window.end_ms)
        ]

    # -- helpers -------------------------------------------------------------------------

    async def _watch_ids_at(self, at: int) -> set[str]:
        rows = await self._db.fetchall(
            "SELECT room_id FROM rooms WHERE role = 'watch' AND joined_at <= ? "
            "AND (left_at IS NULL OR left_at > ?)",
            (at, at),
        )
        return {row["room_id"] for row in rows}

    async def _rows(
        self,
        sql: str,
        window: Window,
        room_ids: Sequence[str] | None,
        tail: str,
        extra: Sequence[object] = (),
    ) -> list:
        params: list[object] = [window.start_ms, window.end_ms, *extra]
        if room_ids is not None:
            if not room_ids:
                return []
            sql += f" AND room_id IN ({','.join('?' * len(room_ids))})"
            params.extend(room_ids)
        return await self._db.fetchall(sql + tail, tuple(params))
