"""Setting up accounts and rooms over the plain client-server API.

For ``buurtbot dev`` and the tests: a human would do this in Element. Not used by the bot,
which has its own adapter in ``bot/matrix``.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

import aiohttp


class SetupError(Exception):
    pass


class UserSession:
    """A logged-in account that can create rooms, invite, join and read state."""

    def __init__(self, base_url: str, user_id: str, access_token: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.user_id = user_id
        self._headers = {"Authorization": f"Bearer {access_token}"}

    async def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        async with (
            aiohttp.ClientSession() as http,
            http.request(
                method, f"{self.base_url}{path}", json=body, headers=self._headers
            ) as response,
        ):
            data = await response.json(content_type=None)
            if response.status >= 400:
                raise SetupError(f"{method} {path} as {self.user_id}: {response.status} {data}")
            return data

    async def create_room(
        self,
        name: str,
        *,
        encrypted: bool = True,
        invite: list[str] | None = None,
        power_users: dict[str, int] | None = None,
        events_default: int = 0,
        alias: str | None = None,
        topic: str | None = None,
    ) -> str:
        """A private room; ``power_users`` never lists the creator (room version 12 rule)."""
        body: dict[str, Any] = {
            "name": name,
            "preset": "private_chat",
            "invite": invite or [],
            "initial_state": [],
        }
        if topic:
            body["topic"] = topic
        if alias:
            body["room_alias_name"] = alias
        if encrypted:
            body["initial_state"].append(
                {
                    "type": "m.room.encryption",
                    "state_key": "",
                    "content": {"algorithm": "m.megolm.v1.aes-sha2"},
                }
            )
        users = {u: level for u, level in (power_users or {}).items() if u != self.user_id}
        override: dict[str, Any] = {"events_default": events_default}
        if users:
            override["users"] = users
        body["power_level_content_override"] = override
        data = await self.request("POST", "/_matrix/client/v3/createRoom", body)
        return str(data["room_id"])

    async def invite(self, room_id: str, user_id: str) -> None:
        path = f"/_matrix/client/v3/rooms/{quote(room_id)}/invite"
        await self.request("POST", path, {"user_id": user_id})

    async def join(self, room_id: str) -> None:
        await self.request("POST", f"/_matrix/client/v3/join/{quote(room_id)}", {})

    async def state(self, room_id: str, event_type: str, state_key: str = "") -> Any:
        path = f"/_matrix/client/v3/rooms/{quote(room_id)}/state/{event_type}/{quote(state_key)}"
        return await self.request("GET", path)

    async def put_state(
        self, room_id: str, event_type: str, content: dict[str, Any], state_key: str = ""
    ) -> None:
        path = f"/_matrix/client/v3/rooms/{quote(room_id)}/state/{event_type}/{quote(state_key)}"
        await self.request("PUT", path, content)

    async def send_text(self, room_id: str, body: str) -> str:
        """An unencrypted text message (for plain rooms in tests and demos)."""
        path = f"/_matrix/client/v3/rooms/{quote(room_id)}/send/m.room.message/{uuid.uuid4().hex}"
        data = await self.request("PUT", path, {"msgtype": "m.text", "body": body})
        return str(data["event_id"])

    async def messages(self, room_id: str, limit: int = 500) -> list[dict[str, Any]]:
        """The room's latest events, newest first, as the server stores them."""
        path = f"/_matrix/client/v3/rooms/{quote(room_id)}/messages?dir=b&limit={limit}"
        return list((await self.request("GET", path))["chunk"])

    async def joined_members(self, room_id: str) -> set[str]:
        path = f"/_matrix/client/v3/rooms/{quote(room_id)}/joined_members"
        data = await self.request("GET", path)
        return set(data["joined"])
