"""One SQLite database per bot, opened in WAL mode, migrated on start.

Migrations are numbered SQL files in ``bot/store/migrations``; each runs in one transaction with
the row that records it in ``schema_version``, so a crash mid-migration leaves the previous
version intact and the next start simply tries again. Migrations only add: a released file is
never edited.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

log = logging.getLogger(__name__)

_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
T = TypeVar("T")


class DatabaseError(Exception):
    """The database cannot be used; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def bundled_migrations() -> list[Migration]:
    """The migrations shipped with the package, in order."""
    found = []
    for entry in resources.files("bot.store.migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), entry.name, entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise DatabaseError(f"migration numbers must be 1..n without gaps, found {versions}")
    return found


def from_row(cls: type[T], row: sqlite3.Row) -> T:
    """A dataclass from the row's columns of the same names (extra columns are ignored)."""
    names = cls.__dataclass_fields__  # type: ignore[attr-defined]
    columns = row.keys()  # iterating a Row itself gives its values
    return cls(**{name: row[name] for name in columns if name in names})


def now_ms() -> int:
    return int(time.time() * 1000)


class Database:
    """A thin async wrapper: one connection, explicit transactions, typed helpers.

    All coroutines share one connection, so a transaction holds a lock for its whole length:
    otherwise another task's statement would run inside it (or try to BEGIN a second one).
    """

    def __init__(self, connection: aiosqlite.Connection, path: Path) -> None:
        self._db = connection
        self.path = path
        self._lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path, migrations: Iterable[Migration] | None = None) -> Database:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            connection = await aiosqlite.connect(path, isolation_level=None)
            connection.row_factory = sqlite3.Row
            await connection.execute("PRAGMA journal_mode=WAL")
            # NORMAL is crash-safe in WAL mode for process crashes (kill -9); only a power cut
            # can lose the very last transactions, never corrupt the file.
            await connection.execute("PRAGMA synchronous=NORMAL")
            await connection.execute("PRAGMA foreign_keys=ON")
            await connection.execute("PRAGMA busy_timeout=10000")
        except sqlite3.Error as exc:
            raise DatabaseError(f"cannot open database {path}: {exc}") from exc
        db = cls(connection, path)
        await db.migrate(bundled_migrations() if migrations is None else list(migrations))
        return db

    async def close(self) -> None:
        await self._db.close()

    async def schema_version(self) -> int:
        await self._db.execute(
            "CREATE TABLE IF NOT EXISTS schema_version ("
            " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)"
        )
        row = await self.fetchone("SELECT MAX(version) AS v FROM schema_version")
        return int(row["v"] or 0) if row else 0

    async def migrate(self, migrations: list[Migration]) -> None:
        current = await self.schema_version()
        known = max((m.version for m in migrations), default=0)
        if current > known:
            raise DatabaseError(
                f"database {self.path} has schema version {current}, newer than this bot "
                f"knows ({known}); upgrade the bot instead of downgrading"
            )
        for migration in migrations:
            if migration.version <= current:
                continue
            log.info("applying database migration %s", migration.name)
            script = (
                "BEGIN IMMEDIATE;\n"
                + migration.sql
                + "\nINSERT INTO schema_version (version, name, applied_at) VALUES "
                + f"({migration.version}, '{migration.name}', {now_ms()});\nCOMMIT;"
            )
            try:
                await self._db.executescript(script)
            except sqlite3.Error as exc:
                if self._db.in_transaction:
                    await self._db.rollback()
                raise DatabaseError(f"migration {migration.name} failed: {exc}") from exc

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """``BEGIN IMMEDIATE`` … ``COMMIT``, rolled back on any exception.

        Use only the yielded connection inside: the helpers below wait for the lock.
        """
        async with self._lock:
            await self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                await self._db.rollback()
                raise
            else:
                await self._db.commit()

    async def execute(self, sql: str, params: tuple[Any, ...] | dict[str, Any] = ()) -> int:
        """Run one statement in autocommit mode and return the affected row count."""
        async with self._lock:
            cursor = await self._db.execute(sql, params)
            return cursor.rowcount

    async def insert(self, sql: str, params: tuple[Any, ...] | dict[str, Any] = ()) -> int:
        """Run one INSERT in autocommit mode and return the new row's id."""
        async with self._lock:
            cursor = await self._db.execute(sql, params)
            return int(cursor.lastrowid or 0)

    async def fetchone(
        self, sql: str, params: tuple[Any, ...] | dict[str, Any] = ()
    ) -> sqlite3.Row | None:
        async with self._lock, self._db.execute(sql, params) as cursor:
            return await cursor.fetchone()

    async def fetchall(
        self, sql: str, params: tuple[Any, ...] | dict[str, Any] = ()
    ) -> list[sqlite3.Row]:
        async with self._lock, self._db.execute(sql, params) as cursor:
            return list(await cursor.fetchall())

    async def integrity_check(self) -> str:
        row = await self.fetchone("PRAGMA integrity_check")
        return str(row[0]) if row else "no answer"
