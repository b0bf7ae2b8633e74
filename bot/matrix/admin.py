"""The door to Synapse's admin API, for registration tokens (the bot's invitation codes).

The bot account is deliberately not a server admin: the operator gives it a separate admin
access token (``BUURTBOT_ADMIN_TOKEN``) that is used for nothing but these calls. Without one
the bot still runs; the commands that need it say what the operator must set up.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp
from pydantic import SecretStr

log = logging.getLogger(__name__)

TOKENS_PATH = "/_synapse/admin/v1/registration_tokens"
REQUEST_TIMEOUT_S = 20.0


class AdminApiError(Exception):
    """The admin API refused or could not be reached; ``status`` 0 means no answer at all."""

    def __init__(self, action: str, status: int, errcode: str | None, message: str) -> None:
        super().__init__(f"{action}: HTTP {status} {errcode or ''} {message}".strip())
        self.status = status
        self.errcode = errcode


@dataclass(frozen=True, slots=True)
class RegistrationToken:
    """A token as Synapse reports it; ``expiry_time`` in unix ms, ``None`` = never."""

    token: str
    uses_allowed: int | None
    pending: int
    completed: int
    expiry_time: int | None

    @property
    def uses_left(self) -> int | None:
        if self.uses_allowed is None:
            return None
        return max(0, self.uses_allowed - self.pending - self.completed)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RegistrationToken:
        return cls(
            token=str(data["token"]),
            uses_allowed=data.get("uses_allowed"),
            pending=int(data.get("pending") or 0),
            completed=int(data.get("completed") or 0),
            expiry_time=data.get("expiry_time"),
        )


class SynapseAdmin:
    """Registration tokens through ``/_synapse/admin/v1/registration_tokens``."""

    def __init__(self, base_url: str, token: SecretStr) -> None:
        self._base = base_url.rstrip("/")
        self._token = token

    def __repr__(self) -> str:  # the token never reaches a log line
        return f"SynapseAdmin({self._base!r})"

    async def _call(
        self, action: str, method: str, path: str, body: dict[str, Any] | None = None
    ) -> Any:
        headers = {"Authorization": f"Bearer {self._token.get_secret_value()}"}
        timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as http,
                http.request(method, self._base + path, json=body, headers=headers) as response,
            ):
                data = await response.json(content_type=None)
                if response.status >= 400:
                    data = data if isinstance(data, dict) else {}
                    raise AdminApiError(
                        action, response.status, data.get("errcode"), str(data.get("error", ""))
                    )
                return data
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise AdminApiError(action, 0, None, type(exc).__name__) from exc

    async def create_token(
        self, uses_allowed: int | None, expiry_ms: int | None, code: str | None = None
    ) -> RegistrationToken:
        """A new token; ``code`` chooses its text (Synapse generates one without it)."""
        body: dict[str, Any] = {"uses_allowed": uses_allowed, "expiry_time": expiry_ms}
        if code is not None:
            body["token"] = code
        data = await self._call("create registration token", "POST", TOKENS_PATH + "/new", body)
        return RegistrationToken.from_json(data)

    async def get_token(self, token: str) -> RegistrationToken | None:
        try:
            data = await self._call("read registration token", "GET", _one(token))
        except AdminApiError as exc:
            if exc.status == 404:
                return None
            raise
        return RegistrationToken.from_json(data)

    async def list_tokens(self) -> list[RegistrationToken]:
        data = await self._call("list registration tokens", "GET", TOKENS_PATH)
        return [RegistrationToken.from_json(item) for item in data.get("registration_tokens", [])]

    async def delete_token(self, token: str) -> bool:
        """Delete a token; ``False`` when Synapse did not know it (already gone)."""
        try:
            await self._call("delete registration token", "DELETE", _one(token))
        except AdminApiError as exc:
            if exc.status == 404:
                return False
            raise
        return True


def _one(token: str) -> str:
    return f"{TOKENS_PATH}/{quote(token, safe='')}"
