"""Sign-up by postcode: which group covers my street?

Moderators of the coordination room give each watch room its area as 4-digit postcode ranges
(``!gebied Westwijk 1181-1183 1187``). A resident opens a direct chat with the bot and types
``!aanmelden 1182 AB``; if a group covers that postcode, the bot files a join request exactly
like a knock, labelled "aangemeld via postcode 1182", and the group's moderators decide on the
usual path. Only the four digits are kept, in the request, and only until it is decided (a
trigger in the store clears them whichever way the request is closed).
"""

from __future__ import annotations

import logging

from bot.domain.commands import CommandCall
from bot.domain.postcode import PostcodeError, describe_ranges, parse_postcode, parse_ranges
from bot.features.admission import AdmissionFeature
from bot.features.base import Context, Feature, Where, command, coordination_command
from bot.features.watch_rooms import find_watch_room
from bot.i18n.catalog import Markup
from bot.services import Services
from bot.store.admission import Source
from bot.store.rooms import RoomRole

log = logging.getLogger(__name__)

_RANGE_CHARS = frozenset("0123456789-,;")


def split_group_and_ranges(args: str) -> tuple[str, str]:
    """ "Buurtpreventie Noord 1181-1183 1187" -> ("Buurtpreventie Noord", "1181-1183 1187")."""
    words = args.split()
    cut = len(words)
    while cut > 0 and set(words[cut - 1]) <= _RANGE_CHARS:
        cut -= 1
    return " ".join(words[:cut]), " ".join(words[cut:])


class SignupFeature(Feature):
    name = "signup"

    def __init__(self, services: Services, admission: AdmissionFeature) -> None:
        super().__init__(services)
        self.admission = admission

    # -- areas (coordination room) ----------------------------------------------------------

    @coordination_command(
        "gebied",
        "area",
        help="help.gebied",
        usage="usage.gebied",
    )
    async def area(self, ctx: Context, call: CommandCall) -> None:
        if not call.args:
            await self._list_areas(ctx)
            return
        group, ranges_text = split_group_and_ranges(call.args)
        if not group or not ranges_text:
            await ctx.reply(ctx.t("signup.area_usage"))
            return
        try:
            ranges = parse_ranges(ranges_text)
        except PostcodeError as exc:
            await ctx.reply(ctx.t("signup.area_bad", text=exc.text))
            return
        room_id = await find_watch_room(ctx, group)
        if room_id is None:
            return
        await self.services.store.areas.set_area(room_id, ranges)
        name = self.services.client.room_name(room_id)
        await ctx.reply(ctx.t("signup.area_set", room=name, ranges=describe_ranges(ranges)))

    async def _list_areas(self, ctx: Context) -> None:
        rooms = await self.services.store.rooms.list(RoomRole.WATCH)
        if not rooms:
            await ctx.reply(ctx.t("signup.no_rooms"))
            return
        areas = await self.services.store.areas.all_areas()
        none = ctx.t("signup.no_area").plain
        items = "".join(
            ctx.t(
                "signup.area_item",
                room=self.services.client.room_name(room.room_id),
                ranges=describe_ranges(areas.get(room.room_id, [])) or none,
            ).html
            for room in rooms
        )
        await ctx.reply(ctx.t("signup.area_list", items=Markup(items)))

    # -- signing up (direct chat) -------------------------------------------------------------

    @command(
        "aanmelden", "signup", help="help.aanmelden", usage="usage.aanmelden", where=Where.DIRECT
    )
    async def sign_up(self, ctx: Context, call: CommandCall) -> None:
        try:
            postcode = parse_postcode(call.args)
        except PostcodeError as exc:
            await ctx.reply(ctx.t(f"signup.bad.{exc.problem.value}", text=exc.text[:20]))
            return
        user_id = ctx.message.sender
        rooms = await self.services.store.areas.rooms_covering(postcode.digits)
        joined = {room.room_id for room in await self.services.store.rooms.list(RoomRole.WATCH)}
        rooms = [room for room in rooms if room in joined]
        if not rooms:
            custom = self.services.settings.signup.no_group_text
            text = ctx.t("signup.no_group_custom", text=custom) if custom else None
            await ctx.reply(text or ctx.t("signup.no_group", area=postcode.area))
            return
        client = self.services.client
        name = client.display_name(ctx.message.room_id, user_id)
        for room_id in rooms:
            group = client.room_name(room_id)
            if user_id in client.joined_members(room_id):
                await ctx.reply(ctx.t("signup.already_member", room=group), f"signup:{room_id}")
                continue
            label = ctx.t("signup.label", area=postcode.area).plain
            request, new = await self.services.store.admission.request(
                room_id,
                user_id,
                Source.POSTCODE,
                display_name=None if name == user_id else name,
                reason=label,
                ts=ctx.message.ts,
            )
            if not new:
                await ctx.reply(ctx.t("signup.already_waiting", room=group), f"signup:{room_id}")
                continue
            log.info("postcode sign-up %d for %s", request.id, room_id)
            await self.admission.submit(request)
            await ctx.reply(ctx.t("signup.filed", room=group), f"signup:{room_id}")
