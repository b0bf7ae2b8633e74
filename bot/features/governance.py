"""Data governance: the nightly retention purge on the shared scheduler.

The purge runs once per local day (``retention.purge_time``), inside the scheduler's
transaction, so its deletions and its run key commit together. It logs counts per data kind,
never contents.
"""

from __future__ import annotations

import logging

import aiosqlite

from bot.features.base import Feature
from bot.features.conduct import ConductFeature
from bot.scheduler import Commit, Daily
from bot.services import Services
from bot.store.governance import RetentionInputs

log = logging.getLogger(__name__)


class RetentionPurge:
    name = "purge"
    max_delay_ms: int | None = None  # a missed purge is always worth catching up

    def __init__(self, services: Services, conduct: ConductFeature) -> None:
        self.services = services
        self.conduct = conduct
        settings = services.settings
        self.schedule = Daily(settings.retention.purge_time, settings.reports.tz)

    def strike_window_s(self) -> int:
        """The longest strike window any room uses: older strikes count nowhere."""
        book = self.conduct.book
        return max(rules.ladder.strike_window_s for rules in [book.default, *book.rooms.values()])

    async def run(self, period: str, due_ms: int) -> Commit:
        inputs = RetentionInputs(
            self.services.scheduler.clock(),
            self.services.settings.retention,
            self.strike_window_s(),
        )

        async def commit(conn: aiosqlite.Connection) -> None:
            counts = await self.services.store.governance.purge(conn, inputs)
            log.info(
                "retention purge %s: %s",
                period,
                ", ".join(f"{kind} {n}" for kind, n in counts.items()),
            )

        return commit


class GovernanceFeature(Feature):
    name = "governance"

    def __init__(self, services: Services, conduct: ConductFeature) -> None:
        super().__init__(services)
        self.purge = RetentionPurge(services, conduct)
        services.scheduler.add(self.purge)
