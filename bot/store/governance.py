"""Data governance over every table with personal data: retention cut-offs and erasure.

Both are lists of rules, one per data kind, so a new kind (join requests, acceptances …) is
one more rule here plus, for retention, one more setting in ``RetentionSettings``. Rules run
as plain SQL on the connection they are given: the daily purge runs inside the scheduler's
transaction (with its run key), an erasure in a transaction of its own. Both return counts
per kind, never contents.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import aiosqlite

from bot.domain.periods import DAY_MS
from bot.settings import RetentionSettings
from bot.store.database import Database
from bot.store.inbox import HANDLED_RETENTION_MS

# What stays of an incident without personal data: room, time, category, urgency.
_ANONYMISE_INCIDENT = (
    "UPDATE incidents SET sender = '', excerpt = '', plates = '[]', "
    "latitude = NULL, longitude = NULL"
)


@dataclass(frozen=True, slots=True)
class RetentionInputs:
    now_ms: int
    settings: RetentionSettings
    strike_window_s: int  # the longest strike window of any room's house rules


@dataclass(frozen=True, slots=True)
class RetentionRule:
    """``statement`` gets one parameter, the cut-off in unix ms; ``cutoff`` computes it."""

    kind: str
    statement: str
    cutoff: Callable[[RetentionInputs], int]


def _days(get: Callable[[RetentionSettings], int]) -> Callable[[RetentionInputs], int]:
    return lambda inputs: inputs.now_ms - get(inputs.settings) * DAY_MS


RETENTION_RULES: list[RetentionRule] = [
    RetentionRule(
        "incident_excerpts",
        _ANONYMISE_INCIDENT + " WHERE ts < ? AND "
        "(sender <> '' OR excerpt <> '' OR plates <> '[]' OR latitude IS NOT NULL)",
        _days(lambda s: s.incident_excerpt_days),
    ),
    RetentionRule(
        "strikes",
        "DELETE FROM strikes WHERE ts < ?",
        lambda inputs: inputs.now_ms - inputs.strike_window_s * 1000,
    ),
    RetentionRule("audit", "DELETE FROM audit WHERE ts < ?", _days(lambda s: s.audit_days)),
    RetentionRule(
        "member_history",
        "DELETE FROM member_history WHERE left_ts IS NOT NULL AND left_ts < ?",
        _days(lambda s: s.member_history_days),
    ),
    # A join request (with its reason and, for a sign-up, the postcode) lives until decided.
    RetentionRule(
        "join_requests",
        "DELETE FROM join_requests WHERE status <> 'open' AND decided_at < ?",
        lambda inputs: inputs.now_ms,
    ),
    RetentionRule(
        "acceptances",
        "DELETE FROM rule_acceptances WHERE left_at IS NOT NULL AND left_at < ?",
        _days(lambda s: s.acceptances_after_leaving_days),
    ),
    # Who read a monthly alarm test counts only until the report is out (it keeps the numbers).
    RetentionRule(
        "alarm_test_reads",
        "DELETE FROM alarm_test_reads WHERE test_id IN "
        "(SELECT id FROM alarm_tests WHERE reported_at IS NOT NULL AND reported_at < ?)",
        lambda inputs: inputs.now_ms,
    ),
    # An expired or revoked invitation code lets nobody in any more.
    RetentionRule(
        "invitation_codes",
        "DELETE FROM invitation_codes WHERE expires_at < ?1 OR revoked_at < ?1",
        lambda inputs: inputs.now_ms,
    ),
    # Not personal data, only the IDs that stop a repeated sync from being handled twice.
    RetentionRule(
        "handled_events",
        "DELETE FROM handled_events WHERE handled_at < ?",
        lambda inputs: inputs.now_ms - HANDLED_RETENTION_MS,
    ),
]


@dataclass(frozen=True, slots=True)
class ErasureRule:
    """Statements that each take the user ID once; their row counts add up to the kind's."""

    kind: str
    statements: tuple[str, ...]


ERASURE_RULES: list[ErasureRule] = [
    ErasureRule("incidents", (_ANONYMISE_INCIDENT + " WHERE sender = ?",)),
    ErasureRule("strikes", ("DELETE FROM strikes WHERE user_id = ?",)),
    ErasureRule("memberships", ("DELETE FROM member_history WHERE user_id = ?",)),
    ErasureRule(
        "audit",
        (
            "UPDATE audit SET target = NULL, reason = NULL, details = '{}' WHERE target = ?",
            "UPDATE audit SET actor = '' WHERE actor = ?",
        ),
    ),
    ErasureRule("direct_rooms", ("DELETE FROM direct_rooms WHERE user_id = ?",)),
    ErasureRule("join_requests", ("DELETE FROM join_requests WHERE user_id = ?",)),
    ErasureRule(
        "acceptances",
        (
            "DELETE FROM rule_acceptances WHERE user_id = ?",
            "DELETE FROM gate_pending WHERE user_id = ?",
        ),
    ),
    ErasureRule("face_tips", ("DELETE FROM face_tips WHERE user_id = ?",)),
    ErasureRule("alarm_test_reads", ("DELETE FROM alarm_test_reads WHERE user_id = ?",)),
    # A moderator's codes keep working for the neighbours they were given to; who made or
    # revoked them is forgotten.
    ErasureRule(
        "invitation_codes",
        (
            "UPDATE invitation_codes SET created_by = '' WHERE created_by = ?",
            "UPDATE invitation_codes SET revoked_by = NULL WHERE revoked_by = ?",
        ),
    ),
]


class GovernanceRepository:
    def __init__(
        self,
        db: Database,
        retention: Sequence[RetentionRule] = RETENTION_RULES,
        erasure: Sequence[ErasureRule] = ERASURE_RULES,
    ) -> None:
        self._db = db
        self.retention = list(retention)
        self.erasure = list(erasure)

    async def purge(self, conn: aiosqlite.Connection, inputs: RetentionInputs) -> dict[str, int]:
        """Apply every retention rule on ``conn`` (inside the caller's transaction)."""
        counts = {}
        for rule in self.retention:
            cursor = await conn.execute(rule.statement, (rule.cutoff(inputs),))
            counts[rule.kind] = max(cursor.rowcount, 0)
        return counts

    async def erase_user(self, user_id: str) -> dict[str, int]:
        """AVG/GDPR erasure of one person, every kind at once (all or nothing)."""
        counts: dict[str, int] = {}
        async with self._db.transaction() as conn:
            for rule in self.erasure:
                total = 0
                for statement in rule.statements:
                    cursor = await conn.execute(statement, (user_id,))
                    total += max(cursor.rowcount, 0)
                counts[rule.kind] = total
        return counts
