"""Naming a watch room in a command: by room ID, alias or exact name, shared by the features
that act on a room from the coordination room (``!label``, ``!ontkoppel``)."""

from __future__ import annotations

from collections.abc import Mapping

from bot.domain.formatting import escape
from bot.features.base import Context
from bot.i18n.catalog import Markup
from bot.matrix.client import MatrixError
from bot.store.rooms import RoomRole


def match_rooms(reference: str, names: Mapping[str, str]) -> list[str]:
    """Watch rooms whose name is ``reference``, ignoring case and surrounding space."""
    wanted = reference.strip().casefold()
    return [room for room, name in names.items() if name.strip().casefold() == wanted]


async def find_watch_room(ctx: Context, reference: str) -> str | None:
    """A watch room by ID, alias or exact name; replies with the problem if none or many."""
    client = ctx.services.client
    watch = [room.room_id for room in await ctx.services.store.rooms.list(RoomRole.WATCH)]
    if reference.startswith(("!", "#")) and " " not in reference:
        try:
            room_id = await client.resolve_room(reference)
        except MatrixError:
            room_id = None
        found = [room_id] if room_id in watch else []
    else:
        found = match_rooms(reference, {room: client.room_name(room) for room in watch})
    if len(found) == 1:
        return found[0]
    if not found:
        await ctx.reply(ctx.t("bulletin.room_unknown", room=reference))
    else:
        names = ", ".join(escape(f"{client.room_name(r)} ({r})") for r in found)
        await ctx.reply(ctx.t("bulletin.room_ambiguous", room=reference, names=Markup(names)))
    return None
