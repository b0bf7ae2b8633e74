"""The store: migrations that never lose data, the durable inbox, the room registry."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot.store import Store
from bot.store.database import Database, DatabaseError, Migration, bundled_migrations
from bot.store.rooms import RoomRole
from bot.store.state import Session


async def test_fresh_database_is_fully_migrated_and_in_wal_mode(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "bot.sqlite3")
    try:
        assert await store.db.schema_version() == len(bundled_migrations())
        row = await store.db.fetchone("PRAGMA journal_mode")
        assert row is not None and row[0] == "wal"
        assert await store.db.integrity_check() == "ok"
    finally:
        await store.close()


async def test_reopening_keeps_data_and_applies_only_new_migrations(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    first = [Migration(1, "0001_a.sql", "CREATE TABLE notes (text TEXT);")]
    db = await Database.open(path, first)
    await db.execute("INSERT INTO notes VALUES ('bewaar mij')")
    await db.close()

    second = [*first, Migration(2, "0002_b.sql", "ALTER TABLE notes ADD COLUMN author TEXT;")]
    db = await Database.open(path, second)
    try:
        assert await db.schema_version() == 2
        row = await db.fetchone("SELECT text, author FROM notes")
        assert row is not None and row["text"] == "bewaar mij" and row["author"] is None
    finally:
        await db.close()


async def test_failing_migration_leaves_previous_version_intact(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    first = [Migration(1, "0001_a.sql", "CREATE TABLE notes (text TEXT);")]
    db = await Database.open(path, first)
    await db.execute("INSERT INTO notes VALUES ('bewaar mij')")
    await db.close()
    broken = Migration(
        2, "0002_b.sql", "CREATE TABLE extra (x INT); INSERT INTO nowhere VALUES (1);"
    )
    with pytest.raises(DatabaseError, match=r"0002_b\.sql"):
        await Database.open(path, [*first, broken])
    db = await Database.open(path, first)
    try:
        assert await db.schema_version() == 1
        assert await db.fetchone("SELECT name FROM sqlite_master WHERE name = 'extra'") is None
        row = await db.fetchone("SELECT text FROM notes")
        assert row is not None and row["text"] == "bewaar mij"
    finally:
        await db.close()


async def test_newer_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    two = [
        Migration(1, "0001_a.sql", "CREATE TABLE a (x INT);"),
        Migration(2, "0002_b.sql", "CREATE TABLE b (x INT);"),
    ]
    await (await Database.open(path, two)).close()
    with pytest.raises(DatabaseError, match="newer"):
        await Database.open(path, two[:1])


async def test_session_and_sync_token_survive_reopen(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    store = await Store.open(path)
    await store.state.save_session(Session("@bot:x", "DEVICE", "token-secret"))
    await store.inbox.accept_batch("s1_token", [])
    await store.close()
    store = await Store.open(path)
    try:
        session = await store.state.session()
        assert session == Session("@bot:x", "DEVICE", "token-secret")
        assert "token-secret" not in repr(session)
        assert await store.state.sync_token() == "s1_token"
    finally:
        await store.close()


def _event(event_id: str) -> dict[str, object]:
    return {"event_id": event_id, "type": "m.room.message", "content": {"body": "x"}}


async def test_inbox_hands_out_each_event_once(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "bot.sqlite3")
    try:
        added = await store.inbox.accept_batch("t1", [("!r", _event("$a")), ("!r", _event("$b"))])
        assert [i.event_id for i in added] == ["$a", "$b"]
        # The same events again (a repeated sync) are not new.
        assert await store.inbox.accept_batch("t2", [("!r", _event("$a"))]) == []
        await store.inbox.mark_handled(added[0])
        assert await store.inbox.accept_batch("t3", [("!r", _event("$a"))]) == []
        assert [i.event_id for i in await store.inbox.pending()] == ["$b"]
        assert await store.state.sync_token() == "t3"
    finally:
        await store.close()


async def test_room_registry_roles_and_leaving(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "bot.sqlite3")
    try:
        await store.rooms.joined("!w", RoomRole.WATCH, "Noord")
        await store.rooms.joined("!c", RoomRole.COORDINATION)
        await store.rooms.left("!w")
        assert [r.room_id for r in await store.rooms.list(RoomRole.WATCH)] == []
        known = await store.rooms.get("!w")
        assert known is not None and not known.joined and known.name == "Noord"
        await store.rooms.joined("!w", RoomRole.WATCH)
        rejoined = await store.rooms.get("!w")
        assert rejoined is not None and rejoined.joined and rejoined.name == "Noord"
    finally:
        await store.close()


async def test_full_disk_loses_nothing_and_recovers(tmp_path: Path) -> None:
    """A full disk makes a batch fail as a whole: the token stays, nothing half-written."""
    store = await Store.open(tmp_path / "bot.sqlite3")
    try:
        await store.inbox.accept_batch("t1", [("!r", _event("$first"))])
        row = await store.db.fetchone("PRAGMA page_count")
        assert row is not None
        await store.db.execute(f"PRAGMA max_page_count = {row[0]}")  # the disk is now full
        big = [("!r", {**_event(f"$e{n}"), "content": {"body": "x" * 4000}}) for n in range(50)]
        with pytest.raises(sqlite3.OperationalError, match="full"):
            await store.inbox.accept_batch("t2", big)
        assert await store.state.sync_token() == "t1", "the batch must be fetched again"
        assert [i.event_id for i in await store.inbox.pending()] == ["$first"]

        await store.db.execute("PRAGMA max_page_count = 1073741823")  # space freed
        added = await store.inbox.accept_batch("t2", big)
        assert len(added) == 50 and await store.state.sync_token() == "t2"
        assert await store.db.integrity_check() == "ok"
    finally:
        await store.close()
