"""Persistence: one SQLite file, versioned migrations, one small repository per table group."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.store.admission import AdmissionRepository
from bot.store.alarm_tests import AlarmTestRepository
from bot.store.areas import AreaRepository
from bot.store.audit import AuditRepository
from bot.store.conduct import ConductRepository
from bot.store.database import Database
from bot.store.direct import DirectRoomRepository
from bot.store.face_tips import FaceTipRepository
from bot.store.gate import GateRepository
from bot.store.governance import GovernanceRepository
from bot.store.inbox import InboxRepository
from bot.store.incidents import IncidentRepository
from bot.store.invitations import InvitationRepository
from bot.store.members import MemberRepository
from bot.store.policy import PolicyRepository
from bot.store.rooms import RoomRepository
from bot.store.state import StateRepository


@dataclass(frozen=True, slots=True)
class Store:
    """All repositories over one database, opened together and closed together."""

    db: Database
    state: StateRepository
    rooms: RoomRepository
    audit: AuditRepository
    inbox: InboxRepository
    incidents: IncidentRepository
    conduct: ConductRepository
    face_tips: FaceTipRepository
    admission: AdmissionRepository
    gate: GateRepository
    direct: DirectRoomRepository
    members: MemberRepository
    policy: PolicyRepository
    governance: GovernanceRepository
    invitations: InvitationRepository
    areas: AreaRepository
    alarm_tests: AlarmTestRepository

    @classmethod
    async def open(cls, path: Path) -> Store:
        db = await Database.open(path)
        return cls(
            db,
            StateRepository(db),
            RoomRepository(db),
            AuditRepository(db),
            InboxRepository(db),
            IncidentRepository(db),
            ConductRepository(db),
            FaceTipRepository(db),
            AdmissionRepository(db),
            GateRepository(db),
            DirectRoomRepository(db),
            MemberRepository(db),
            PolicyRepository(db),
            GovernanceRepository(db),
            InvitationRepository(db),
            AreaRepository(db),
            AlarmTestRepository(db),
        )

    async def close(self) -> None:
        await self.db.close()
