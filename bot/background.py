"""Stopping the bot's background tasks (sync, room workers, timers, the bulletin outbox)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

log = logging.getLogger(__name__)


async def cancel_and_wait(tasks: Iterable[asyncio.Task[Any] | None]) -> None:
    """Cancel the tasks and wait until each has really ended.

    Shutdown must not return while a task can still write to the store or the homeserver: the
    database closes next. A task that had already died of an error is logged, not re-raised, so
    one broken timer cannot stop the others from being shut down.
    """
    running = [task for task in tasks if task is not None]
    for task in running:
        task.cancel()
    for task, outcome in zip(
        running, await asyncio.gather(*running, return_exceptions=True), strict=True
    ):
        if isinstance(outcome, Exception):
            log.error("background task %s had failed: %r", task.get_name(), outcome)
