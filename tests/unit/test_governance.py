"""Retention: every data kind is cut off at its own limit; erasure covers every kind."""

from __future__ import annotations

from pathlib import Path

from bot.settings import RetentionSettings
from bot.store import Store
from bot.store.audit import AuditEntry
from bot.store.conduct import Strike
from bot.store.governance import RetentionInputs
from bot.store.incidents import Incident
from bot.store.members import MemberChange
from bot.store.rooms import RoomRole

DAY = 86_400_000
NOW = 1000 * DAY
ROOM = "!noord:x"
ANNA = "@anna:x"


async def fill(store: Store, age_days: float, tag: str) -> None:
    ts = int(NOW - age_days * DAY)
    await store.incidents.save(
        Incident(ROOM, f"$i{tag}", ANNA, ts, "theft", False, ("VNL-38-P",), "fiets weg")
    )
    await store.conduct.add_strike(Strike(ROOM, ANNA, ts, "chat", "@bot:x", f"$s{tag}"))
    await store.audit.record(AuditEntry("@bea:x", "warn", ROOM, ANNA, "chat", ts=ts))
    await store.members.apply(
        ROOM,
        [
            MemberChange(f"@m{tag}:x", True, ts - DAY, f"$j{tag}"),
            MemberChange(f"@m{tag}:x", False, ts),
        ],
    )


async def purge(store: Store, settings: RetentionSettings, window_days: int = 30) -> dict:
    inputs = RetentionInputs(NOW, settings, window_days * 86_400)
    async with store.db.transaction() as conn:
        return await store.governance.purge(conn, inputs)


async def test_each_kind_is_purged_exactly_at_its_cut_off(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "bot.sqlite3")
    try:
        await store.rooms.joined(ROOM, RoomRole.WATCH, "Noord")
        settings = RetentionSettings(
            incident_excerpt_days=180, audit_days=365, member_history_days=400
        )
        for age, tag in [(29.9, "a"), (30.1, "b"), (179.9, "c"), (180.1, "d"), (364.9, "e"),
                         (365.1, "f"), (399.9, "g"), (400.1, "h")]:  # fmt: skip
            await fill(store, age, tag)
        counts = await purge(store, settings)
        assert counts == {
            "incident_excerpts": 5,
            "strikes": 7,
            "audit": 3,
            "member_history": 1,
            "join_requests": 0,
            "acceptances": 0,
            "alarm_test_reads": 0,
            "invitation_codes": 0,
            "handled_events": 0,
        }
        kept = {r["event_id"]: r for r in await store.db.fetchall("SELECT * FROM incidents")}
        assert len(kept) == 8, "incidents stay as numbers"
        assert kept["$ic"]["excerpt"] == "fiets weg" and kept["$ic"]["sender"] == ANNA
        assert kept["$id"]["excerpt"] == "" and kept["$id"]["sender"] == ""
        assert kept["$id"]["plates"] == "[]" and kept["$id"]["category"] == "theft"
        strikes = await store.db.fetchall("SELECT event_id FROM strikes")
        assert [r["event_id"] for r in strikes] == ["$sa"]
        assert len(await store.audit.recent(limit=100)) == 5
        members = await store.db.fetchall("SELECT user_id FROM member_history")
        assert "@mh:x" not in {r["user_id"] for r in members} and len(members) == 7
        assert (await purge(store, settings))["incident_excerpts"] == 0, "idempotent"
    finally:
        await store.close()


async def test_erasure_reports_counts_per_kind(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "bot.sqlite3")
    try:
        await fill(store, 1, "a")
        await store.members.apply(ROOM, [MemberChange(ANNA, True, NOW, "$anna-join")])
        await store.direct.save(ANNA, "!dm:x")
        counts = await store.governance.erase_user(ANNA)
        assert counts == {
            "incidents": 1, "strikes": 1, "memberships": 1, "audit": 1, "direct_rooms": 1,
            "join_requests": 0, "acceptances": 0, "face_tips": 0, "alarm_test_reads": 0,
            "invitation_codes": 0,
        }  # fmt: skip
        row = await store.db.fetchone("SELECT * FROM incidents")
        assert row["sender"] == "" and row["excerpt"] == "" and row["category"] == "theft"
        [entry] = await store.audit.recent()
        assert entry.target is None and entry.reason is None and entry.action == "warn"
        assert await store.governance.erase_user(ANNA) == dict.fromkeys(counts, 0)
    finally:
        await store.close()
