"""Moderation actions, done one way for the automatic rules and the commands alike.

Every action happens on Matrix, is written to the audit table, and is posted as one compact line
to the coordination room, so beheerders see what the bot and each other did without digging.
Mutes are stored before the power level changes and lifted by a timer that survives restarts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from bot.background import cancel_and_wait
from bot.domain.durations import format_duration
from bot.domain.formatting import Rich, mention_html
from bot.i18n.catalog import Language, Markup, t
from bot.matrix.client import MatrixError, txn_id
from bot.services import Services
from bot.store.audit import AuditEntry
from bot.store.conduct import Mute, Strike

log = logging.getLogger(__name__)

MAX_TIMER_SLEEP_S = 60.0


def now_ms() -> int:
    return int(time.time() * 1000)


class Sanctions:
    def __init__(self, services: Services) -> None:
        self.services = services
        self._wake = asyncio.Event()
        self._timer: asyncio.Task[None] | None = None

    @property
    def _lang(self) -> Language:
        return self.services.settings.language

    def who(self, room_id: str, user_id: str) -> Markup:
        name = self.services.client.display_name(room_id, user_id)
        return Markup(mention_html(user_id, name))

    # -- audit ---------------------------------------------------------------------------

    async def audit(
        self,
        room_id: str,
        actor: str,
        action: str,
        target: str | None,
        reason: str | None = None,
        detail: str = "",
        key: str = "",
    ) -> None:
        """Store the action and post one compact line to the coordination room."""
        entry = await self.services.store.audit.record(
            AuditEntry(actor, action, room_id, target, reason, {"detail": detail} if detail else {})
        )
        log.info("moderation: %s by %s on %s in %s", action, actor, target, room_id)
        line = t(
            "audit.line",
            self._lang,
            room=self.services.client.room_name(room_id),
            actor=self.who(room_id, actor)
            if actor != self.services.client.user_id
            else t("audit.bot", self._lang).plain,
            action=t(f"audit.action.{action}", self._lang, detail=detail).plain,
            target=self.who(room_id, target) if target else "",
            reason=f" – {reason}" if reason else "",
        )
        try:
            await self.services.post_to_coordination(line, txn_id("audit", key or str(entry.id)))
        except MatrixError as exc:
            log.warning("could not post audit line %d: %s", entry.id, exc)

    # -- strikes -------------------------------------------------------------------------

    async def strike(
        self, room_id: str, user_id: str, ts: int, rule_id: str, actor: str, event_id: str | None
    ) -> bool:
        return await self.services.store.conduct.add_strike(
            Strike(room_id, user_id, ts, rule_id, actor, event_id)
        )

    async def active_strikes(self, room_id: str, user_id: str, window_s: int) -> int:
        since = now_ms() - window_s * 1000
        return len(await self.services.store.conduct.strikes(room_id, user_id, since))

    # -- power-level actions --------------------------------------------------------------

    async def mute(
        self, room_id: str, user_id: str, duration_s: int, actor: str, reason: str | None, key: str
    ) -> None:
        """Lower the user below ``events_default`` until the time is up."""
        power = self.services.client.room_power(room_id)
        store = self.services.store.conduct
        existing = await store.mute(room_id, user_id)
        previous = existing.previous_level if existing else power.users.get(user_id)
        until = now_ms() + duration_s * 1000
        await store.save_mute(Mute(room_id, user_id, until, previous, actor, reason))
        muted_level = min(power.events.get("m.room.message", power.events_default) - 1, -1)
        await self.services.client.set_power_level(room_id, user_id, muted_level)
        self._wake.set()
        await self.audit(
            room_id, actor, "mute", user_id, reason, format_duration(duration_s, self._lang), key
        )

    async def unmute(self, room_id: str, user_id: str, actor: str, key: str) -> bool:
        store = self.services.store.conduct
        mute = await store.mute(room_id, user_id)
        if mute is None:
            return False
        try:
            await self.services.client.set_power_level(room_id, user_id, mute.previous_level)
        except MatrixError as exc:
            if not exc.permanent:
                raise
            log.warning("could not restore %s in %s: %s", user_id, room_id, exc)
        await store.delete_mute(room_id, user_id)
        await self.audit(room_id, actor, "unmute", user_id, key=key)
        return True

    async def kick(
        self, room_id: str, user_id: str, actor: str, reason: str | None, key: str
    ) -> None:
        await self.services.client.kick(room_id, user_id, reason)
        await self.services.store.conduct.delete_mute(room_id, user_id)
        await self.audit(room_id, actor, "kick", user_id, reason, key=key)

    async def ban(
        self, room_id: str, user_id: str, actor: str, reason: str | None, key: str
    ) -> None:
        await self.services.client.ban(room_id, user_id, reason)
        await self.services.store.conduct.delete_mute(room_id, user_id)
        await self.audit(room_id, actor, "ban", user_id, reason, key=key)

    async def redact(
        self, room_id: str, event_id: str, author: str | None, actor: str, reason: str | None
    ) -> None:
        await self.services.client.redact(room_id, event_id, txn_id(event_id, "redact"), reason)
        await self.audit(room_id, actor, "redact", author, reason, key=f"redact:{event_id}")

    # -- private messages ------------------------------------------------------------------

    async def direct_message(self, user_id: str, text: Rich, txn: str) -> None:
        """Say something only this person should read, in the bot's private room with them."""
        await self.services.direct.send(user_id, text, txn)

    # -- the mute timer --------------------------------------------------------------------

    def start(self) -> None:
        self._timer = asyncio.create_task(self._lift_mutes_forever(), name="mute timer")

    async def stop(self) -> None:
        await cancel_and_wait([self._timer])

    async def _lift_mutes_forever(self) -> None:
        while True:
            self._wake.clear()
            next_end = await self.lift_due_mutes()
            sleep = MAX_TIMER_SLEEP_S
            if next_end is not None:
                sleep = min(sleep, max(0.05, (next_end - now_ms()) / 1000))
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=sleep)

    async def lift_due_mutes(self) -> int | None:
        """Unmute everyone whose time is up; returns when the next mute ends, if any."""
        next_end = None
        for mute in await self.services.store.conduct.mutes():
            if mute.until_ms > now_ms():
                next_end = mute.until_ms if next_end is None else min(next_end, mute.until_ms)
                continue
            try:
                await self.unmute(
                    mute.room_id,
                    mute.user_id,
                    self.services.client.user_id,
                    key=f"unmute:{mute.room_id}:{mute.user_id}:{mute.until_ms}",
                )
            except MatrixError as exc:
                log.warning("mute of %s in %s not lifted yet: %s", mute.user_id, mute.room_id, exc)
                next_end = now_ms() + 30_000
        return next_end
