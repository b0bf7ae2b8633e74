"""The join-request table: one open request per person and room, decided exactly once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.store import Store
from bot.store.admission import Source, Status


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(tmp_path / "bot.sqlite3")
    yield opened
    await opened.close()


async def test_a_repeated_knock_is_the_same_request(store: Store) -> None:
    first, new = await store.admission.request(
        "!w", "@jan:x", Source.KNOCK, "$k1", "Jan", "ik woon op nummer 3"
    )
    again, new_again = await store.admission.request("!w", "@jan:x", Source.KNOCK, "$k2")
    replayed, new_replay = await store.admission.request("!w", "@jan:x", Source.KNOCK, "$k1")
    assert new and not new_again and not new_replay
    assert again.id == first.id == replayed.id
    assert first.reason == "ik woon op nummer 3" and first.is_open
    assert await store.admission.open_count_by_room() == {"!w": 1}


async def test_two_moderators_at_once_decide_exactly_once(store: Store) -> None:
    request, _ = await store.admission.request("!w", "@jan:x", Source.KNOCK, "$k")
    results = await asyncio.gather(
        store.admission.decide(request.id, Status.ACCEPTED, "@bea:x"),
        store.admission.decide(request.id, Status.DECLINED, "@piet:x", "onbekend"),
    )
    assert sorted(results) == [False, True]
    decided = await store.admission.get(request.id)
    assert decided is not None and not decided.is_open
    assert (decided.status, decided.decided_by) in {
        (Status.ACCEPTED, "@bea:x"),
        (Status.DECLINED, "@piet:x"),
    }
    assert await store.admission.open_count_by_room() == {}


async def test_after_a_decision_a_new_knock_is_a_new_request(store: Store) -> None:
    first, _ = await store.admission.request("!w", "@jan:x", Source.KNOCK, "$k1")
    await store.admission.decide(first.id, Status.DECLINED, "@bea:x")
    second, new = await store.admission.request("!w", "@jan:x", Source.KNOCK, "$k2")
    assert new and second.id != first.id
    assert (await store.admission.latest("!w", "@jan:x")) == second


async def test_withdrawal_closes_only_the_open_request(store: Store) -> None:
    request, _ = await store.admission.request("!w", "@jan:x", Source.KNOCK, "$k")
    await store.admission.set_notice(request.id, "!coord", "$notice")
    closed = await store.admission.close_open("!w", "@jan:x", Status.WITHDRAWN, "@jan:x")
    assert closed is not None and closed.status is Status.WITHDRAWN
    assert await store.admission.close_open("!w", "@jan:x", Status.CLEARED, "@jan:x") is None
    assert (await store.admission.by_notice("$notice")) == closed
    # A failed Matrix action reopens; the number stays the same.
    await store.admission.reopen(request.id)
    assert (await store.admission.open_for_user("@jan:x"))[0].id == request.id
