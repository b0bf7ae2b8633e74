"""Member history: stints from membership events, replay-safe, with counts at past times."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from bot.membership import member_changes
from bot.store import Store
from bot.store.members import MemberChange

ROOM = "!noord:example.org"
BOT = "@buurtbot:example.org"
DAY = 86_400_000


def member_event(user: str, membership: str, ts: int, event_id: str) -> SimpleNamespace:
    return SimpleNamespace(
        source={
            "type": "m.room.member",
            "state_key": user,
            "sender": user,
            "event_id": event_id,
            "origin_server_ts": ts,
            "content": {"membership": membership},
        }
    )


async def test_join_leave_and_rejoin_give_counts_at_past_times(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "bot.sqlite3")
    try:
        members = store.members
        await members.apply(
            ROOM,
            [
                MemberChange("@anna:x", True, 1 * DAY, "$a1"),
                MemberChange("@bert:x", True, 2 * DAY, "$b1"),
                MemberChange("@anna:x", False, 5 * DAY, "$a2"),
                MemberChange("@anna:x", True, 8 * DAY, "$a3"),
            ],
        )
        assert await members.members(ROOM) == ["@anna:x", "@bert:x"]
        assert await members.members(ROOM, at=3 * DAY) == ["@anna:x", "@bert:x"]
        assert await members.members(ROOM, at=6 * DAY) == ["@bert:x"]
        assert await members.members(ROOM, at=0) == []
        assert await members.counts(at=6 * DAY) == {ROOM: 1}
        assert await members.joined_since(2 * DAY) == {ROOM: 2}  # bert, anna's return
        assert await members.joined_since(2 * DAY, until=3 * DAY) == {ROOM: 1}
        assert len(await members.stints(0, 10 * DAY)) == 3
    finally:
        await store.close()


async def test_replaying_a_batch_or_stale_events_changes_nothing(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "bot.sqlite3")
    try:
        batch = [
            MemberChange("@anna:x", True, 1 * DAY, "$a1"),
            MemberChange("@anna:x", False, 2 * DAY, "$a2"),
        ]
        await store.members.apply(ROOM, batch)
        await store.members.apply(ROOM, batch)  # crash before the sync token was stored
        await store.members.apply(ROOM, [MemberChange("@anna:x", True, DAY // 2, "$old")])
        assert await store.members.members(ROOM) == []
        assert len(await store.members.stints(0, 10 * DAY)) == 1
    finally:
        await store.close()


async def test_full_state_closes_members_who_left_while_the_bot_was_down(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "bot.sqlite3")
    try:
        await store.members.apply(
            ROOM,
            [MemberChange("@anna:x", True, DAY, "$a1"), MemberChange("@bert:x", True, DAY, "$b1")],
        )
        await store.members.apply(
            ROOM, [MemberChange("@bert:x", True, DAY, "$b1")], complete=True, now=4 * DAY
        )
        assert await store.members.members(ROOM) == ["@bert:x"]
        assert await store.members.members(ROOM, at=3 * DAY) == ["@anna:x", "@bert:x"]
        assert await store.members.room_closed(ROOM, 5 * DAY) == 1
        assert await store.members.counts() == {}
        assert await store.members.erase_user("@anna:x") == 1
        assert await store.members.purge_left_before(6 * DAY) == 1
    finally:
        await store.close()


def test_member_changes_skip_the_bot_and_malformed_events() -> None:
    events = [
        member_event("@anna:x", "join", 10, "$1"),
        member_event(BOT, "join", 11, "$2"),
        member_event("@bert:x", "ban", 12, "$3"),
        SimpleNamespace(source={"type": "m.room.member", "state_key": 5, "content": {}}),
        SimpleNamespace(source={"type": "m.room.member", "state_key": "@c:x", "content": "x"}),
        SimpleNamespace(source={"type": "m.room.message", "content": {"body": "hoi"}}),
        SimpleNamespace(),
    ]
    assert member_changes(events, BOT) == [
        MemberChange("@anna:x", True, 10, "$1"),
        MemberChange("@bert:x", False, 12, "$3"),
    ]


async def test_a_batch_closes_recorded_stints_and_records_short_ones_whole(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "bot.sqlite3")
    try:
        members = store.members
        everyone = [MemberChange(f"@m{i}:x", True, DAY, f"$j{i}") for i in range(250)]
        await members.apply(ROOM, everyone, complete=True, now=DAY)
        await members.apply(
            ROOM,
            [
                MemberChange("@m0:x", False, 2 * DAY, "$l0"),
                MemberChange("@m0:x", True, 3 * DAY, "$r0"),
                MemberChange("@m0:x", False, 4 * DAY, "$l1"),
                MemberChange("@new:x", True, 3 * DAY),
                MemberChange("@new:x", False, 5 * DAY),
            ],
        )
        await members.apply(ROOM, everyone[1:], complete=True, now=6 * DAY)  # a restart
        assert await members.counts() == {ROOM: 249}
        assert await members.members(ROOM, at=3 * DAY + 1) == sorted(
            ["@m0:x", "@new:x", *(f"@m{i}:x" for i in range(1, 250))]
        )
        assert "@m0:x" not in await members.members(ROOM, at=2 * DAY + 1)
        assert len(await members.stints(0, 10 * DAY)) == 252
    finally:
        await store.close()
