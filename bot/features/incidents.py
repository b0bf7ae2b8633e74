"""Incidents: recognise reports in watch rooms, remind of 112, alert the beheerders.

A report gets a quiet 👀 reaction — never a chat reply that buzzes hundreds of phones. A live
("urgent") report that does not say 112 was called gets one threaded SAAR reminder, and every
urgent report is posted to the coordination room with a link. Edits re-classify, redactions
erase. Old records lose their excerpt and sender in the daily retention purge (see
``features/governance.py``). Events from a backlog older than ``stale_after_seconds`` are
recorded only: a reminder about last night helps nobody.

A photo, video or file with a caption is a report like a text (its alert says it has a photo);
a location the reporter shares right after a report (or in its thread) is added to that
incident and its alert, rounded to about 10 m.
"""

from __future__ import annotations

import logging
import re
import time
from datetime import UTC, datetime

from bot.domain.commands import CommandCall
from bot.domain.formatting import Rich, escape, event_link, excerpt
from bot.features.base import Context, Feature, Permission, Where, command
from bot.i18n.catalog import Markup, t
from bot.matrix.client import MatrixError, txn_id
from bot.store.incidents import Incident
from bot.store.rooms import RoomRole

log = logging.getLogger(__name__)

EMERGENCY_NUMBERS = ("112", "101")
# A location shared this soon after the same person's report is taken to be its location.
LOCATION_WINDOW_MS = 10 * 60 * 1000
# What a captioned report came with, as the alert names it ("met foto").
ATTACHMENTS = {"m.image": "image", "m.video": "video", "m.file": "file"}
_NUMBER_ARG = re.compile(r"^\s*(\d{3})\s*$")


def is_stale(event_ts_ms: int, now_ms: int, stale_after_s: int) -> bool:
    return now_ms - event_ts_ms > stale_after_s * 1000


class IncidentsFeature(Feature):
    name = "incidents"

    # -- hooks ---------------------------------------------------------------------------

    async def on_message(self, ctx: Context) -> None:
        if ctx.role is not RoomRole.WATCH:
            return
        if ctx.message.location is not None:
            await self._attach_location(ctx)
            return
        if ctx.message.in_thread:
            return  # thread replies are follow-ups to a report, not new reports
        await self._report(ctx, ctx.message.event_id, ctx.message.ts, existing=None)

    async def on_edit(self, ctx: Context) -> None:
        if ctx.role is not RoomRole.WATCH or ctx.message.target is None:
            return
        original = ctx.message.target
        existing = await self.services.store.incidents.get(original)
        author = existing.sender if existing else await self._sender_of(ctx, original)
        if author != ctx.message.sender:
            log.warning("ignored edit of %s by %s: not the author", original, ctx.message.sender)
            return
        await self._report(ctx, original, existing.ts if existing else ctx.message.ts, existing)

    async def on_redaction(self, ctx: Context) -> None:
        target = ctx.message.target
        if target is None:
            return
        existing = await self.services.store.incidents.get(target)
        if existing is None:
            return
        await self.services.store.incidents.delete(target)
        log.info("incident %s removed after redaction", target)
        await self._withdraw_alert(existing)

    # -- the report flow -----------------------------------------------------------------

    async def _report(
        self, ctx: Context, event_id: str, report_ts: int, existing: Incident | None
    ) -> None:
        settings = self.services.settings.incidents
        verdict = ctx.classification
        store = self.services.store.incidents
        if verdict.category is None:
            if existing is not None:  # edited into something that is not a report
                await store.delete(event_id)
                await self._withdraw_alert(existing)
            return
        incident = Incident(
            room_id=ctx.message.room_id,
            event_id=event_id,
            sender=ctx.message.sender,
            ts=report_ts,
            category=verdict.category,
            urgent=verdict.urgent,
            plates=verdict.plates,
            excerpt=excerpt(ctx.message.body, settings.excerpt_length),
            alert_event_id=existing.alert_event_id if existing else None,
            reminder_event_id=existing.reminder_event_id if existing else None,
            attachment=ATTACHMENTS.get(ctx.message.msgtype)
            or (existing.attachment if existing else None),
            location=existing.location if existing else None,
        )
        log.info(
            "incident %s in %s: %s, urgent=%s, %d plate(s)",
            event_id,
            incident.room_id,
            incident.category,
            incident.urgent,
            len(incident.plates),
        )
        incident = await store.save(incident)
        client = self.services.client
        if existing is None:
            await client.react(
                incident.room_id, event_id, settings.acknowledge_reaction, txn_id(event_id, "ack")
            )
        live = not is_stale(ctx.message.ts, int(time.time() * 1000), settings.stale_after_seconds)
        if not live:
            log.info("incident %s is from the backlog: no reminder, no alert", event_id)
            return
        if incident.urgent and not verdict.police_called and incident.reminder_event_id is None:
            reminder = await client.send_message(
                incident.room_id,
                ctx.t("incident.reminder", number=await self._number(incident.room_id)),
                txn_id(event_id, "saar"),
                thread_root=event_id,
                reply_to=event_id,
                mention_users=[incident.sender],
            )
            incident = await store.save(incident.with_(reminder_event_id=reminder))
        if incident.urgent or incident.alert_event_id:
            await self._alert(ctx, incident)

    async def _attach_location(self, ctx: Context) -> None:
        """Add a shared location to the sender's report it belongs to, and to its alert."""
        msg = ctx.message
        store = self.services.store.incidents
        if msg.follows_up:
            incident = await store.get(msg.follows_up)
        else:
            incident = await store.latest_by(msg.room_id, msg.sender, msg.ts - LOCATION_WINDOW_MS)
        if incident is None or incident.sender != msg.sender or msg.location is None:
            return  # a location on its own is fine in a watch room, and nothing to attach
        incident = await store.save(incident.with_(location=msg.location.rounded()))
        log.info("location %s attached to incident %s", msg.event_id, incident.event_id)
        live = not is_stale(
            msg.ts, int(time.time() * 1000), self.services.settings.incidents.stale_after_seconds
        )
        if live and incident.alert_event_id:
            await self._alert(ctx, incident)

    async def _alert(self, ctx: Context, incident: Incident) -> None:
        """Post (or, after an edit, update) the alert in the coordination room."""
        text = self.alert_text(ctx, incident)
        room = self.services.coordination_room_id
        if incident.alert_event_id and room:
            await self.services.client.edit(
                room,
                incident.alert_event_id,
                text,
                txn_id(ctx.message.event_id, "alert-edit"),
            )
            return
        alert = await self.services.post_to_coordination(
            text, txn_id(incident.event_id, "alert"), notice=False
        )
        if alert is not None:
            await self.services.store.incidents.save(incident.with_(alert_event_id=alert))

    def alert_text(self, ctx: Context, incident: Incident) -> Rich:
        plates = "".join(f"<code>{escape(p)}</code> " for p in incident.plates)
        moment = datetime.fromtimestamp(incident.ts / 1000, tz=UTC).astimezone()
        point = incident.location
        location = (
            ctx.t("incident.location", link=point.osm_link, coordinates=point.text).html
            if point
            else ""
        )
        return ctx.t(
            "incident.alert_urgent" if incident.urgent else "incident.alert_update",
            category=ctx.t(f"category.{incident.category}").plain,
            attachment=Markup(ctx.t(f"incident.attachment.{incident.attachment}").html)
            if incident.attachment
            else "",
            location=Markup(location),
            room=self.services.client.room_name(incident.room_id),
            time=moment.strftime("%H:%M"),
            excerpt=incident.excerpt,
            plates=Markup(ctx.t("incident.plates", plates=Markup(plates)).html if plates else ""),
            link=event_link(incident.room_id, incident.event_id),
        )

    async def _withdraw_alert(self, incident: Incident) -> None:
        room = self.services.coordination_room_id
        if not incident.alert_event_id or room is None:
            return
        text = t("incident.withdrawn", self.services.settings.language, excerpt=incident.excerpt)
        try:
            await self.services.client.edit(
                room, incident.alert_event_id, text, txn_id(incident.event_id, "withdrawn")
            )
        except MatrixError as exc:
            log.warning("could not mark alert %s as withdrawn: %s", incident.alert_event_id, exc)

    async def _number(self, room_id: str) -> str:
        room = await self.services.store.rooms.get(room_id)
        return (room and room.emergency_number) or self.services.settings.incidents.emergency_number

    async def _sender_of(self, ctx: Context, event_id: str) -> str | None:
        try:
            return await self.services.client.event_sender(ctx.message.room_id, event_id)
        except MatrixError:
            return None

    # -- commands ------------------------------------------------------------------------

    @command(
        "nummer",
        "number",
        help="help.nummer",
        usage="usage.nummer",
        permission=Permission.MODERATOR,
        where=Where.WATCH,
    )
    async def set_number(self, ctx: Context, call: CommandCall) -> None:
        match = _NUMBER_ARG.match(call.args)
        if not match or match.group(1) not in EMERGENCY_NUMBERS:
            await ctx.reply(ctx.t("incident.number_invalid", given=call.args or "–"))
            return
        await self.services.store.rooms.set_emergency_number(ctx.message.room_id, match.group(1))
        await ctx.reply(ctx.t("incident.number_set", number=match.group(1)))

    @command("meldingen", "incidents", help="help.meldingen", permission=Permission.MODERATOR)
    async def list_incidents(self, ctx: Context, call: CommandCall) -> None:
        room = None if ctx.role is RoomRole.COORDINATION else ctx.message.room_id
        incidents = await self.services.store.incidents.recent(room, limit=10)
        if not incidents:
            await ctx.reply(ctx.t("incident.none"))
            return
        items = []
        for incident in incidents:
            moment = datetime.fromtimestamp(incident.ts / 1000, tz=UTC).astimezone()
            items.append(
                ctx.t(
                    "incident.list_item",
                    time=moment.strftime("%d-%m %H:%M"),
                    category=ctx.t(f"category.{incident.category}").plain,
                    urgent="🚨 " if incident.urgent else "",
                    room=self.services.client.room_name(incident.room_id),
                    excerpt=incident.excerpt,
                    link=event_link(incident.room_id, incident.event_id),
                ).html
            )
        await ctx.reply(ctx.t("incident.list", items=Markup("".join(items))))
