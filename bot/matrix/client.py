"""The only place that talks to matrix-nio.

Everything else speaks in room IDs, event IDs, ``Rich`` texts and plain dicts. This adapter
owns the login session (restored from the store so the E2EE device survives restarts), the
crypto store, the per-room state the permission checks need (creators and power levels, which
nio does not model for room version 12), and the send helpers with idempotent transaction IDs.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import quote

import aiohttp
from nio import (
    AsyncClient,
    AsyncClientConfig,
    DirectRoomsResponse,
    DownloadError,
    EncryptionError,
    ErrorResponse,
    JoinError,
    LocalProtocolError,
    LoginResponse,
    MemoryDownloadResponse,
    MessageDirection,
    RoomGetStateEventError,
    RoomGetStateResponse,
    RoomMessagesResponse,
    RoomPreset,
    RoomResolveAliasResponse,
    RoomVisibility,
    SyncError,
    SyncResponse,
    UploadResponse,
)
from nio.crypto import decrypt_attachment

from bot.domain.formatting import Rich
from bot.domain.message import Attachment
from bot.domain.power import RoomPower, with_user_level
from bot.matrix import keyrequests
from bot.matrix.cryptostore import BotCryptoStore, IndexedDeviceStore
from bot.matrix.keysharing import KeySharing
from bot.settings import Settings
from bot.store.state import Session, StateRepository

log = logging.getLogger(__name__)

HTML_FORMAT = "org.matrix.custom.html"

# Errors that will not go away by trying again: the room or permission is gone.
PERMANENT_ERRCODES = frozenset(
    {"M_FORBIDDEN", "M_NOT_FOUND", "M_UNKNOWN_TOKEN", "M_BAD_JSON", "M_NOT_JSON", "M_TOO_LARGE"}
)


# Given the current content and the room's power, the new content (or None: leave it be).
PowerLevelsChange = Callable[[dict[str, Any], RoomPower], dict[str, Any] | None]

# Enough timeline per room that a gap (and a /messages backfill) is the exception.
SYNC_FILTER = {"room": {"timeline": {"limit": 100}}}
BACKFILL_LIMIT = 5000


class MatrixError(Exception):
    """A request the homeserver refused; ``permanent`` says whether retrying can help."""

    def __init__(self, action: str, errcode: str | None, message: str, permanent: bool) -> None:
        super().__init__(f"{action}: {errcode or 'error'}: {message}")
        self.errcode = errcode
        self.permanent = permanent


class LoginFailedError(Exception):
    pass


class MediaError(Exception):
    """A media file that cannot be had: too large, malformed reference, failed decryption."""


MEDIA_TIMEOUT_S = 60.0


def txn_id(*parts: str) -> str:
    """A transaction ID derived from what the send is *about*.

    Synapse deduplicates sends with the same access token and transaction ID, so handling the
    same event twice after a crash produces the same request and not a second message.
    """
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:40]
    return f"bw{digest}"


def _check(response: Any, action: str) -> Any:
    if isinstance(response, ErrorResponse):
        errcode = response.status_code
        permanent = errcode in PERMANENT_ERRCODES
        raise MatrixError(action, errcode, response.message or "", permanent)
    return response


class MatrixClient:
    """A logged-in bot device with the helpers the features need."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        settings.crypto_store_dir.mkdir(parents=True, exist_ok=True)
        config = AsyncClientConfig(
            encryption_enabled=True,
            store_sync_tokens=False,  # our own store keeps the token, in step with the inbox
            max_limit_exceeded=None,  # honour every M_LIMIT_EXCEEDED with its retry_after_ms
            max_timeouts=None,  # keep retrying a lost connection ...
            backoff_factor=0.5,
            max_timeout_retry_wait_time=settings.max_backoff_seconds,  # ... with capped backoff
            request_timeout=max(60.0, settings.sync_timeout_ms / 1000 + 30),
            store=BotCryptoStore,
        )
        self.nio = AsyncClient(
            settings.homeserver,
            settings.user_id,
            store_path=str(settings.crypto_store_dir),
            config=config,
        )
        encryption = settings.encryption
        logging.getLogger("nio.crypto").setLevel(encryption.crypto_log_level)
        self.keys = KeySharing(
            self.nio,
            background_rooms=encryption.background_rooms,
            devices_per_request=encryption.devices_per_request,
            claim_retry_s=encryption.claim_retry_seconds,
        )
        self._create: dict[str, dict[str, Any]] = {}
        self._power_levels: dict[str, dict[str, Any]] = {}
        self._power_locks: dict[str, asyncio.Lock] = {}
        self._restored = False  # the last run's outbound megolm sessions

    @property
    def user_id(self) -> str:
        return self.settings.user_id

    @property
    def device_id(self) -> str:
        return str(self.nio.device_id or "")

    # -- session -------------------------------------------------------------------------

    async def login(self, state: StateRepository) -> Session:
        """Restore the stored session, or log in once and store it.

        A new device per restart would lose every megolm session and make residents' clients
        warn about unknown devices, so the password is used only when nothing is stored.
        """
        session = await state.session()
        if session is None and self.settings.access_token is not None:
            if not self.settings.device_id:
                raise LoginFailedError("access_token needs device_id (BUURTBOT_DEVICE_ID) as well")
            session = Session(
                self.user_id, self.settings.device_id, self.settings.access_token.get_secret_value()
            )
            await state.save_session(session)
        if session is None:
            if self.settings.password is None:
                raise LoginFailedError("no stored session and no password to log in with")
            response = await self.nio.login(
                self.settings.password.get_secret_value(), device_name=self.settings.device_name
            )
            if not isinstance(response, LoginResponse):
                raise LoginFailedError(f"login as {self.user_id} failed: {response.message}")
            session = Session(response.user_id, response.device_id, response.access_token)
            await state.save_session(session)
            log.info("logged in as %s, new device %s", session.user_id, session.device_id)
        else:
            self.nio.restore_login(session.user_id, session.device_id, session.access_token)
            log.info("restored session of %s, device %s", session.user_id, session.device_id)
        if self.nio.should_upload_keys:
            _check(await self.nio.keys_upload(), "keys upload")
        if self.nio.olm is not None:
            if not isinstance(self.nio.olm.device_store, IndexedDeviceStore):  # a new account
                self.nio.olm.device_store = IndexedDeviceStore.of(self.nio.olm.device_store)
            # nio forgets which users' device lists it follows and would query every member of
            # every room again after each restart; the stored devices are kept current by the
            # sync's device_lists.changed, as the spec intends.
            self.nio.olm.tracked_users.update(self.nio.olm.device_store.users)
        self.keys.start()
        return session

    async def close(self) -> None:
        await self.keys.stop()
        if isinstance(self.nio.store, BotCryptoStore):
            self.nio.store.flush()
        await self.nio.close()

    # -- sync ----------------------------------------------------------------------------

    async def sync(self, since: str | None, timeout_ms: int, full_state: bool) -> SyncResponse:
        response = await self.nio.sync(
            timeout=timeout_ms, since=since, full_state=full_state, sync_filter=SYNC_FILTER
        )
        if isinstance(response, SyncError):
            raise MatrixError("sync", response.status_code, response.message or "", False)
        self._remember_state(response)
        for room_id in response.rooms.join:
            # The filter loads members eagerly, so sync gives nio every member: without this
            # nio fetches /joined_members before the first encrypted send of each process,
            # on the alert's path.
            if (room := self.nio.rooms.get(room_id)) is not None:
                room.members_synced = True
        return response

    async def backfill(self, room_id: str, start: str, stop: str) -> list[Any]:
        """Events between two tokens, oldest first (decrypted by nio where possible)."""
        newest_first: list[Any] = []
        token: str | None = start
        while token and len(newest_first) < BACKFILL_LIMIT:
            response = await self.nio.room_messages(
                room_id, start=token, end=stop, direction=MessageDirection.back, limit=100
            )
            if not isinstance(response, RoomMessagesResponse):
                raise MatrixError("backfill", response.status_code, response.message, False)
            newest_first.extend(response.chunk)
            if not response.chunk or not response.end or response.end == token:
                break
            token = response.end
        return list(reversed(newest_first))

    def forget_sync_position(self) -> None:
        """Make nio process a repeated batch again (it skips a ``next_batch`` it has seen)."""
        self.nio.next_batch = ""

    async def after_sync(self) -> None:
        """The E2EE housekeeping nio's ``sync_forever`` would do: keys out, keys in; then
        queue the background room-key shares the batch made necessary (joins, leaves, new
        devices, rotated sessions)."""
        await self.nio.send_to_device_messages()
        if self.nio.should_upload_keys:
            await self.nio.keys_upload()
        await self.keys.query_keys()
        if self.nio.should_claim_keys:
            await keyrequests.claim(self.nio, self.nio.get_users_for_key_claiming())
        if not self._restored:
            self._restored = True
            self.keys.restore()
        self.keys.review()

    def _remember_state(self, response: SyncResponse) -> None:
        for room_id, info in response.rooms.join.items():
            events = [*info.state, *info.timeline.events]
            for event in events:
                source = getattr(event, "source", None)
                if not isinstance(source, dict) or source.get("state_key") != "":
                    continue
                if source.get("type") == "m.room.create":
                    self._create[room_id] = source
                elif source.get("type") == "m.room.power_levels" and isinstance(
                    source.get("content"), dict
                ):
                    self._power_levels[room_id] = source["content"]
        for room_id in response.rooms.leave:
            self._create.pop(room_id, None)
            self._power_levels.pop(room_id, None)

    # -- room facts ----------------------------------------------------------------------

    def joined_room_ids(self) -> list[str]:
        return list(self.nio.rooms)

    def room_power(self, room_id: str) -> RoomPower:
        return RoomPower.from_state(self._create.get(room_id), self._power_levels.get(room_id))

    def room_creator(self, room_id: str) -> str | None:
        """Who sent the room's ``m.room.create`` (known once its state was synced or fetched)."""
        sender = self._create.get(room_id, {}).get("sender")
        return sender if isinstance(sender, str) else None

    def room_name(self, room_id: str) -> str:
        room = self.nio.rooms.get(room_id)
        return room.display_name if room else room_id

    def canonical_alias(self, room_id: str) -> str | None:
        room = self.nio.rooms.get(room_id)
        return room.canonical_alias if room else None

    def members(self, room_id: str) -> dict[str, str | None]:
        """Joined members and their display names (None when they set none)."""
        room = self.nio.rooms.get(room_id)
        if room is None:
            return {}
        return {uid: user.display_name for uid, user in room.users.items()}

    def members_and_invited(self, room_id: str) -> set[str]:
        """Everyone joined or invited; empty for a room the bot is not in."""
        room = self.nio.rooms.get(room_id)
        return set(room.users) | set(room.invited_users) if room is not None else set()

    def joined_members(self, room_id: str) -> set[str]:
        """Only those who joined (nio's ``users`` includes the invited)."""
        room = self.nio.rooms.get(room_id)
        return set(room.users) - set(room.invited_users) if room is not None else set()

    def room_link(self, room_id: str) -> str:
        """A matrix.to link anyone can open: the alias if there is one, else the ID with a
        server to ask (room version 12 IDs name none)."""
        room = self.nio.rooms.get(room_id)
        alias = room.canonical_alias if room is not None else None
        server = self.user_id.split(":", 1)[1]
        return (
            f"https://matrix.to/#/{alias}"
            if alias
            else f"https://matrix.to/#/{room_id}?via={server}"
        )

    def display_name(self, room_id: str, user_id: str) -> str:
        room = self.nio.rooms.get(room_id)
        if room is not None and (name := room.user_name(user_id)):
            return str(name)
        return user_id

    async def event_sender(self, room_id: str, event_id: str) -> str:
        """Who sent an event (readable even when we cannot decrypt it)."""
        response = _check(await self.nio.room_get_event(room_id, event_id), "get event")
        return str(response.event.sender)

    async def download_media(self, attachment: Attachment, max_bytes: int) -> bytes:
        """The file of a media event, decrypted when it was sent encrypted; in memory only.

        Encrypted rooms send a ``file`` object (AES-CTR key, IV, SHA-256 of the ciphertext):
        the hash is checked before anything is decrypted. Nothing is written to disk.
        """
        if attachment.size is not None and attachment.size > max_bytes:
            raise MediaError(f"announced size {attachment.size} is over {max_bytes} bytes")
        url = attachment.url
        if not url.startswith("mxc://") or "/" not in url[6:]:
            raise MediaError("not an mxc:// URL")
        try:
            response = await asyncio.wait_for(self.nio.download(mxc=url), MEDIA_TIMEOUT_S)
        except TimeoutError as exc:
            raise MediaError(f"download took longer than {MEDIA_TIMEOUT_S:.0f} s") from exc
        if isinstance(response, DownloadError):
            permanent = response.status_code in PERMANENT_ERRCODES
            raise MatrixError("download", response.status_code, response.message, permanent)
        if not isinstance(response, MemoryDownloadResponse) or not isinstance(response.body, bytes):
            raise MediaError("unexpected download response")
        data = response.body
        if len(data) > max_bytes:
            raise MediaError(f"file of {len(data)} bytes is over {max_bytes} bytes")
        encrypted = attachment.encrypted_file
        if encrypted is None:
            return data
        key, iv, hashes = encrypted.get("key"), encrypted.get("iv"), encrypted.get("hashes")
        if not (
            isinstance(key, dict)
            and isinstance(key.get("k"), str)
            and isinstance(iv, str)
            and isinstance(hashes, dict)
            and isinstance(hashes.get("sha256"), str)
        ):
            raise MediaError("malformed encrypted file object")
        try:
            return bytes(decrypt_attachment(data, key["k"], hashes["sha256"], iv))
        except EncryptionError as exc:
            raise MediaError(f"cannot decrypt: {exc}") from exc

    @property
    def server_name(self) -> str:
        return self.user_id.split(":", 1)[1]

    async def fetch_room_state(self, room_id: str) -> tuple[RoomPower, str | None]:
        """The room's power and name as the homeserver has them now (right after a join,
        before sync brings its state); the cache the permission checks use is refreshed."""
        response = await self.nio.room_get_state(room_id)
        if not isinstance(response, RoomGetStateResponse):
            raise MatrixError("read state", response.status_code, response.message, True)
        name = None
        for event in response.events:
            if not isinstance(event, dict) or event.get("state_key") != "":
                continue
            content = event.get("content") if isinstance(event.get("content"), dict) else {}
            if event.get("type") == "m.room.create":
                self._create[room_id] = event
            elif event.get("type") == "m.room.power_levels":
                self._power_levels[room_id] = content
            elif event.get("type") == "m.room.name" and isinstance(content.get("name"), str):
                name = content["name"] or None
        return self.room_power(room_id), name

    async def default_room_version(self) -> str:
        """The version the homeserver gives new rooms (``/capabilities``); it decides whether
        the creator may be listed in ``power_levels.users``."""
        url = f"{self.settings.homeserver}/_matrix/client/v3/capabilities"
        headers = {"Authorization": f"Bearer {self.nio.access_token}"}
        async with aiohttp.ClientSession() as http, http.get(url, headers=headers) as response:
            data = await response.json(content_type=None)
            if response.status >= 400 or not isinstance(data, dict):
                errcode = data.get("errcode") if isinstance(data, dict) else None
                raise MatrixError("capabilities", errcode, str(response.status), False)
        versions = data.get("capabilities", {}).get("m.room_versions", {})
        return str(versions.get("default") or "1")

    async def event_ts(self, room_id: str, event_id: str) -> int:
        """When an event was sent (its ``origin_server_ts``), readable even if encrypted."""
        response = _check(await self.nio.room_get_event(room_id, event_id), "get event")
        return int(response.event.server_timestamp)

    async def resolve_room(self, reference: str) -> str:
        if reference.startswith("!"):
            return reference
        response = await self.nio.room_resolve_alias(reference)
        if not isinstance(response, RoomResolveAliasResponse):
            raise MatrixError("resolve alias", response.status_code, response.message, True)
        return response.room_id

    # -- membership ----------------------------------------------------------------------

    async def join(self, room_id: str) -> None:
        response = await self.nio.join(room_id)
        if isinstance(response, JoinError):
            raise MatrixError("join", response.status_code, response.message, True)

    async def create_direct_room(self, user_id: str) -> str:
        """A private, encrypted room with one person, for things only they should read."""
        response = await self.nio.room_create(
            visibility=RoomVisibility.private,
            preset=RoomPreset.trusted_private_chat,
            is_direct=True,
            invite=[user_id],
            initial_state=[
                {
                    "type": "m.room.encryption",
                    "state_key": "",
                    "content": {"algorithm": "m.megolm.v1.aes-sha2"},
                }
            ],
        )
        return str(_check(response, "create direct room").room_id)

    async def wait_for_member_keys(self, room_id: str, user_id: str, wait_s: float = 15.0) -> bool:
        """Wait until sync shows ``user_id`` in the room (invited is enough) and their device
        keys are known, so the first encrypted message is readable for them."""
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            room = self.nio.rooms.get(room_id)
            if room is not None and user_id in room.users and not self.nio.should_query_keys:
                return True
            await asyncio.sleep(0.1)
        return False

    async def create_room(
        self,
        *,
        name: str,
        alias: str | None,
        topic: str | None,
        room_version: str | None,
        initial_state: list[dict[str, Any]],
        power_levels: dict[str, Any],
    ) -> str:
        """A private room with the given state; ``M_ROOM_IN_USE`` when the alias is taken."""
        response = await self.nio.room_create(
            visibility=RoomVisibility.private,
            alias=alias,
            name=name,
            topic=topic,
            room_version=room_version,
            preset=RoomPreset.private_chat,
            initial_state=initial_state,
            power_level_override=power_levels,
        )
        return str(_check(response, "create room").room_id)

    async def invite(self, room_id: str, user_id: str) -> None:
        _check(await self.nio.room_invite(room_id, user_id), "invite")

    async def put_state(
        self, room_id: str, event_type: str, content: dict[str, Any], state_key: str = ""
    ) -> str:
        response = await self.nio.room_put_state(room_id, event_type, content, state_key)
        return str(_check(response, "put state").event_id)

    async def leave(self, room_id: str) -> None:
        _check(await self.nio.room_leave(room_id), "leave")

    async def kick(self, room_id: str, user_id: str, reason: str | None = None) -> None:
        _check(await self.nio.room_kick(room_id, user_id, reason), "kick")

    async def ban(self, room_id: str, user_id: str, reason: str | None = None) -> None:
        _check(await self.nio.room_ban(room_id, user_id, reason), "ban")

    async def unban(self, room_id: str, user_id: str) -> None:
        _check(await self.nio.room_unban(room_id, user_id), "unban")

    async def set_power_level(self, room_id: str, user_id: str, level: int | None) -> None:
        """Set (or with ``None`` reset) one user's level, reading the current event first."""
        await self.edit_power_levels(
            room_id, lambda content, power: with_user_level(content, power, user_id, level)
        )

    async def edit_power_levels(self, room_id: str, change: PowerLevelsChange) -> bool:
        """Read the room's power levels, apply ``change`` and write the result back.

        One edit per room at a time (mutes, the gate and commands run in different tasks), so
        no edit overwrites another's with a stale copy. ``change`` returns ``None`` when nothing
        needs writing; the result says whether something was written.
        """
        async with self._power_locks.setdefault(room_id, asyncio.Lock()):
            current = await self.nio.room_get_state_event(room_id, "m.room.power_levels")
            if isinstance(current, RoomGetStateEventError):
                raise MatrixError("read power levels", current.status_code, current.message, False)
            power = RoomPower.from_state(self._create.get(room_id), current.content)
            content = change(current.content, power)
            if content is None:
                return False
            _check(
                await self.nio.room_put_state(room_id, "m.room.power_levels", content),
                "set power level",
            )
            self._power_levels[room_id] = content
            return True

    # -- direct chats (m.direct) -----------------------------------------------------------

    async def direct_rooms(self) -> dict[str, list[str]]:
        """The bot's ``m.direct`` account data: person -> their direct chats, newest last."""
        response = await self.nio.list_direct_rooms()
        if isinstance(response, DirectRoomsResponse):
            return {u: list(r) for u, r in response.rooms.items() if isinstance(r, list)}
        if response.status_code == "M_NOT_FOUND":
            return {}
        raise MatrixError("read m.direct", response.status_code, response.message or "", False)

    async def mark_direct(self, user_id: str, room_id: str) -> None:
        """Add a room to the bot's ``m.direct`` so every client of the bot shows it as a DM."""
        rooms = await self.direct_rooms()
        if room_id in rooms.get(user_id, []):
            return
        rooms[user_id] = [*rooms.get(user_id, []), room_id]
        path = f"/_matrix/client/v3/user/{quote(self.user_id)}/account_data/m.direct"
        response = await self.nio.send(
            "PUT",
            path,
            json.dumps(rooms),
            headers={"Authorization": f"Bearer {self.nio.access_token}"},
        )
        if response.status >= 400:
            raise MatrixError("write m.direct", str(response.status), await response.text(), False)

    # -- sending -------------------------------------------------------------------------

    async def send(
        self, room_id: str, content: Mapping[str, Any], txn: str, event_type: str = "m.room.message"
    ) -> str:
        """Send (encrypting where the room is encrypted) and return the new event ID.

        In an encrypted room the megolm session is normally shared already (in the
        background); if not, the share happens first, with background shares paused.
        """
        if room_id not in self.nio.rooms:
            raise MatrixError("send", "M_FORBIDDEN", f"not in room {room_id}", True)
        try:
            async with self.keys.sending(room_id):
                response = await self.nio.room_send(
                    room_id, event_type, dict(content), tx_id=txn, ignore_unverified_devices=True
                )
        except LocalProtocolError as exc:  # nio knows no such room: we are not in it
            raise MatrixError("send", "M_FORBIDDEN", str(exc), True) from exc
        room = self.nio.rooms.get(room_id)
        if room is not None and room.encrypted and self.nio.olm is not None:
            self.keys.remember(room_id)  # its message index moved on
            if self.nio.olm.should_share_group_session(room_id):
                self.keys.review()  # that message used the session up: rotate it ahead of time
        return str(_check(response, "send").event_id)

    async def send_message(
        self,
        room_id: str,
        text: Rich,
        txn: str,
        *,
        notice: bool = True,
        reply_to: str | None = None,
        thread_root: str | None = None,
        mention_users: Iterable[str] = (),
        mention_room: bool = False,
    ) -> str:
        content = message_content(
            text,
            notice=notice,
            reply_to=reply_to,
            thread_root=thread_root,
            mention_users=mention_users,
            mention_room=mention_room,
        )
        return await self.send(room_id, content, txn)

    async def reply(
        self,
        room_id: str,
        event_id: str,
        sender: str,
        text: Rich,
        purpose: str,
        *,
        thread_root: str | None = None,
    ) -> str:
        """Answer ``event_id`` (by ``sender``): a reply that mentions them, or in the thread.

        The transaction ID comes from the event and ``purpose``, so answering the same event
        again (after a crash, or from a restart that finishes what a handler began) is
        deduplicated by the homeserver instead of posted twice.
        """
        return await self.send_message(
            room_id,
            text,
            txn_id(event_id, purpose),
            reply_to=event_id,
            thread_root=thread_root,
            mention_users=() if thread_root else (sender,),
        )

    async def send_image(
        self,
        room_id: str,
        png: bytes,
        *,
        filename: str,
        width: int,
        height: int,
        alt_text: str,
        txn: str,
    ) -> str:
        """Upload a PNG and post it as ``m.image`` with its size and a text fallback.

        In an encrypted room the file is encrypted before upload (nio's ``encrypt=True``) and
        the event carries the key in ``file``, so the homeserver only ever stores ciphertext.
        """
        room = self.nio.rooms.get(room_id)
        encrypted = bool(room and room.encrypted)
        response, keys = await self.nio.upload(
            lambda *_: io.BytesIO(png),
            content_type="image/png",
            filename=filename,
            encrypt=encrypted,
            filesize=len(png),
        )
        if not isinstance(response, UploadResponse):
            raise MatrixError("upload", response.status_code, response.message or "", False)
        content: dict[str, Any] = {
            "msgtype": "m.image",
            "body": alt_text,
            "filename": filename,
            "info": {"mimetype": "image/png", "size": len(png), "w": width, "h": height},
            "m.mentions": {},
        }
        if encrypted and keys is not None:
            content["file"] = {**keys, "url": response.content_uri, "mimetype": "image/png"}
        else:
            content["url"] = response.content_uri
        return await self.send(room_id, content, txn)

    async def react(self, room_id: str, event_id: str, key: str, txn: str) -> str:
        content = {"m.relates_to": {"rel_type": "m.annotation", "event_id": event_id, "key": key}}
        return await self.send(room_id, content, txn, event_type="m.reaction")

    async def edit(self, room_id: str, event_id: str, text: Rich, txn: str, **kwargs: Any) -> str:
        new = message_content(text, **kwargs)
        new.pop("m.relates_to", None)
        content = {
            **message_content(
                Rich("* " + text.plain, text.html), notice=new["msgtype"] == "m.notice"
            ),
            "m.new_content": new,
            "m.relates_to": {"rel_type": "m.replace", "event_id": event_id},
        }
        return await self.send(room_id, content, txn)

    async def redact(
        self, room_id: str, event_id: str, txn: str, reason: str | None = None
    ) -> None:
        _check(await self.nio.room_redact(room_id, event_id, reason, tx_id=txn), "redact")


def message_content(
    text: Rich,
    *,
    notice: bool = True,
    reply_to: str | None = None,
    thread_root: str | None = None,
    mention_users: Iterable[str] = (),
    mention_room: bool = False,
) -> dict[str, Any]:
    """An ``m.room.message`` content with HTML, intentional mentions and relations.

    ``m.mentions`` is always present so clients never guess mentions from the body text: a
    watch room with hundreds of members must only buzz the people (or the room) meant.
    """
    mentions: dict[str, Any] = {}
    users = sorted(set(mention_users))
    if users:
        mentions["user_ids"] = users
    if mention_room:
        mentions["room"] = True
    content: dict[str, Any] = {
        "msgtype": "m.notice" if notice else "m.text",
        "body": text.plain,
        "format": HTML_FORMAT,
        "formatted_body": text.html,
        "m.mentions": mentions,
    }
    if thread_root is not None:
        content["m.relates_to"] = {
            "rel_type": "m.thread",
            "event_id": thread_root,
            "is_falling_back": reply_to is None,
            "m.in_reply_to": {"event_id": reply_to or thread_root},
        }
    elif reply_to is not None:
        content["m.relates_to"] = {"m.in_reply_to": {"event_id": reply_to}}
    return content
