"""Police bulletins and alerts: from the coordination room to every (or every labelled) watch room.

Only commands relay, and the dispatcher lets only police accounts and moderators of the
coordination room run them there, so no resident can make the bot repeat a fake police message.
A command is turned into one bulletin row plus one delivery row per room (one transaction);
the ``DeliveryWorker`` does the sending in the background and edits a status reply as it goes.
The sender's edits and any redaction of the command follow to every copy.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.domain.commands import CommandCall, parse_command
from bot.domain.formatting import Rich
from bot.domain.markdown import markdown_to_html
from bot.domain.police_alert import (
    FIELD_LABELS,
    AlertEndError,
    AlertEndErrorCode,
    AlertField,
    AlertFields,
    is_alert_end,
    parse_alert,
    parse_alert_end,
)
from bot.domain.sanitize import plain_to_html, sanitize_html
from bot.features.base import Context, Feature, Permission, Where, command
from bot.features.bulletin_delivery import DeliveryWorker
from bot.features.watch_rooms import find_watch_room
from bot.i18n.catalog import Language, Markup, t
from bot.services import Services
from bot.store.audit import AuditEntry
from bot.store.bulletins import Bulletin, BulletinRepository, Kind, State
from bot.store.rooms import RoomRole

log = logging.getLogger(__name__)

BULLETIN_COMMANDS = ("bericht", "bulletin")
ALERT_COMMANDS = ("alarm", "alert")
RECENT_LIMIT = 10

_LEADING_LABEL = re.compile(r"#([\w-]{1,64})(?=\s|$)")
_LABEL_CHANGE = re.compile(r"(-?)#([\w-]{1,64})")
_LEADING_TAGS = re.compile(r"\s*(?:<(?!br\b)[a-zA-Z][^>]*>\s*)*")
_SPACE = r"(?:\s|&nbsp;|&#160;)"
_LEADING_BREAK = re.compile(rf"{_SPACE}*(?:<br\s*/?>{_SPACE}*)?", re.IGNORECASE)
_EMPTY_PARAGRAPH = re.compile(r"^\s*<p>\s*</p>", re.IGNORECASE)


# -- pure helpers (unit-tested) ----------------------------------------------------------


def split_labels(args: str) -> tuple[list[str], str]:
    """Leading ``#label`` words and the text after them; labels lower-case, without '#'.

    A room alias (``#naam:server``) is not a label, so it stays text.
    """
    labels: list[str] = []
    rest = args.lstrip()
    while match := _LEADING_LABEL.match(rest):  # labels end at the first line break
        label = match.group(1).casefold()
        if label not in labels:
            labels.append(label)
        rest = rest[match.end() :].lstrip(" \t")
    return labels, rest.strip()


def parse_label_change(args: str) -> tuple[str, list[str], list[str]] | None:
    """``<room> #add -#remove …`` → (room reference, added, removed); the room may have spaces."""
    words = args.split()
    added: list[str] = []
    removed: list[str] = []
    while words and (match := _LABEL_CHANGE.fullmatch(words[-1])):
        (removed if match.group(1) else added).insert(0, match.group(2).casefold())
        words.pop()
    if not words or not (added or removed):
        return None
    return " ".join(words), added, removed


def select_rooms(
    watch_rooms: Sequence[str], labels_by_room: Mapping[str, Iterable[str]], wanted: Sequence[str]
) -> tuple[list[str], list[str]]:
    """Target rooms (all, or those carrying any wanted label) and the labels no room carries."""
    if not wanted:
        return list(watch_rooms), []
    carried = {room: set(labels_by_room.get(room, ())) for room in watch_rooms}
    unknown = [label for label in wanted if not any(label in c for c in carried.values())]
    return [room for room in watch_rooms if carried[room] & set(wanted)], unknown


def strip_command_html(
    html: str, name: str, labels: Sequence[str], prefix: str = "!"
) -> str | None:
    """The formatted body without its leading ``!bericht #label …``; ``None`` if not found.

    Element renders the officer's Markdown to HTML; keeping that HTML keeps their lists and
    bold text. The command sits in the first text, possibly inside opening tags like ``<p>``.
    """
    opening = _LEADING_TAGS.match(html)
    start = opening.end() if opening else 0
    token = re.compile(rf"{re.escape(prefix)}{re.escape(name)}(?=\s|<|&|$)", re.IGNORECASE)
    found = token.match(html, start)
    if found is None:
        return None
    rest = html[found.end() :]
    for label in labels:
        rest = re.sub(rf"^{_SPACE}*#{re.escape(label)}(?={_SPACE}|<|$)", "", rest, flags=re.I)
    rest = _LEADING_BREAK.sub("", rest, count=1)
    return _EMPTY_PARAGRAPH.sub("", html[:start] + rest, count=1)


def local_time(ts_ms: int, pattern: str = "%H:%M") -> str:
    return datetime.fromtimestamp(ts_ms / 1000, tz=UTC).astimezone().strftime(pattern)


def missing_text(missing: Sequence[str], language: Language) -> str:
    """Field names as the reader knows them, e.g. "Wat, Signalement/Voertuig/Kenteken"."""

    def label(name: str) -> str:
        return FIELD_LABELS[AlertField(name)][language]

    return ", ".join("/".join(label(part) for part in item.split("/")) for item in missing)


def render_bulletin(language: Language, name: str, ts_ms: int, body_html: str) -> Rich:
    return t(
        "bulletin.message",
        language,
        name=name,
        time=local_time(ts_ms),
        body=Markup(sanitize_html(body_html)),
    )


def render_alert(language: Language, nr: int, name: str, ts_ms: int, fields: AlertFields) -> Rich:
    rows = "".join(
        t(
            "bulletin.alert_field",
            language,
            label=FIELD_LABELS[field][language],
            value=Markup(plain_to_html(value)),
        ).html
        for field, value in fields.items()
    )
    return t(
        "bulletin.alert", language, nr=nr, name=name, time=local_time(ts_ms), fields=Markup(rows)
    )


def render_alert_end(language: Language, nr: int, name: str, ts_ms: int, text: str | None) -> Rich:
    body = Markup(f"<p>{plain_to_html(text)}</p>" if text else "")
    return t("bulletin.alert_end", language, nr=nr, name=name, time=local_time(ts_ms), text=body)


# -- the feature -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Draft:
    """A parsed command: what to send, where, and how to render it once numbered."""

    kind: Kind
    labels: tuple[str, ...]
    render: Callable[[int, int], Rich]  # (bulletin id, original time in ms) -> content
    rooms: tuple[str, ...] | None = None  # fixed targets (a closing message); None: by label
    parent_id: int | None = None
    unknown_fields: tuple[str, ...] = ()


class BulletinsFeature(Feature):
    name = "bulletins"

    def __init__(self, services: Services) -> None:
        super().__init__(services)
        self.repo = BulletinRepository(services.store.db)
        self.worker = DeliveryWorker(services, self.repo)

    async def start(self) -> None:
        await self.worker.start()

    async def stop(self) -> None:
        await self.worker.stop()

    # -- commands ------------------------------------------------------------------------

    @command(
        *BULLETIN_COMMANDS,
        help="help.bericht",
        usage="usage.bericht",
        permission=Permission.POLICE,
        where=Where.COORDINATION,
    )
    async def send_bulletin(self, ctx: Context, call: CommandCall) -> None:
        draft = await self._draft(ctx, call)
        if draft is not None:
            await self._publish(ctx, draft)

    @command(
        *ALERT_COMMANDS,
        help="help.alarm",
        usage="usage.alarm",
        permission=Permission.POLICE,
        where=Where.COORDINATION,
    )
    async def send_alert(self, ctx: Context, call: CommandCall) -> None:
        draft = await self._draft(ctx, call)
        if draft is not None:
            await self._publish(ctx, draft)

    @command(
        "berichten",
        "bulletins",
        help="help.berichten",
        permission=Permission.POLICE,
        where=Where.COORDINATION,
    )
    async def list_bulletins(self, ctx: Context, call: CommandCall) -> None:
        recent = await self.repo.recent(RECENT_LIMIT)
        if not recent:
            await ctx.reply(ctx.t("bulletin.none"))
            return
        items = []
        for bulletin, counts in recent:
            markers = ""
            if bulletin.version > 1:
                markers += ctx.t("bulletin.marker_edited", version=bulletin.version).html
            if bulletin.redacted:
                markers += ctx.t("bulletin.marker_redacted").html
            items.append(
                ctx.t(
                    "bulletin.list_item",
                    time=local_time(bulletin.created_at, "%d-%m %H:%M"),
                    kind=ctx.t(f"bulletin.kind_{bulletin.kind.value}").plain,
                    nr=bulletin.id,
                    sender=self._name(bulletin.sender),
                    sent=counts.sent,
                    total=counts.total,
                    failed=counts.failed,
                    pending=counts.pending,
                    markers=Markup(markers),
                ).html
            )
        await ctx.reply(ctx.t("bulletin.list", items=Markup("".join(items))))

    @command(
        "label",
        help="help.label",
        usage="usage.label",
        permission=Permission.POLICE,
        where=Where.COORDINATION,
    )
    async def set_labels(self, ctx: Context, call: CommandCall) -> None:
        change = parse_label_change(call.args)
        if change is None:
            await ctx.reply(ctx.t("bulletin.label_usage"))
            return
        reference, added, removed = change
        room_id = await find_watch_room(ctx, reference)
        if room_id is None:
            return
        await self.repo.add_labels(room_id, added)
        await self.repo.remove_labels(room_id, removed)
        labels = (await self.repo.labels_by_room()).get(room_id, ())
        await ctx.reply(
            ctx.t(
                "bulletin.labels_set",
                room=self.services.client.room_name(room_id),
                labels=self._label_list(ctx, labels),
            )
        )

    @command("labels", help="help.labels", permission=Permission.POLICE, where=Where.COORDINATION)
    async def list_labels(self, ctx: Context, call: CommandCall) -> None:
        rooms = await self.services.store.rooms.list(RoomRole.WATCH)
        if not rooms:
            await ctx.reply(ctx.t("bulletin.labels_none"))
            return
        labels = await self.repo.labels_by_room()
        items = "".join(
            ctx.t(
                "bulletin.labels_item",
                room=self.services.client.room_name(room.room_id),
                labels=self._label_list(ctx, labels.get(room.room_id, ())),
            ).html
            for room in rooms
        )
        await ctx.reply(ctx.t("bulletin.labels_list", items=Markup(items)))

    # -- hooks ---------------------------------------------------------------------------

    async def on_edit(self, ctx: Context) -> None:
        """The sender edited the command: re-render, and the worker edits every copy."""
        bulletin = await self._bulletin_for(ctx)
        if bulletin is None or bulletin.redacted:
            return
        if ctx.message.sender != bulletin.sender:
            log.warning(
                "ignored edit of bulletin %d by %s: not its sender", bulletin.id, ctx.message.sender
            )
            return
        call = parse_command(ctx.message.body, self.services.settings.command_prefix)
        if call is None or call.name not in (*BULLETIN_COMMANDS, *ALERT_COMMANDS):
            await ctx.reply(ctx.t("bulletin.edit_mismatch"), "edit-error")
            return
        draft = await self._draft(ctx, call)
        if draft is None:  # a mistake in the new text, already answered: the old one stays
            return
        if (draft.kind, draft.parent_id) != (bulletin.kind, bulletin.parent_id):
            await ctx.reply(ctx.t("bulletin.edit_mismatch"), "edit-error")
            return
        content = draft.render(bulletin.id, bulletin.created_at)
        if content.html == bulletin.html:
            return
        await self.repo.update_content(bulletin.id, content)
        await self._audit(ctx, "bulletin_edit", bulletin.id, rooms=None, labels=bulletin.labels)
        log.info("bulletin %d edited by its sender", bulletin.id)
        self.worker.changed(bulletin.id)
        self.worker.wake()

    async def on_redaction(self, ctx: Context) -> None:
        """The command was redacted (by its sender or a moderator): withdraw every copy."""
        bulletin = await self._bulletin_for(ctx)
        if bulletin is None or bulletin.redacted:
            return
        await self.repo.mark_redacted(bulletin.id)
        await self._audit(ctx, "bulletin_redact", bulletin.id, rooms=None, labels=bulletin.labels)
        log.info("bulletin %d withdrawn by %s", bulletin.id, ctx.message.sender)
        self.worker.changed(bulletin.id)
        self.worker.wake()

    async def _bulletin_for(self, ctx: Context) -> Bulletin | None:
        if ctx.role is not RoomRole.COORDINATION or ctx.message.target is None:
            return None
        return await self.repo.by_source(ctx.message.target)

    # -- from command to bulletin --------------------------------------------------------

    async def _draft(self, ctx: Context, call: CommandCall) -> Draft | None:
        """Parse a bulletin or alert command; on a mistake reply why and return ``None``."""
        language = ctx.language
        name = self._name(ctx.message.sender)
        if call.name in ALERT_COMMANDS and is_alert_end(call.args):
            return await self._alert_end_draft(ctx, call, name)
        labels, text = split_labels(call.args)
        if call.name in ALERT_COMMANDS:
            parsed = parse_alert(text)
            if not parsed.ok:
                fields = missing_text(parsed.missing, language)
                await ctx.reply(ctx.t("bulletin.missing_fields", fields=fields), "alert-error")
                return None
            return Draft(
                Kind.ALERT,
                tuple(labels),
                lambda nr, ts: render_alert(language, nr, name, ts, parsed.fields),
                unknown_fields=tuple(parsed.unknown),
            )
        if not text:
            await ctx.reply(ctx.t("bulletin.usage"), "usage")
            return None
        prefix = self.services.settings.command_prefix
        formatted = ctx.message.formatted_body
        body = formatted and strip_command_html(formatted, call.name, labels, prefix)
        # No formatted_body (a script, a plain client): the body may well be Markdown. Parsed
        # off the event loop, since a long hostile body takes a noticeable moment.
        body_html = body or await asyncio.to_thread(markdown_to_html, text)
        return Draft(
            Kind.BULLETIN,
            tuple(labels),
            lambda nr, ts: render_bulletin(language, name, ts, body_html),
        )

    async def _alert_end_draft(self, ctx: Context, call: CommandCall, name: str) -> Draft | None:
        try:
            nr, text = parse_alert_end(call.args)
        except AlertEndError as exc:
            if exc.code is AlertEndErrorCode.MISSING_NUMBER:
                await ctx.reply(ctx.t("bulletin.alert_end_missing"), "alert-error")
            else:
                await ctx.reply(ctx.t("bulletin.alert_end_invalid", given=exc.text), "alert-error")
            return None
        alert = await self.repo.get(nr)
        if alert is None or alert.kind is not Kind.ALERT:
            await ctx.reply(ctx.t("bulletin.alert_not_found", nr=nr), "alert-error")
            return None
        rooms = tuple(
            d.room_id
            for d in await self.repo.deliveries(nr)
            if d.state in (State.PENDING, State.SENT)
        )
        language = ctx.language
        return Draft(
            Kind.ALERT_END,
            (),
            lambda _id, ts: render_alert_end(language, nr, name, ts, text),
            rooms=rooms,
            parent_id=nr,
        )

    async def _publish(self, ctx: Context, draft: Draft) -> None:
        """Write the bulletin and its deliveries, wake the worker, have it post the status."""
        rooms = draft.rooms
        if rooms is None:
            watch = [room.room_id for room in await self.services.store.rooms.list(RoomRole.WATCH)]
            targets, unknown = select_rooms(watch, await self.repo.labels_by_room(), draft.labels)
            if unknown:
                listed = ", ".join(f"#{label}" for label in unknown)
                await ctx.reply(ctx.t("bulletin.unknown_labels", labels=listed), "labels-error")
                return
            rooms = tuple(targets)
        if not rooms:
            await ctx.reply(ctx.t("bulletin.no_rooms"), "no-rooms")
            return
        message = ctx.message
        bulletin, created = await self.repo.create(
            kind=draft.kind,
            sender=message.sender,
            source_room=message.room_id,
            source_event_id=message.event_id,
            labels=draft.labels,
            rooms=rooms,
            render=lambda nr: draft.render(nr, message.ts),
            parent_id=draft.parent_id,
            created_at=message.ts,
        )
        if created:
            await self._audit(ctx, draft.kind.value, bulletin.id, len(rooms), draft.labels)
            log.info("bulletin %d (%s) to %d rooms", bulletin.id, draft.kind.value, len(rooms))
        if draft.unknown_fields:
            fields = ", ".join(draft.unknown_fields)
            await ctx.reply(ctx.t("bulletin.unknown_fields", fields=fields), "unknown-fields")
        self.worker.wake()
        self.worker.announce(bulletin.id, lambda text: ctx.reply(text, "status"))

    async def _audit(
        self, ctx: Context, action: str, bulletin_id: int, rooms: int | None, labels: Iterable[str]
    ) -> None:
        details: dict[str, object] = {"bulletin": bulletin_id, "labels": list(labels)}
        if rooms is not None:
            details["rooms"] = rooms
        await self.services.store.audit.record(
            AuditEntry(
                actor=ctx.message.sender,
                action=action,
                room_id=ctx.message.room_id,
                target=ctx.message.target or ctx.message.event_id,
                details=details,
            )
        )

    # -- small lookups -------------------------------------------------------------------

    def _name(self, user_id: str) -> str:
        room = self.services.coordination_room_id
        return self.services.client.display_name(room, user_id) if room else user_id

    def _label_list(self, ctx: Context, labels: Iterable[str]) -> str:
        return " ".join(f"#{label}" for label in labels) or ctx.t("bulletin.no_labels").plain
