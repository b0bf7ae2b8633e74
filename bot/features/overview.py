"""``!overzicht``: the municipality's list of watch groups, the spreadsheet it keeps by hand.

Each column comes from one small read (labels, member history, power levels, join requests,
incidents, the gate switch), all taken once per command for every room, so a page of 25 rooms
costs a handful of queries, not a hundred.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from bot.domain.commands import CommandCall
from bot.domain.formatting import mention_html
from bot.domain.groups import moderators
from bot.domain.paging import page_of
from bot.features.base import Context, Feature, coordination_command
from bot.features.groups import room_link
from bot.features.reports import ReportsFeature
from bot.i18n.catalog import Markup
from bot.services import Services
from bot.store.bulletins import BulletinRepository
from bot.store.reports import IncidentSummary, incident_summary
from bot.store.rooms import KnownRoom, RoomRole

WINDOW_DAYS = 30
DAY_MS = 86_400_000


class OverviewFeature(Feature):
    name = "overview"

    def __init__(self, services: Services, reports: ReportsFeature) -> None:
        super().__init__(services)
        self.reports = reports

    @coordination_command(
        "overzicht",
        "overview",
        help="help.overzicht",
        usage="usage.overzicht",
    )
    async def overview(self, ctx: Context, call: CommandCall) -> None:
        arg = call.args.strip()
        if arg.casefold() in ("week", "weekly"):
            # The weekly picture is the digest, asked for now: one place renders it.
            await self.reports.digest_now(ctx, call)
            return
        if arg and not arg.isdigit():
            await ctx.reply(ctx.t("overview.usage"))
            return
        client = self.services.client
        rooms = sorted(
            await self.services.store.rooms.list(RoomRole.WATCH),
            key=lambda room: (self._name(room).casefold(), room.room_id),
        )
        size = self.services.settings.groups.overview_page_size
        page = page_of(len(rooms), int(arg or 1), size)
        if page is None:
            pages = page_of(len(rooms), 1, size)
            await ctx.reply(ctx.t("overview.no_page", page=arg, pages=pages.pages if pages else 1))
            return
        if not rooms:
            await ctx.reply(ctx.t("overview.empty"))
            return
        shown = rooms[page.start : page.end]
        ids = [room.room_id for room in shown]
        since = int(time.time() * 1000) - WINDOW_DAYS * DAY_MS
        store = self.services.store
        labels = await BulletinRepository(store.db).labels_by_room()
        members = await store.members.counts(room_ids=ids)
        newcomers = await store.members.joined_since(since, room_ids=ids)
        requests = await store.admission.open_count_by_room()
        incidents = await incident_summary(store.db, since)
        gated = await store.gate.enabled_rooms()
        items = []
        for room in shown:
            rid = room.room_id
            items.append(
                ctx.t(
                    "overview.item",
                    name=self._name(room),
                    link=room_link(rid, client.canonical_alias(rid)),
                    labels=" ".join(f"#{label}" for label in labels.get(rid, ())),
                    members=members.get(rid, 0),
                    new=newcomers.get(rid, 0),
                    moderators=self._moderators(ctx, rid),
                    requests=requests.get(rid, 0),
                    incidents=self._incidents(ctx, incidents.get(rid)),
                    gate=ctx.t("overview.gate_on" if rid in gated else "overview.gate_off").plain,
                ).html
            )
        more = ctx.t("overview.next", page=page.number + 1).html if page.has_next else ""
        await ctx.reply(
            ctx.t(
                "overview.list",
                count=len(rooms),
                page=page.number,
                pages=page.pages,
                start=page.start + 1,
                items=Markup("".join(items)),
                more=Markup(more),
                days=WINDOW_DAYS,
            ),
            "overview",
        )

    def _name(self, room: KnownRoom) -> str:
        live = self.services.client.room_name(room.room_id)
        return room.name if live == room.room_id and room.name else live

    def _moderators(self, ctx: Context, room_id: str) -> Markup:
        client = self.services.client
        names = client.members(room_id)
        found = moderators(
            client.room_power(room_id),
            client.joined_members(room_id),
            self.services.settings.moderator_power_level,
            client.user_id,
        )
        if not found:
            return Markup(ctx.t("overview.no_moderators").html)
        return Markup(
            ", ".join(
                f"{mention_html(uid, names.get(uid) or uid)} ({mention_html(uid, uid)})"
                for uid in found
            )
        )

    def _incidents(self, ctx: Context, summary: IncidentSummary | None) -> str:
        if summary is None or summary.last_ts is None:
            return ctx.t("overview.incidents_none", days=WINDOW_DAYS).plain
        last = datetime.fromtimestamp(summary.last_ts / 1000, tz=UTC).astimezone()
        return ctx.t(
            "overview.incidents",
            recent=summary.recent,
            days=WINDOW_DAYS,
            last=last.strftime("%d-%m-%Y"),
        ).plain
