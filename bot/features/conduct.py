"""House rules, applied automatically: quiet watch rooms and a fair, predictable ladder.

Each top-level message in a watch room is checked against the room's rules (off-topic kinds
from the classifier, flooding by the events' own timestamps); the pure ``decide`` says what
follows, and ``Sanctions`` carries it out. Descriptions of people by skin colour or origin
alone get a private, polite explanation of what a useful description is. Events from a backlog
older than the staleness limit get no reminder: nobody remembers a message from hours ago.
"""

from __future__ import annotations

import logging
import time

from bot.domain.conduct import (
    ConductDecision,
    HouseRules,
    HouseRulesBook,
    Penalty,
    ReminderVia,
    decide,
    load_house_rules_book,
)
from bot.domain.durations import format_duration
from bot.domain.flood import FloodDetector
from bot.domain.formatting import Rich
from bot.domain.signalement import default_vocabulary, needs_signalement_guidance
from bot.features.base import Context, Feature
from bot.features.incidents import is_stale
from bot.features.sanctions import Sanctions
from bot.matrix.client import MatrixError
from bot.services import Services
from bot.store.rooms import RoomRole

log = logging.getLogger(__name__)


class ConductFeature(Feature):
    name = "conduct"

    def __init__(self, services: Services, sanctions: Sanctions) -> None:
        super().__init__(services)
        self.sanctions = sanctions
        self.book: HouseRulesBook = load_house_rules_book(services.settings.house_rules_file)
        # Compiled now rather than on the first message of the run (about 70 ms), and a
        # broken signalement.toml stops the start instead of failing that message.
        default_vocabulary()
        self._floods: dict[tuple[int, int], FloodDetector] = {}

    def rules_for(self, room_id: str) -> HouseRules:
        return self.book.for_room(room_id)

    def forget(self, user_id: str) -> None:
        """Drop a person's recent message times (erasure on request)."""
        for detector in self._floods.values():
            detector.forget_user(user_id)

    def _flooded(self, rules: HouseRules, ctx: Context) -> bool:
        flood = rules.flood
        if not flood.rule.enabled:
            return False
        key = (flood.max_messages, flood.window_seconds)
        detector = self._floods.get(key)
        if detector is None:
            detector = self._floods[key] = FloodDetector(
                flood.max_messages, flood.window_seconds * 1000
            )
        msg = ctx.message
        return detector.observe(msg.room_id, msg.sender, msg.ts)

    async def on_message(self, ctx: Context) -> None:
        msg = ctx.message
        if ctx.role is not RoomRole.WATCH or msg.sender == self.services.client.user_id:
            return
        if await self._is_media_follow_up(ctx):
            return  # photos under a report are what the thread is for
        rules = self.rules_for(msg.room_id)
        flooded = self._flooded(rules, ctx)  # every message counts, by its own timestamp
        stale_after = self.services.settings.incidents.stale_after_seconds
        if is_stale(msg.ts, int(time.time() * 1000), stale_after):
            log.info("conduct: %s is from the backlog; no reminders", msg.event_id)
            return
        if not msg.in_thread and needs_signalement_guidance(msg.body):
            await self.sanctions.direct_message(
                msg.sender, ctx.t("conduct.signalement"), ctx.txn("signalement")
            )
        verdict = ctx.classification
        settings = self.services.settings
        level = ctx.level(msg.sender)
        decision = decide(
            rules,
            power_level=int(min(level, 10**6)),
            is_police=settings.is_police(msg.sender),
            is_bot=False,
            in_thread=msg.in_thread,
            off_topic_kind=verdict.off_topic_kind if verdict.category is None else None,
            flooded=flooded,
            strikes_in_window=await self.sanctions.active_strikes(
                msg.room_id, msg.sender, rules.ladder.strike_window_s
            ),
        )
        if decision.penalty is Penalty.NONE and not decision.record_strike:
            return
        await self._apply(ctx, rules, decision)

    async def _is_media_follow_up(self, ctx: Context) -> bool:
        """A photo, video, file or voice note without words, in a report's thread or in reply
        to a report: follow-up, never judged (not even counted for flooding)."""
        msg = ctx.message
        if not msg.is_media or msg.caption or msg.follows_up is None:
            return False
        return await self.services.store.incidents.get(msg.follows_up) is not None

    async def _apply(self, ctx: Context, rules: HouseRules, decision: ConductDecision) -> None:
        msg = ctx.message
        me = self.services.client.user_id
        if decision.record_strike and decision.rule_id:
            await self.sanctions.strike(
                msg.room_id, msg.sender, msg.ts, decision.rule_id, me, msg.event_id
            )
        rule = rules.flood.rule if decision.rule_id == rules.flood.rule.rule_id else None
        if rule is None:
            rule = next(r for r in rules.kinds.values() if r.rule_id == decision.rule_id)
        lang = ctx.language
        reminder = ctx.t(
            "conduct.reminder",
            user=self.sanctions.who(msg.room_id, msg.sender),
            text=rule.text.get(lang),
        )
        if decision.record_strike:
            reminder = reminder + ctx.t("conduct.strike_count", strikes=decision.strikes)
        try:
            await self._remind(ctx, reminder, decision, rule.label.get(lang))
            if decision.penalty is Penalty.MUTE and decision.duration_s:
                await self.sanctions.mute(
                    msg.room_id,
                    msg.sender,
                    decision.duration_s,
                    me,
                    rule.label.get(lang),
                    key=f"auto-mute:{msg.event_id}",
                )
                await ctx.reply(
                    ctx.t(
                        "conduct.muted",
                        user=self.sanctions.who(msg.room_id, msg.sender),
                        duration=format_duration(decision.duration_s, lang),
                    ),
                    "muted",
                    thread=True,
                )
            elif decision.penalty is Penalty.KICK:
                await self.sanctions.kick(
                    msg.room_id,
                    msg.sender,
                    me,
                    rule.label.get(lang),
                    key=f"auto-kick:{msg.event_id}",
                )
            if decision.redact:
                await self.sanctions.redact(
                    msg.room_id, msg.event_id, msg.sender, me, rule.label.get(lang)
                )
        except MatrixError as exc:
            log.warning("conduct action on %s in %s failed: %s", msg.sender, msg.room_id, exc)

    async def _remind(
        self, ctx: Context, reminder: Rich, decision: ConductDecision, label: str
    ) -> None:
        msg = ctx.message
        if decision.reminder_via is ReminderVia.DM:
            await self.sanctions.direct_message(msg.sender, reminder, ctx.txn("reminder"))
        else:
            await self.services.client.send_message(
                msg.room_id,
                reminder,
                ctx.txn("reminder"),
                thread_root=msg.thread_root or msg.event_id,
                reply_to=msg.event_id,
                mention_users=[msg.sender],
            )
        if decision.penalty is Penalty.REMIND:
            await self.sanctions.audit(
                msg.room_id,
                self.services.client.user_id,
                "remind",
                msg.sender,
                label,  # beheerders read the rule's name, not its internal key
                key=f"remind:{msg.event_id}",
            )
