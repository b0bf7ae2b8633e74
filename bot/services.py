"""The shared services every feature gets: settings, the Matrix adapter and the store."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from bot.domain.classifier import Classifier, classifier_for
from bot.domain.formatting import Rich
from bot.matrix.admin import SynapseAdmin
from bot.matrix.client import MatrixClient
from bot.matrix.direct import DirectChats
from bot.scheduler import Scheduler
from bot.settings import Settings
from bot.store import Store

log = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    client: MatrixClient
    store: Store
    coordination_room_id: str | None = None
    classifier: Classifier = field(init=False)
    direct: DirectChats = field(init=False)
    scheduler: Scheduler = field(init=False)
    admin: SynapseAdmin | None = field(init=False)  # None: no BUURTBOT_ADMIN_TOKEN set

    def __post_init__(self) -> None:
        self.direct = DirectChats(self.client, self.store)
        # One vocabulary for every feature: loading a custom directory costs real time.
        self.classifier = classifier_for(self.settings.vocabulary_dir)
        # One scheduler for periodic work; features add their jobs when constructed.
        self.scheduler = Scheduler(self.store.db)
        token = self.settings.admin_token
        self.admin = SynapseAdmin(self.settings.homeserver, token) if token else None

    async def post_to_coordination(
        self, text: Rich, txn: str, *, notice: bool = True
    ) -> str | None:
        """Post to the beheerdersgroep if one is configured and joined; ``None`` otherwise."""
        room_id = self.coordination_room_id
        if room_id is None or room_id not in self.client.joined_room_ids():
            log.warning("no joined coordination room; a message for it was not posted")
            return None
        return await self.client.send_message(room_id, text, txn, notice=notice)
