"""The gate's store: the switch, pending members, and acceptances kept as retention allows."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.store import Store
from bot.store.database import now_ms


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(tmp_path / "bot.sqlite3")
    yield opened
    await opened.close()


async def test_the_switch_is_off_until_set_and_survives_a_reopen(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "bot.sqlite3")
    assert not await store.gate.enabled("!w")
    await store.gate.set_enabled("!w", True, "@bea:x")
    assert await store.gate.enabled("!w")
    await store.close()
    store = await Store.open(tmp_path / "bot.sqlite3")
    try:
        assert await store.gate.enabled("!w")
        await store.gate.set_enabled("!w", False)
        assert not await store.gate.enabled("!w")
    finally:
        await store.close()


async def test_accepting_ends_pending_and_any_version_counts(store: Store) -> None:
    assert await store.gate.add_pending("!w", "@jan:x")
    assert not await store.gate.add_pending("!w", "@jan:x")
    await store.gate.set_greeting("!w", "@jan:x", "!dm", "$greeting")
    assert (await store.gate.pending_by_greeting("$greeting")).user_id == "@jan:x"  # type: ignore[union-attr]
    await store.gate.accept("!w", "@jan:x", "v1", "command", "$akkoord")
    assert await store.gate.pending("!w", "@jan:x") is None
    assert await store.gate.has_accepted("!w", "@jan:x")
    [row] = await store.gate.acceptances("!w", "@jan:x")
    assert (row.rules_version, row.via, row.left_at) == ("v1", "command", None)


async def test_leaving_starts_the_retention_clock(store: Store) -> None:
    await store.gate.accept("!w", "@jan:x", "v1", "reaction", "$r")
    await store.gate.add_pending("!w", "@piet:x")
    left = now_ms() - 31 * 86400 * 1000
    await store.gate.left("!w", "@jan:x", ts=left)
    await store.gate.left("!w", "@piet:x")
    assert await store.gate.pending("!w", "@piet:x") is None
    [row] = await store.gate.acceptances("!w", "@jan:x")
    assert row.left_at == left
    # Still a member elsewhere or left recently: kept; left more than 30 days ago: purged.
    await store.gate.accept("!other", "@jan:x", "v1", "command", None)
    assert await store.gate.purge_acceptances(now_ms() - 30 * 86400 * 1000) == 1
    assert await store.gate.acceptances("!w", "@jan:x") == []
    assert await store.gate.has_accepted("!other", "@jan:x")
