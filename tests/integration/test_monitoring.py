"""The operator's endpoint on real Synapse: /healthz follows syncing, /metrics has the figures.

This test stops its homeserver, so it runs its own Synapse instead of the session's one.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import aiohttp

from bot.app import Bot
from bot.devserver.synapse import LocalSynapse
from bot.settings import load_settings
from tests.integration.conftest import RELAXED_LIMITS, eventually


async def get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as http:
        try:
            async with http.get(url, timeout=aiohttp.ClientTimeout(total=5)) as response:
                return response.status, await response.text()
        except aiohttp.ClientError as exc:
            return 0, str(exc)


async def test_healthz_answers_while_syncing_and_fails_when_the_homeserver_stops(
    tmp_path: Path,
) -> None:
    synapse = LocalSynapse(tmp_path / "synapse", extra_config=RELAXED_LIMITS)
    await synapse.start()
    bot_task = None
    try:
        account = await synapse.register("buurtbot")
        settings = load_settings(
            homeserver=synapse.url,
            user_id=account.user_id,
            password=account.password,
            data_dir=tmp_path / "bot",
            sync_timeout_ms=1000,
            monitoring={"http_enabled": True, "http_port": 0, "healthy_sync_age_s": 4},
        )
        bot = Bot(settings)
        bot_task = asyncio.create_task(bot.run())
        await asyncio.wait_for(bot.ready.wait(), timeout=60)
        assert bot.monitor is not None and bot.monitor.port
        base = f"http://127.0.0.1:{bot.monitor.port}"

        status, text = await eventually(
            lambda: _with_status(f"{base}/healthz", 200), "healthz 200 while syncing"
        )
        assert '"ok"' in text
        status, metrics = await get(f"{base}/metrics")
        assert status == 200
        for name in (
            "buurtbot_events_handled_total",
            "buurtbot_sync_lag_seconds",
            "buurtbot_inbox_backlog",
            "buurtbot_bulletin_delivery_seconds_bucket",
            'buurtbot_rooms{role="watch"}',
        ):
            assert name in metrics, name

        await synapse.stop()
        status, text = await eventually(
            lambda: _with_status(f"{base}/healthz", 503), "healthz 503", wait_s=30
        )
        assert "sync stale" in text
        bot.stop()
        await asyncio.wait_for(bot_task, timeout=30)
    finally:
        if bot_task is not None and not bot_task.done():
            bot_task.cancel()
            with contextlib.suppress(BaseException):
                await bot_task
        await synapse.stop()


async def _with_status(url: str, wanted: int) -> tuple[int, str] | None:
    status, text = await get(url)
    return (status, text) if status == wanted else None
