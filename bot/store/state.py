"""The bot's own small state: where sync stands and which device it is."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass

from bot.store.database import Database


@dataclass(frozen=True, slots=True)
class Session:
    """What a restart needs to come back as the same E2EE device."""

    user_id: str
    device_id: str
    access_token: str

    def __repr__(self) -> str:  # never let the token reach a log line
        return f"Session(user_id={self.user_id!r}, device_id={self.device_id!r})"


class StateRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def _get(self, key: str) -> str | None:
        row = await self._db.fetchone("SELECT value FROM kv WHERE key = ?", (key,))
        return str(row["value"]) if row else None

    async def _set(self, key: str, value: str) -> None:
        await self._db.execute(
            "INSERT INTO kv (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    async def sync_token(self) -> str | None:
        return await self._get("sync_token")

    async def session(self) -> Session | None:
        raw = await self._get("session")
        return Session(**json.loads(raw)) if raw else None

    async def save_session(self, session: Session) -> None:
        payload = {
            "user_id": session.user_id,
            "device_id": session.device_id,
            "access_token": session.access_token,
        }
        await self._set("session", json.dumps(payload))

    async def pseudonym_key(self) -> bytes:
        """The export's pseudonym key when none is configured: made once, then kept here so
        pseudonyms stay stable across runs."""
        await self._db.execute(
            "INSERT OR IGNORE INTO kv (key, value) VALUES ('pseudonym_key', ?)",
            (secrets.token_hex(32),),
        )
        value = await self._get("pseudonym_key")
        assert value is not None
        return bytes.fromhex(value)
