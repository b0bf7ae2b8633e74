"""One command name, one meaning per kind of room: ``!verban`` in a group and everywhere."""

from __future__ import annotations

import pytest

from bot.dispatch import CommandTable
from bot.features.base import Feature, Where, command
from bot.store.rooms import RoomRole


class Local(Feature):
    @command("verban", "ban", help="help.verban", where=Where.WATCH)
    async def ban(self, ctx, call) -> None:  # type: ignore[no-untyped-def]
        """One room."""


class Everywhere(Feature):
    @command("verban", "ban", help="help.verban_overal", where=Where.COORDINATION)
    async def ban(self, ctx, call) -> None:  # type: ignore[no-untyped-def]
        """Every room."""


class Anywhere(Feature):
    @command("verban", help="help.verban", where=Where.ANY)
    async def ban(self, ctx, call) -> None:  # type: ignore[no-untyped-def]
        """Clashes with both."""


def test_same_name_in_different_rooms_finds_the_right_one() -> None:
    table = CommandTable([Local(None), Everywhere(None)])  # type: ignore[arg-type]
    watch = table.lookup("ban", RoomRole.WATCH)
    coordination = table.lookup("verban", RoomRole.COORDINATION)
    assert watch is not None and watch[0].help_key == "help.verban"
    assert coordination is not None and coordination[0].help_key == "help.verban_overal"
    elsewhere = table.lookup("verban", RoomRole.DIRECT)
    assert elsewhere is not None and elsewhere[0].where is Where.WATCH  # says where it works
    assert table.lookup("nope", RoomRole.WATCH) is None


def test_overlapping_rooms_are_refused() -> None:
    with pytest.raises(ValueError, match="declared twice"):
        CommandTable([Local(None), Anywhere(None)])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="declared twice"):
        CommandTable([Local(None), Local(None)])  # type: ignore[arg-type]
