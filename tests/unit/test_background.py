"""Shutdown of background tasks: nothing keeps running, one broken task does not block the rest."""

from __future__ import annotations

import asyncio

import pytest

from bot.background import cancel_and_wait


async def test_running_tasks_have_ended_when_it_returns() -> None:
    ticks: list[int] = []

    async def timer() -> None:
        while True:
            ticks.append(1)
            await asyncio.sleep(0.01)

    tasks = [asyncio.create_task(timer()) for _ in range(3)]
    await asyncio.sleep(0.03)
    await cancel_and_wait([*tasks, None])
    assert all(task.done() for task in tasks)
    seen = len(ticks)
    await asyncio.sleep(0.03)
    assert len(ticks) == seen, "a task kept working after shutdown"


async def test_a_task_that_already_failed_is_logged_and_the_others_still_stop(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken() -> None:
        raise RuntimeError("disk gone")

    failed = asyncio.create_task(broken(), name="mute timer")
    healthy = asyncio.create_task(asyncio.sleep(3600))
    await asyncio.sleep(0)
    await cancel_and_wait([failed, healthy])
    assert healthy.cancelled()
    assert "mute timer" in caplog.text and "disk gone" in caplog.text
