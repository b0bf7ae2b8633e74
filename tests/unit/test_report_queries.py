"""The one query module: each figure counted once, the same in chat figures and exports."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

from bot.domain.periods import Window
from bot.reports.export import export_rows
from bot.reports.queries import ReportQueries
from bot.store import Store
from bot.store.audit import AuditEntry
from bot.store.incidents import Incident
from bot.store.members import MemberChange
from bot.store.rooms import RoomRole

AMS = ZoneInfo("Europe/Amsterdam")
HOUR = 3_600_000
T0 = 1_780_000_000_000
NOORD, ZUID = "!noord:x", "!zuid:x"
BOT = "@buurtbot:x"


async def seeded(path: Path) -> Store:
    store = await Store.open(path)
    await store.rooms.joined(NOORD, RoomRole.WATCH, "Noord")
    await store.rooms.joined(ZUID, RoomRole.WATCH, "Zuid")
    for n, (room, category, urgent) in enumerate(
        [(NOORD, "burglary", True), (NOORD, "burglary", False), (ZUID, "fire", True)]
    ):
        await store.incidents.save(
            Incident(room, f"$i{n}", "@anna:x", T0 + n * HOUR, category, urgent, (), "x")
        )
    for action, actor in [("remind", BOT), ("warn", "@bea:x"), ("forget", "@bea:x")]:
        await store.audit.record(AuditEntry(actor, action, NOORD, "@anna:x", ts=T0 + HOUR))
    await store.audit.record(AuditEntry("@agent:x", "bulletin", None, "$b", ts=T0 + HOUR))
    for user in ("@anna:x", "@bert:x", "@cor:x"):
        await store.members.apply(NOORD, [MemberChange(user, True, T0 - 10 * HOUR, f"$j{user}")])
    await store.members.apply(ZUID, [MemberChange("@anna:x", True, T0 + 2 * HOUR, "$jz")])
    await store.db.execute(
        "INSERT INTO bulletins (id, kind, sender, source_room, source_event_id, plain, html, "
        "created_at) VALUES (1, 'bulletin', '@agent:x', '!coord:x', '$src', 'p', 'h', ?)",
        (T0,),
    )
    for room, state, sent in [(NOORD, "sent", T0 + 1000), (ZUID, "failed", None)]:
        await store.db.execute(
            "INSERT INTO deliveries (bulletin_id, room_id, state, sent_at) VALUES (1, ?, ?, ?)",
            (room, state, sent),
        )
    return store


async def test_figures_per_room_and_bulletin_reach(tmp_path: Path) -> None:
    store = await seeded(tmp_path / "bot.sqlite3")
    try:
        queries = ReportQueries(store, BOT)
        window = Window(T0 - HOUR, T0 + 5 * HOUR)
        noord, zuid = await queries.room_figures(window)
        assert noord.incidents == {"burglary": 2} and noord.urgent == 1
        assert noord.moderation == {"remind": 1, "warn": 1}, "erasures are not moderation"
        assert noord.members == 3 and noord.new_members == 0 and noord.bulletins == 1
        assert zuid.incidents == {"fire": 1} and zuid.members == 1 and zuid.new_members == 1
        assert zuid.bulletins == 0
        [only] = await queries.room_figures(window, [ZUID])
        assert only == zuid, "a room asked for alone gets exactly its own figures"
        [reach] = await queries.bulletin_reach(window)
        assert (reach.rooms_sent, reach.rooms_failed, reach.members_reached) == (1, 1, 3)
    finally:
        await store.close()


async def test_exports_count_exactly_what_the_figures_count(tmp_path: Path) -> None:
    store = await seeded(tmp_path / "bot.sqlite3")
    try:
        queries = ReportQueries(store, BOT)
        window = Window(T0 - HOUR, T0 + 5 * HOUR)
        figures = {f.room_id: f for f in await queries.room_figures(window)}
        incidents = await export_rows(queries, "incidents", window, AMS, str)
        moderation = await export_rows(queries, "moderation", window, AMS, str)
        rooms = {
            row["room_id"]: row for row in await export_rows(queries, "rooms", window, AMS, str)
        }
        for room_id, room in figures.items():
            assert sum(r["room_id"] == room_id for r in incidents) == room.incident_total
            assert sum(r["room_id"] == room_id for r in moderation) == room.moderation_total
            assert rooms[room_id]["incidents"] == room.incident_total
            assert rooms[room_id]["members_at_end"] == room.members
            assert rooms[room_id]["bulletins_received"] == room.bulletins
        assert [r["automatic"] for r in moderation] == [True, False]
    finally:
        await store.close()
