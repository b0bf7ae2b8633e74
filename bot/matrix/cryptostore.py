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

This is nio's public extension point (``AsyncClientConfig.store``); nio itself is not patched.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from nio.store import DefaultStore
from nio.store.file_trustdb import Key, KeyStore

log = logging.getLogger(__name__)


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


class BotCryptoStore(DefaultStore):
    """``DefaultStore`` with coalesced Olm writes and indexed trust lists (same files)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.trust_db = IndexedKeyStore(self.trust_db._filename)
        self.blacklist_db = IndexedKeyStore(self.blacklist_db._filename)
        self.ignore_db = IndexedKeyStore(self.ignore_db._filename)
        self._account: Any = None
        self._sessions: dict[str, Any] = {}
        self._flush_scheduled = False
        self.flushes = 0  # transactions written, for the share summary and the tests

    def save_account(self, account: Any) -> None:
        self._account = account
        self._schedule_flush()

    def save_session(self, curve_key: str, session: Any) -> None:
        self._sessions[curve_key] = session
        self._schedule_flush()

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

    def flush(self) -> None:
        """Write the pending account and sessions in one transaction."""
        self._flush_scheduled = False
        account, sessions = self._account, self._sessions
        if account is None and not sessions:
            return
        self._account, self._sessions = None, {}
        with self.database.bind_ctx(self.models), self.database.atomic():
            if account is not None:
                DefaultStore.save_account(self, account)
            for curve_key, session in sessions.items():
                DefaultStore.save_session(self, curve_key, session)
        self.flushes += 1
