"""One door for direct chats: the bot's private room with a person, found or made once.

Greetings, reminders, invitation texts and sign-ups all say "tell this person privately". The
room is looked up in the store first, then in the bot's ``m.direct`` account data (a room made
by an earlier install, or marked by another client of the bot), and only then created, marked
in ``m.direct`` and remembered. A room the person has left is not reused. One person at a time:
two rooms greeting the same newcomer at once still share one chat.
"""

from __future__ import annotations

import asyncio
import logging

from bot.domain.formatting import Rich
from bot.matrix.client import MatrixClient, MatrixError
from bot.store import Store
from bot.store.rooms import RoomRole

log = logging.getLogger(__name__)


class DirectChats:
    def __init__(self, client: MatrixClient, store: Store) -> None:
        self._client = client
        self._store = store
        self._locks: dict[str, asyncio.Lock] = {}

    def _usable(self, room_id: str | None, user_id: str) -> bool:
        return room_id is not None and user_id in self._client.members_and_invited(room_id)

    async def room_for(self, user_id: str) -> str:
        """The direct chat with ``user_id``, created (and invited to) if there is none."""
        async with self._locks.setdefault(user_id, asyncio.Lock()):
            stored = await self._store.direct.get(user_id)
            if self._usable(stored, user_id):
                return str(stored)
            try:
                marked = (await self._client.direct_rooms()).get(user_id, [])
            except MatrixError as exc:
                log.warning("m.direct unreadable (%s); making a new direct chat", exc)
                marked = []
            for room_id in reversed(marked):
                if self._usable(room_id, user_id):
                    await self._remember(user_id, room_id)
                    return room_id
            room_id = await self._client.create_direct_room(user_id)
            await self._remember(user_id, room_id)
            try:
                await self._client.mark_direct(user_id, room_id)
            except MatrixError as exc:
                log.warning("could not mark %s in m.direct: %s", room_id, exc)
            if not await self._client.wait_for_member_keys(room_id, user_id):
                log.warning("sending to %s before their devices are known", room_id)
            return room_id

    async def _remember(self, user_id: str, room_id: str) -> None:
        await self._store.rooms.joined(room_id, RoomRole.DIRECT)
        await self._store.direct.save(user_id, room_id)

    async def send(self, user_id: str, text: Rich, txn: str) -> tuple[str, str]:
        """Say something only this person should read; returns ``(room_id, event_id)``."""
        room_id = await self.room_for(user_id)
        event_id = await self._client.send_message(room_id, text, txn, notice=False)
        return room_id, event_id
