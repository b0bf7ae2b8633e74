"""A private privacy tip for photos with a recognisable face (off unless ``face_tip.enabled``).

The Autoriteit Persoonsgegevens advises that photos in which people are recognisable go to the
police, not into a group of hundreds. When such a photo is posted in a watch room, its poster
gets one friendly direct message on how to do that instead, at most once per person per
``interval_days``. Nothing is removed or penalised, and nothing about the photo is kept: it is
downloaded through the matrix adapter (decrypted in memory when the room is encrypted), looked
at once, and dropped.

Looking takes a moment, so it runs beside the room's worker rather than in it: the next report
in the room is never held up by a photo.
"""

from __future__ import annotations

import asyncio
import logging
import time

from bot.background import cancel_and_wait
from bot.domain.faces import UnreadableImageError, count_faces
from bot.domain.message import Message
from bot.features.base import Context, Feature
from bot.features.incidents import is_stale
from bot.features.sanctions import Sanctions
from bot.i18n.catalog import Language, t
from bot.matrix.client import MatrixError, MediaError, txn_id
from bot.services import Services
from bot.store.rooms import RoomRole

log = logging.getLogger(__name__)

DAY_MS = 86_400_000


class FaceTipFeature(Feature):
    name = "face_tip"

    def __init__(self, services: Services, sanctions: Sanctions) -> None:
        super().__init__(services)
        self.sanctions = sanctions
        self._tasks: set[asyncio.Task[None]] = set()
        self._one_at_a_time = asyncio.Semaphore(1)  # decoding a photo takes memory and a core

    @property
    def _interval_ms(self) -> int:
        return self.services.settings.face_tip.interval_days * DAY_MS

    async def start(self) -> None:
        if self.services.settings.face_tip.enabled:
            cutoff = int(time.time() * 1000) - self._interval_ms
            await self.services.store.face_tips.purge_older_than(cutoff)

    async def stop(self) -> None:
        await cancel_and_wait(self._tasks)

    async def on_message(self, ctx: Context) -> None:
        settings = self.services.settings
        msg = ctx.message
        if not settings.face_tip.enabled or ctx.role is not RoomRole.WATCH:
            return
        if msg.msgtype != "m.image" or msg.attachment is None or settings.is_police(msg.sender):
            return
        if is_stale(msg.ts, int(time.time() * 1000), settings.incidents.stale_after_seconds):
            return  # a tip about a photo from hours ago helps nobody
        task = asyncio.create_task(self.check(msg, ctx.language), name=f"face tip {msg.event_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def check(self, msg: Message, language: Language) -> bool:
        """Look at one photo and tip its poster if it shows a face; whether a tip was sent."""
        async with self._one_at_a_time:
            if not await self._shows_a_face(msg):
                return False
        tips = self.services.store.face_tips
        if not await tips.claim(msg.sender, int(time.time() * 1000), self._interval_ms):
            log.info("face in %s; %s already had the tip recently", msg.event_id, msg.sender)
            return False
        try:
            await self.sanctions.direct_message(
                msg.sender,
                t("face_tip.tip", language, days=self.services.settings.face_tip.interval_days),
                txn_id(msg.event_id, "face-tip"),
            )
        except MatrixError as exc:
            log.warning("could not send the face tip for %s: %s", msg.event_id, exc)
            await tips.erase_user(msg.sender)  # try again with the next photo
            return False
        log.info("face tip sent for %s", msg.event_id)
        return True

    async def _shows_a_face(self, msg: Message) -> bool:
        """Download, decrypt and look; the photo lives only in this call's memory."""
        assert msg.attachment is not None
        try:
            image = await self.services.client.download_media(
                msg.attachment, self.services.settings.face_tip.max_image_bytes
            )
            faces = await asyncio.to_thread(count_faces, image)
        except (MatrixError, MediaError, UnreadableImageError) as exc:
            log.info("face check of %s skipped: %s", msg.event_id, exc)
            return False
        if not faces:
            log.info("no face in %s", msg.event_id)
        return faces > 0
