"""The operator's view: Prometheus metrics, ``/healthz``, and structured (JSON) logs.

Metrics are read from what the bot already keeps (the store, the dispatcher's count) on a
short interval, so no feature carries instrumentation code and the figures are the store's
own: incidents by category and urgency, moderation actions, bulletin copies failed and their
delivery latency, rooms by role, the inbox backlog. Sync health and lag are fed by the sync
loop. The HTTP endpoint is off by default and binds to loopback unless configured otherwise.
"""

from __future__ import annotations

import contextvars
import json
import logging
import time
from typing import Any

from aiohttp import web
from nio import SyncResponse
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from bot.reports.queries import MODERATION_ACTIONS
from bot.settings import MonitoringSettings
from bot.store import Store

log = logging.getLogger(__name__)

REFRESH_S = 10.0
LATENCY_BUCKETS = (0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 900)

# The event being handled, for structured logs (set by the dispatcher's room workers).
log_context: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar(
    "log_context", default=None
)


class Monitor:
    """One per bot process; its own registry, so several bots in one process never clash."""

    def __init__(self, settings: MonitoringSettings, store: Store) -> None:
        self.settings = settings
        self.store = store
        self.registry = CollectorRegistry()
        r = self.registry
        self.events = Counter("buurtbot_events_handled", "Events handled.", registry=r)
        self.incidents = Gauge(
            "buurtbot_incidents", "Incidents stored.", ["category", "urgent"], registry=r
        )
        self.moderation = Gauge(
            "buurtbot_moderation_actions", "Moderation actions audited.", ["action"], registry=r
        )
        self.latency = Histogram(
            "buurtbot_bulletin_delivery_seconds",
            "From a bulletin's creation to a copy confirmed in a watch room.",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.failed = Gauge(
            "buurtbot_bulletin_copies_failed", "Bulletin copies that failed.", registry=r
        )
        self.sync_lag = Gauge(
            "buurtbot_sync_lag_seconds", "Now minus the newest synced event's time.", registry=r
        )
        self.last_sync = Gauge(
            "buurtbot_last_sync_timestamp_seconds", "When the last sync succeeded.", registry=r
        )
        self.rooms = Gauge("buurtbot_rooms", "Joined rooms by role.", ["role"], registry=r)
        self.backlog = Gauge(
            "buurtbot_inbox_backlog", "Events synced, not yet handled.", registry=r
        )
        self._last_sync_monotonic: float | None = None
        self._handled_seen = 0
        self._refreshed = 0.0
        self._latency_since = int(time.time() * 1000)
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    # -- fed by the bot ------------------------------------------------------------------

    async def synced(self, response: SyncResponse, handled_total: int) -> None:
        """After every successful sync: health, lag, and (every few seconds) the store."""
        now = time.time()
        self._last_sync_monotonic = time.monotonic()
        self.last_sync.set(now)
        newest = max(
            (
                ts
                for info in response.rooms.join.values()
                for event in info.timeline.events
                if isinstance(ts := getattr(event, "server_timestamp", None), int)
            ),
            default=None,
        )
        if newest is not None:
            self.sync_lag.set(max(0.0, now - newest / 1000))
        if handled_total > self._handled_seen:
            self.events.inc(handled_total - self._handled_seen)
            self._handled_seen = handled_total
        if time.monotonic() - self._refreshed >= REFRESH_S:
            self._refreshed = time.monotonic()
            await self.refresh()

    async def refresh(self) -> None:
        db = self.store.db
        for row in await db.fetchall(
            "SELECT category, urgent, COUNT(*) AS n FROM incidents GROUP BY category, urgent"
        ):
            self.incidents.labels(row["category"], str(bool(row["urgent"])).lower()).set(row["n"])
        marks = ",".join("?" * len(MODERATION_ACTIONS))
        for row in await db.fetchall(
            f"SELECT action, COUNT(*) AS n FROM audit WHERE action IN ({marks}) GROUP BY action",
            MODERATION_ACTIONS,
        ):
            self.moderation.labels(row["action"]).set(row["n"])
        row = await db.fetchone("SELECT COUNT(*) AS n FROM deliveries WHERE state = 'failed'")
        self.failed.set(row["n"] if row else 0)
        for row in await db.fetchall(
            "SELECT d.sent_at, b.created_at FROM deliveries d JOIN bulletins b "
            "ON b.id = d.bulletin_id WHERE d.state = 'sent' AND d.sent_at > ? ORDER BY d.sent_at",
            (self._latency_since,),
        ):
            self.latency.observe(max(0, row["sent_at"] - row["created_at"]) / 1000)
            self._latency_since = row["sent_at"]
        roles = {"watch": 0, "coordination": 0, "direct": 0}
        for row in await db.fetchall(
            "SELECT role, COUNT(*) AS n FROM rooms WHERE left_at IS NULL GROUP BY role"
        ):
            roles[row["role"]] = row["n"]
        for role, count in roles.items():
            self.rooms.labels(role).set(count)
        row = await db.fetchone("SELECT COUNT(*) AS n FROM inbox")
        self.backlog.set(row["n"] if row else 0)

    def healthy(self) -> bool:
        last = self._last_sync_monotonic
        return last is not None and time.monotonic() - last <= self.settings.healthy_sync_age_s

    # -- HTTP ----------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/healthz", self._healthz)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.settings.http_host, self.settings.http_port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        log.info(
            "monitoring on http://%s:%d (/metrics, /healthz)", self.settings.http_host, self.port
        )

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _metrics(self, request: web.Request) -> web.Response:
        return web.Response(
            body=generate_latest(self.registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    async def _healthz(self, request: web.Request) -> web.Response:
        if self.healthy():
            return web.json_response({"status": "ok"})
        last = self._last_sync_monotonic
        age = None if last is None else round(time.monotonic() - last, 1)
        return web.json_response({"status": "sync stale", "last_sync_age_s": age}, status=503)


class JsonFormatter(logging.Formatter):
    """One JSON object per line; the handled event's and room's IDs as fields.

    Only what the log call formats goes in: bodies and secrets never reach a log call at INFO.
    """

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(log_context.get() or {})
        for key in ("event_id", "room_id"):
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)
