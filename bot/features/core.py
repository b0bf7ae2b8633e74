"""Commands every room has: help and ping."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from bot.dispatch import CommandTable, may_use
from bot.domain.commands import CommandCall
from bot.domain.formatting import escape
from bot.features.base import Context, Feature, command
from bot.i18n.catalog import Markup

if TYPE_CHECKING:
    from bot.services import Services


class CoreFeature(Feature):
    name = "core"

    def __init__(self, services: Services, table: CommandTable | None = None) -> None:
        super().__init__(services)
        self.table = table

    @command("hulp", "help", help="help.hulp")
    async def help(self, ctx: Context, call: CommandCall) -> None:
        """Only what the caller may use here: a resident never sees moderator tools."""
        assert self.table is not None, "the dispatcher attaches its command table"
        prefix = ctx.services.settings.command_prefix
        items = []
        for spec, _ in self.table.specs:
            if not may_use(spec, ctx):
                continue
            name, *aliases = spec.names
            usage = f" {ctx.t(spec.usage_key).plain}" if spec.usage_key else ""
            alias = f" ({', '.join(prefix + a for a in aliases)})" if aliases else ""
            items.append(
                f"<li><code>{escape(prefix + name + usage)}</code>{escape(alias)} — "
                f"{ctx.t(spec.help_key).html}</li>"
            )
        body = ctx.t("help.header", commands=Markup("".join(items)))
        await ctx.reply(body, "help")

    @command("ping", help="help.ping")
    async def ping(self, ctx: Context, call: CommandCall) -> None:
        delay_ms = max(0, int(time.time() * 1000) - ctx.message.ts)
        await ctx.reply(ctx.t("ping.pong", delay=delay_ms), "ping")
