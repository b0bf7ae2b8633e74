"""Figures people look at: ``!stats`` in chat and the weekly digest with its chart.

Both read through ``bot/reports/queries.py`` (the export does too), so a figure never differs
between chat and export. A watch room only ever sees its own figures; the coordination room
sees every watch room side by side, the totals and the programme's trend.

The digest runs on the shared scheduler once per ISO week (``digest:2026-W49``), reporting on
the last complete Monday–Sunday week (Europe/Amsterdam by default) against the week before.
Its sends use transaction IDs derived from the run key, and the run key is committed with the
digest's figures, so neither a restart nor a crash makes it post twice.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from datetime import timedelta

import aiosqlite

from bot.domain.commands import CommandCall
from bot.domain.formatting import Rich, event_link
from bot.domain.periods import IsoWeek, days_window, last_complete_week, local, week_of
from bot.features.base import Context, Feature, Permission, Where, command
from bot.i18n.catalog import Language, Markup, t
from bot.matrix.client import txn_id
from bot.reports.chart import Chart, incidents_chart
from bot.reports.digest import Digest, build, busiest
from bot.reports.queries import ReportQueries, RoomFigures, TrendPoint
from bot.scheduler import Commit, Weekly
from bot.services import Services
from bot.store.rooms import RoomRole

log = logging.getLogger(__name__)

DEFAULT_DAYS = 7
URGENT_LISTED = 15  # one message must stay readable; !meldingen and the export have the rest
# After downtime the digest still goes out within a day of its moment; later it is skipped.
DIGEST_MAX_DELAY_MS = 24 * 3_600_000
CATEGORIES = (
    "burglary", "suspicious", "fraud", "vandalism", "theft", "vehicle_crime",
    "robbery", "violence", "fire", "drugs", "missing_person",
)  # fmt: skip
Tr = Callable[..., Rich]


class ReportsFeature(Feature):
    name = "reports"

    def __init__(self, services: Services) -> None:
        super().__init__(services)
        self.queries = ReportQueries(services.store, services.client.user_id)
        settings = services.settings.reports
        self.tz = settings.tz
        if settings.digest_enabled:
            services.scheduler.add(WeeklyDigest(self))

    def now(self) -> int:
        return self.services.scheduler.clock()

    # -- !stats --------------------------------------------------------------------------

    @command(
        "stats",
        "statistiek",
        help="help.stats",
        usage="usage.stats",
        permission=Permission.MODERATOR,
    )
    async def stats(self, ctx: Context, call: CommandCall) -> None:
        limit = self.services.settings.reports.stats_max_days
        words = call.args.split()
        days = int(words[0]) if len(words) == 1 and words[0].isdigit() else None
        if words and (days is None or not 1 <= days <= limit):
            await ctx.reply(ctx.t("stats.invalid_days", given=call.args, max=limit))
            return
        days = days or DEFAULT_DAYS
        window = days_window(self.now(), days, self.tz)
        if ctx.role is RoomRole.WATCH:
            [room] = await self.queries.room_figures(window, [ctx.message.room_id])
            await ctx.reply(self._room_stats(ctx.t, room, days))
        elif ctx.role is RoomRole.COORDINATION:
            rooms = await self.queries.room_figures(window)
            trend = await self.queries.trend(self.now())
            await ctx.reply(self._all_stats(ctx.t, rooms, trend, days))
        else:
            await ctx.reply(ctx.t("command.wrong_room.any", name=call.name))

    def _room_stats(self, tr: Tr, room: RoomFigures, days: int) -> Rich:
        return tr(
            "stats.room",
            room=room.name,
            days=days,
            incidents=room.incident_total,
            urgent=room.urgent,
            categories=self._category_list(tr, room.incidents),
            members=room.members,
            new_members=room.new_members,
            moderation=room.moderation_total,
            bulletins=room.bulletins,
        )

    def _all_stats(
        self, tr: Tr, rooms: list[RoomFigures], trend: list[TrendPoint], days: int
    ) -> Rich:
        items = (
            "".join(
                tr(
                    "stats.all_item",
                    room=room.name,
                    incidents=room.incident_total,
                    urgent=room.urgent,
                    members=room.members,
                    new_members=room.new_members,
                    moderation=room.moderation_total,
                    bulletins=room.bulletins,
                ).html
                for room in rooms
            )
            or tr("stats.no_rooms").html
        )
        points = [
            tr("stats.trend_now" if p.days_ago == 0 else "stats.trend_ago", days=p.days_ago,
               groups=p.groups, members=p.members).plain
            for p in trend
        ]  # fmt: skip
        return tr(
            "stats.all",
            days=days,
            items=Markup(items),
            incidents=sum(r.incident_total for r in rooms),
            urgent=sum(r.urgent for r in rooms),
            members=sum(r.members for r in rooms),
            new_members=sum(r.new_members for r in rooms),
            moderation=sum(r.moderation_total for r in rooms),
            bulletins=sum(r.bulletins for r in rooms),
            trend=" · ".join(points),
        )

    def _category_list(self, tr: Tr, counts: dict[str, int]) -> str:
        listed = ", ".join(
            f"{tr(f'category.{c}').plain} {n}" for c, n in sorted(counts.items(), key=_busiest)
        )
        return f" – {listed}" if listed else ""

    # -- the digest ----------------------------------------------------------------------

    @command(
        "weekoverzicht", "digest", help="help.weekoverzicht", permission=Permission.POLICE,
        where=Where.COORDINATION,
    )  # fmt: skip
    async def digest_now(self, ctx: Context, call: CommandCall) -> None:
        """On demand: the digest of the last complete week (what Monday's post shows)."""
        digest = await build(self.queries, last_complete_week(self.now(), self.tz), self.tz)
        await self.post(ctx.message.room_id, digest, ctx.language, ctx.message.event_id)

    async def post(
        self, room_id: str, digest: Digest, language: Language, purpose: str
    ) -> tuple[str, str]:
        """Send the text, then the chart; idempotent per ``purpose`` (a run key or event)."""
        client = self.services.client
        text = self.render(digest, language)
        text_id = await client.send_message(room_id, text, txn_id(purpose, "digest-text"))
        # Drawing takes seconds for many rooms: never on the event loop that syncs.
        chart = await asyncio.to_thread(self.chart, digest, language)
        alt = self._tr(language)(
            "digest.chart_alt", week=digest.week.week, previous=digest.week.previous().week
        ).plain
        image_id = await client.send_image(
            room_id,
            chart.png,
            filename=f"weekoverzicht-{digest.week.key}.png",
            width=chart.width,
            height=chart.height,
            alt_text=alt,
            txn=txn_id(purpose, "digest-image"),
        )
        return text_id, image_id

    def _tr(self, language: Language) -> Tr:
        return lambda key, **args: t(key, language, **args)

    def render(self, digest: Digest, language: Language) -> Rich:
        tr, figures = self._tr(language), digest.figures
        monday = digest.week.monday
        parts = [
            tr(
                "digest.title",
                week=digest.week.week,
                start=monday.strftime("%d-%m"),
                end=(monday + timedelta(days=6)).strftime("%d-%m-%Y"),
            )
        ]
        rooms = (
            "".join(
                tr(
                    "digest.room",
                    room=room["name"],
                    this=sum(room["this_week"].values()),
                    last=sum(room["last_week"].values()),
                    categories=self._category_pairs(tr, room["this_week"], room["last_week"]),
                ).html
                for room in figures["rooms"]
            )
            or tr("digest.no_rooms").html
        )
        parts.append(tr("digest.rooms", items=Markup(rooms)))
        hours = (
            ", ".join(
                tr("digest.hour", start=f"{h:02d}", end=f"{(h + 1) % 24:02d}", count=n).plain
                for h, n in busiest(figures["hours"])
            )
            or tr("digest.no_hours").plain
        )
        parts.append(tr("digest.hours", hours=hours))
        urgent = "".join(
            tr(
                "digest.urgent_item",
                time=local(row.ts, self.tz).strftime("%d-%m %H:%M"),
                room=row.room_name,
                category=tr(f"category.{row.category}").plain,
                link=event_link(row.room_id, row.event_id),
            ).html
            for row in digest.urgent[:URGENT_LISTED]
        )
        if len(digest.urgent) > URGENT_LISTED:
            urgent += tr("digest.urgent_more", count=len(digest.urgent) - URGENT_LISTED).html
        parts.append(tr("digest.urgent", count=figures["urgent"], items=Markup(urgent)))
        moderation = figures["moderation"]
        details = ", ".join(f"{tr(f'digest.action.{a}').plain} {n}" for a, n in moderation.items())
        parts.append(
            tr(
                "digest.moderation",
                count=sum(moderation.values()),
                details=f" ({details})" if details else "",
            )
        )
        bulletins = figures["bulletins"]
        parts.append(
            tr(
                "digest.bulletins",
                sent=bulletins["sent"],
                rooms=bulletins["rooms_reached"],
                failed=bulletins["rooms_failed"],
                members=bulletins["members_reached"],
            )
        )
        return Rich.from_html("".join(part.html for part in parts))

    def chart(self, digest: Digest, language: Language) -> Chart:
        tr, rooms = self._tr(language), digest.figures["rooms"]
        return incidents_chart(
            [room["name"] for room in rooms],
            {c: tr(f"category.{c}").plain for c in CATEGORIES},
            [room["this_week"] for room in rooms],
            [room["last_week"] for room in rooms],
            {
                "title": tr(
                    "digest.chart_title",
                    week=digest.week.week,
                    previous=digest.week.previous().week,
                ).plain,
                "this_week": tr("digest.this_week").plain,
                "last_week": tr("digest.last_week").plain,
                "count": tr("digest.count").plain,
            },
        )

    def _category_pairs(self, tr: Tr, this: dict[str, int], last: dict[str, int]) -> str:
        pairs = ", ".join(
            tr(
                "digest.category",
                name=tr(f"category.{c}").plain,
                this=this.get(c, 0),
                last=last.get(c, 0),
            ).plain
            for c in CATEGORIES
            if this.get(c) or last.get(c)
        )
        return f" – {pairs}" if pairs else ""


class WeeklyDigest:
    """The scheduled job: once per ISO week at the configured local weekday and time."""

    name = "digest"
    max_delay_ms: int | None = DIGEST_MAX_DELAY_MS

    def __init__(self, feature: ReportsFeature) -> None:
        self.feature = feature
        settings = feature.services.settings.reports
        self.schedule = Weekly(settings.digest_weekday, settings.digest_time, feature.tz)

    async def run(self, period: str, due_ms: int) -> Commit:
        feature, services = self.feature, self.feature.services
        week: IsoWeek = week_of(due_ms, feature.tz).previous()
        digest = await build(feature.queries, week, feature.tz)
        room = services.coordination_room_id
        ids: tuple[str | None, str | None] = (None, None)
        if room is not None and room in services.client.joined_room_ids():
            ids = await feature.post(room, digest, services.settings.language, f"digest:{period}")
        else:
            log.warning("no joined coordination room: digest %s kept, not posted", week.key)

        async def commit(conn: aiosqlite.Connection) -> None:
            await conn.execute(
                "INSERT OR REPLACE INTO digests (week, run_key, figures, event_id, "
                "image_event_id, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    week.key,
                    f"{self.name}:{period}",
                    json.dumps(digest.figures, ensure_ascii=False),
                    *ids,
                    feature.now(),
                ),
            )

        return commit


def _busiest(item: tuple[str, int]) -> tuple[int, str]:
    return -item[1], item[0]
