"""nio's default crypto store with the write pattern and lookups a municipality needs.

matrix-nio 0.26's ``DefaultStore`` is built for one person's few hundred devices. Two of its
habits cost the bot most of its per-device CPU when it shares a room key with thousands of
devices (profiled, see tests/bench/README.md):

- every new Olm session saves the *whole* Olm account (pickled and encrypted twice) and the
  session, and encrypting the room key saves the session again: three pickles, four SQLite
  commits per device. Here writes are coalesced: the newest state of the account and of each
  session is written once, in one transaction, at the next turn of the event loop. That turn
  comes before any request the change belongs to is sent (the to-device sends are tasks
  scheduled after it), so nothing reaches the wire that is not on disk.
- the trust lists (verified, blacklisted, ignored devices) are Python lists scanned per lookup,
  and a share asks three of them about every device: quadratic in the number of devices the bot
  ever saw. Here each list keeps a dict index beside it; the files stay the same.
- every Olm session is loaded into memory at start-up and kept there: 3.8 KiB each, 75 MiB at
  a municipality's 20,000 devices, of which a share needs one room's worth at a time. Here the
  session store knows which devices have a session and holds only the recently used ones.

This is nio's public extension point (``AsyncClientConfig.store``); nio itself is not patched.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from nio.crypto import DeviceStore, OlmDevice, TrustState
from nio.crypto.memorystores import SessionStore
from nio.crypto.sessions import OutboundGroupSession, Session
from nio.store import DefaultStore
from nio.store.file_trustdb import Key, KeyStore
from nio.store.models import Accounts, DeviceKeys, Keys, OlmSessions
from peewee import BlobField, DateTimeField, IntegerField, Model, TextField

log = logging.getLogger(__name__)

OUTBOUND_DELAY_S = 1.0
# Devices whose Olm sessions stay in memory (least recently used go first): several rooms'
# worth, so a share never loads a session twice, and a few MiB however large the network.
SESSIONS_IN_MEMORY = 2048


class BotOutboundSessions(Model):
    """The bot's outbound megolm session per room (nio keeps them only in memory)."""

    room_id = TextField(primary_key=True)
    session = BlobField()
    shared_with = TextField()  # JSON [[user, device], ...]
    ignored = TextField()
    message_count = IntegerField()
    creation_time = DateTimeField()

    class Meta:
        table_name = "buurtbot_outbound_sessions"


class BotCleanStop(Model):
    """Present while the stored outbound sessions are exactly those of a run that stopped
    cleanly: a restore then needs to skip no message index (see ``take_clean_stop``)."""

    id = IntegerField(primary_key=True)
    stopped_at = DateTimeField()

    class Meta:
        table_name = "buurtbot_clean_stop"


@dataclass
class StoredOutbound:
    session: OutboundGroupSession
    shared_with: set[tuple[str, str]]
    ignored: set[tuple[str, str]]


class IndexedDeviceStore(DeviceStore):
    """nio's in-memory device store with an O(1) ``add``.

    nio's ``DeviceStore.add`` checks ``device in self`` by walking every device it knows, so a
    key query (or loading the store at start-up) is quadratic in the number of devices: about
    five minutes of CPU at 20,000 devices. The entries are nio's own; only the lookup differs.
    """

    def __contains__(self, device: object) -> bool:
        if not isinstance(device, OlmDevice):
            return False
        existing = self._entries.get(device.user_id, {}).get(device.id)
        return existing is not None and existing == device

    def add(self, device: OlmDevice) -> bool:
        if device in self:
            return False
        self._entries[device.user_id][device.id] = device
        return True

    @classmethod
    def of(cls, store: DeviceStore) -> IndexedDeviceStore:
        indexed = cls()
        for device in store:
            indexed.add(device)
        return indexed


class IndexedKeyStore(KeyStore):
    """A trust list file with O(1) membership (nio's scans its list with ``__eq__``)."""

    def __init__(self, filename: str) -> None:
        self._index: dict[tuple[str, str], Key] = {}
        super().__init__(filename)
        self._reindex()

    def _reindex(self) -> None:
        self._index = {(key.user_id, key.device_id): key for key in self._entries}

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, Key):
            return False
        found = self._index.get((key.user_id, key.device_id))
        return found is not None and found == key

    def get_key(self, user_id: str, device_id: str) -> Key | None:
        return self._index.get((user_id, device_id))

    def check(self, key: Key) -> bool:
        return key in self

    def _add_without_save(self, key: Key) -> bool:
        added = super()._add_without_save(key)
        self._index.setdefault((key.user_id, key.device_id), key)
        return added

    def remove(self, key: Key) -> bool:
        if key not in self:  # nio rewrites the file even when the key was not in it
            return False
        super().remove(key)
        self._reindex()
        return True

    def remove_many(self, keys: list[Key]) -> None:
        present = [key for key in keys if key in self]
        if present:
            super().remove_many(present)
            self._reindex()


class LazySessionStore(SessionStore):
    """nio's Olm session store, with only the recently used sessions in memory.

    The same interface nio uses (``get``, ``add``, ``[curve_key]``): a device's sessions are
    loaded from the crypto store the first time they are asked for, newest first, and kept
    until ``capacity`` other devices have been used since. Whether a device has a session at
    all is answered from an index (``in``), without loading it.
    """

    def __init__(self, load: Callable[[str], list[Session]], keys: set[str], capacity: int) -> None:
        super().__init__()
        self._load = load
        self._keys = keys  # curve keys with at least one stored session
        self._cache: OrderedDict[str, list[Session]] = OrderedDict()
        self._capacity = capacity

    def __contains__(self, curve_key: object) -> bool:
        return curve_key in self._keys

    def _sessions(self, curve_key: str, *, create: bool = False) -> list[Session]:
        found = self._cache.get(curve_key)
        if found is not None:
            self._cache.move_to_end(curve_key)
            return found
        if curve_key not in self._keys and not create:
            return []  # a device without a session takes no place in memory
        found = self._load(curve_key) if curve_key in self._keys else []
        self._cache[curve_key] = found
        if len(self._cache) > self._capacity:
            self._cache.popitem(last=False)
        return found

    def add(self, sender_key: str, session: Session) -> bool:
        sessions = self._sessions(sender_key, create=True)
        if session in sessions:
            return False
        sessions.append(session)
        sessions.sort(key=lambda s: s.use_time, reverse=True)
        self._keys.add(sender_key)
        return True

    def get(self, sender_key: str) -> Session | None:
        sessions = self._sessions(sender_key)
        return sessions[0] if sessions else None

    def __getitem__(self, sender_key: str) -> list[Session]:
        return self._sessions(sender_key)

    def __iter__(self) -> Iterator[Session]:  # loads every session: not on any hot path
        for curve_key in list(self._keys):
            yield from self._sessions(curve_key)

    def values(self) -> list[list[Session]]:  # type: ignore[override]
        return [self._sessions(k) for k in list(self._keys)]

    def items(self) -> list[tuple[str, list[Session]]]:  # type: ignore[override]
        return [(k, self._sessions(k)) for k in list(self._keys)]


def has_session(store: SessionStore, curve_key: str) -> bool:
    """Whether nio has an Olm session with this device, without loading one if it can."""
    if isinstance(store, LazySessionStore):
        return curve_key in store
    return store.get(curve_key) is not None


class BotCryptoStore(DefaultStore):
    """``DefaultStore`` with coalesced Olm writes and indexed trust lists (same files)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.trust_db = IndexedKeyStore(self.trust_db._filename)
        self.blacklist_db = IndexedKeyStore(self.blacklist_db._filename)
        self.ignore_db = IndexedKeyStore(self.ignore_db._filename)
        self._account: Any = None
        self._account_pk: int | None = None  # see _account_id
        self._account_written = False
        # Unwritten Olm sessions: curve key -> session id -> session (a device can have two)
        self._sessions: dict[str, dict[str, Session]] = {}
        self._outbound: dict[str, OutboundGroupSession | None] = {}  # None: forget it
        self._flush_scheduled = False
        self._outbound_timer: asyncio.TimerHandle | None = None
        self._encrypted_rooms: set[str] = set()  # written to nio's EncryptedRooms already
        self.flushes = 0
        with self.database.bind_ctx([BotOutboundSessions, BotCleanStop]):
            self.database.create_tables([BotOutboundSessions, BotCleanStop], safe=True)

    def save_account(self, account: Any) -> None:
        if not self._account_written:  # other tables refer to the account row: write it now
            DefaultStore.save_account(self, account)
            self._account_written = True
            return
        self._account = account
        self._schedule_flush()

    def load_encrypted_rooms(self) -> set[str]:
        rooms: set[str] = DefaultStore.load_encrypted_rooms(self)
        self._encrypted_rooms |= rooms
        return rooms

    def save_encrypted_rooms(self, rooms: Iterable[str]) -> None:
        """Write only rooms not written before: nio passes every encrypted room of every
        sync batch, and its insert-or-ignore cost a lookup and a write per sync, also during
        a fan-out whose echoes come back batch after batch."""
        new = set(rooms) - self._encrypted_rooms
        if new:
            DefaultStore.save_encrypted_rooms(self, new)
            self._encrypted_rooms |= new

    def save_session(self, curve_key: str, session: Session) -> None:
        self._sessions.setdefault(curve_key, {})[session.id] = session
        self._schedule_flush()

    def _account_id(self, *, required: bool = False) -> int | None:
        """The id of this device's row in nio's ``Accounts`` table, which every Olm session
        and device row refers to; ``None`` before the account is first written.

        Read once: nio writes the row with insert-or-ignore and then updates it, so its id
        never changes, and loading a device's sessions should not cost a lookup each time.
        Call inside ``bind_ctx``. ``required``: raise ``Accounts.DoesNotExist`` instead.
        """
        if self._account_pk is None:
            query = (Accounts.user_id == self.user_id) & (Accounts.device_id == self.device_id)
            row = Accounts.get(query) if required else Accounts.get_or_none(query)
            self._account_pk = row.id if row is not None else None
        return self._account_pk

    def load_sessions(self) -> LazySessionStore:
        """The store nio keeps its Olm sessions in: an index now, sessions when used."""
        with self.database.bind_ctx(self.models):
            self.database.execute_sql(
                f'CREATE INDEX IF NOT EXISTS "buurtbot_olmsessions_sender" ON '
                f'"{OlmSessions._meta.table_name}" ("sender_key")'
            )
            account = self._account_id()
            keys: set[str] = set()
            if account is not None:
                query = OlmSessions.select(OlmSessions.sender_key).where(
                    OlmSessions.account == account
                )
                keys = {row[0] for row in query.distinct().tuples()}
        return LazySessionStore(self._sessions_of, keys, SESSIONS_IN_MEMORY)

    def _sessions_of(self, curve_key: str) -> list[Session]:
        """A device's Olm sessions, newest first: written ones, with unwritten changes."""
        pending = dict(self._sessions.get(curve_key, {}))
        found: list[Session] = []
        with self.database.bind_ctx(self.models):
            account = self._account_id()
            query = OlmSessions.select().where(
                (OlmSessions.account == account) & (OlmSessions.sender_key == curve_key)
            )
            for row in query:
                if row.session_id in pending:
                    continue
                session = Session.from_pickle(
                    row.session, row.creation_time, self.pickle_key, row.last_usage_date
                )
                if session.upgrade_pickle:  # an old libolm pickle: store it as vodozemac's
                    session.upgrade_pickle = False
                    self.save_session(curve_key, session)
                found.append(session)
        found.extend(pending.values())
        found.sort(key=lambda s: s.use_time, reverse=True)
        return found

    def save_outbound_session(self, room_id: str, session: OutboundGroupSession | None) -> None:
        """Remember a room's outbound session (or, with ``None``, that there is none).

        Written within ``OUTBOUND_DELAY_S``, not at once: a fan-out to 80 rooms becomes one
        transaction after it instead of 80 on its path. What a crash loses in that second is
        covered by the message indices a restore skips (``keysharing.RESTORE_SKIP``).
        """
        self._outbound[room_id] = session
        if self._outbound_timer is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                self.flush()
                return
            self._outbound_timer = loop.call_later(OUTBOUND_DELAY_S, self.flush)

    def take_clean_stop(self) -> bool:
        """Whether the last run stopped cleanly; the mark is gone (on disk) once this returns,
        so a crash of this run is never taken for a clean stop."""
        with self.database.bind_ctx([BotCleanStop]), self.database.atomic():
            return BotCleanStop.delete().execute() > 0

    def load_outbound_sessions(self) -> dict[str, StoredOutbound]:
        found: dict[str, StoredOutbound] = {}
        with self.database.bind_ctx([BotOutboundSessions]):
            for row in BotOutboundSessions.select():
                try:
                    session = OutboundGroupSession.from_pickle(bytes(row.session), self.pickle_key)
                except Exception as exc:  # a damaged row costs one re-share, nothing else
                    log.warning("stored outbound session of %s unreadable: %s", row.room_id, exc)
                    continue
                session.message_count = row.message_count
                session.creation_time = row.creation_time
                found[row.room_id] = StoredOutbound(
                    session,
                    {(u, d) for u, d in json.loads(row.shared_with)},
                    {(u, d) for u, d in json.loads(row.ignored)},
                )
        return found

    def _schedule_flush(self) -> None:
        if self._flush_scheduled:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop (loading the store): write at once
            self.flush()
            return
        self._flush_scheduled = True
        loop.call_soon(self.flush)

    def flush(self, *, clean_stop: bool = False) -> None:
        """Write the pending account and sessions in one transaction.

        The rows are nio's own (``OlmSessions``, as ``DefaultStore.save_session`` writes
        them), but in one bulk statement: nio's per-call model binding and account lookup cost
        about 5 ms per session, more than all the cryptography of a share. With
        ``clean_stop`` (the last write of a run, every outbound session saved as it is) the
        same transaction marks the stored outbound sessions as exact.
        """
        self._flush_scheduled = False
        if self._outbound_timer is not None:
            self._outbound_timer.cancel()
            self._outbound_timer = None
        account, sessions, outbound = self._account, self._sessions, self._outbound
        if account is None and not sessions and not outbound and not clean_stop:
            return
        self._account, self._sessions, self._outbound = None, {}, {}
        tables = [*self.models, BotOutboundSessions, BotCleanStop]
        with self.database.bind_ctx(tables), self.database.atomic():
            if clean_stop:
                BotCleanStop.replace(id=1, stopped_at=datetime.now()).execute()
            for room_id, group in outbound.items():
                if group is None:
                    BotOutboundSessions.delete().where(
                        BotOutboundSessions.room_id == room_id
                    ).execute()
                    continue
                BotOutboundSessions.replace(
                    room_id=room_id,
                    session=group.pickle(self.pickle_key),
                    shared_with=json.dumps(sorted(group.users_shared_with)),
                    ignored=json.dumps(sorted(group.users_ignored)),
                    message_count=group.message_count,
                    creation_time=group.creation_time,
                ).execute()
            if account is not None:
                DefaultStore.save_account(self, account)
            if sessions:
                account_id = self._account_id(required=True)
                rows = [
                    {
                        "account": account_id,
                        "sender_key": curve_key,
                        "session": session.pickle(self.pickle_key),
                        "session_id": session.id,
                        "creation_time": session.creation_time,
                        "last_usage_date": session.use_time,
                    }
                    for curve_key, by_id in sessions.items()
                    for session in by_id.values()
                ]
                self._write_many(OlmSessions, rows, "REPLACE")
        self.flushes += 1

    def _write_many(self, model: type[Model], rows: list[dict[str, Any]], conflict: str) -> None:
        """``INSERT OR <conflict>`` of nio's rows as one prepared statement (``executemany``).

        Same table, columns and column values as peewee's ``replace_many``/``insert_many``
        (each value goes through its field's ``db_value``), but peewee builds the SQL of a bulk
        insert value by value in Python: about a third of the CPU of a first share went there.
        Must run inside ``self.database.atomic()`` so it is part of the caller's transaction.
        """
        if not rows:
            return
        fields = [model._meta.fields[name] for name in rows[0]]
        columns = ", ".join(f'"{field.column_name}"' for field in fields)
        marks = ", ".join("?" for _ in fields)
        sql = f'INSERT OR {conflict} INTO "{model._meta.table_name}" ({columns}) VALUES ({marks})'
        self.database.connection().executemany(
            sql, [[field.db_value(row[field.name]) for field in fields] for row in rows]
        )

    def load_device_keys(self) -> DeviceStore:
        """nio's devices and their trust state, read with two queries into an indexed store
        (``DefaultStore`` reads each device's keys with a query of its own)."""
        store = IndexedDeviceStore()
        with self.database.bind_ctx(self.models):
            account = self._account_id()
            if account is None:
                return store
            keys: dict[int, dict[str, str]] = {}
            query = (
                Keys.select(Keys.device, Keys.key_type, Keys.key)
                .join(DeviceKeys)
                .where(DeviceKeys.account == account)
                .tuples()
            )
            for device_pk, key_type, key in query:
                keys.setdefault(device_pk, {})[key_type] = key
            for row in DeviceKeys.select().where(DeviceKeys.account == account):
                device = OlmDevice(
                    row.user_id,
                    row.device_id,
                    keys.get(row.id, {}),
                    display_name=row.display_name,
                    deleted=row.deleted,
                )
                trusted = Key.from_olmdevice(device)
                if trusted in self.trust_db:
                    device.trust_state = TrustState.verified
                elif trusted in self.blacklist_db:
                    device.trust_state = TrustState.blacklisted
                elif trusted in self.ignore_db:
                    device.trust_state = TrustState.ignored
                store.add(device)
        return store

    def save_device_keys(self, device_keys: dict[str, dict[str, Any]]) -> None:
        """nio's rows for new and changed devices, written in bulk statements.

        ``DefaultStore`` selects, updates and re-inserts every device one statement at a time
        (about 2 ms per device): a key query after a join wave is thousands of devices.
        """
        devices = [device for by_id in device_keys.values() for device in by_id.values()]
        if not devices:
            return
        with self.database.bind_ctx(self.models), self.database.atomic():
            account = self._account_id(required=True)
            rows = [
                {
                    "account": account,
                    "user_id": d.user_id,
                    "device_id": d.id,
                    "display_name": d.display_name,
                    "deleted": d.deleted,
                }
                for d in devices
            ]
            self._write_many(DeviceKeys, rows, "IGNORE")
            ids: dict[tuple[str, str], int] = {}
            users = list(device_keys)
            for start in range(0, len(users), 500):
                query = DeviceKeys.select(DeviceKeys.id, DeviceKeys.user_id, DeviceKeys.device_id)
                for row in query.where(
                    (DeviceKeys.account == account)
                    & DeviceKeys.user_id.in_(users[start : start + 500])
                ).tuples():
                    ids[(row[1], row[2])] = row[0]
            for deleted in (True, False):
                chosen = [ids[(d.user_id, d.id)] for d in devices if d.deleted is deleted]
                for start in range(0, len(chosen), 500):
                    DeviceKeys.update(deleted=deleted).where(
                        DeviceKeys.id.in_(chosen[start : start + 500])
                    ).execute()
            keys = [
                {"key_type": key_type, "key": key, "device": ids[(d.user_id, d.id)]}
                for d in devices
                for key_type, key in d.keys.items()
            ]
            self._write_many(Keys, keys, "REPLACE")
