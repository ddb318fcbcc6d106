"""Advisory locks: every key aduanbot takes (`LockKey`), the locks a transaction holds
to decide which instance does a job (`TransactionLocks`, `uow.locks`), and the per-chat
send locks shared by every instance of the service on one database (`ChatLocks`).

Several instances may run against one PostgreSQL database; each chat's messages must
still go out once each and in order. Before sending to a chat an instance takes a
PostgreSQL advisory lock for it on one connection it keeps for the purpose, and
releases it once the chat's messages are done (the sender takes and releases the locks
of a round's chats in one query each). If the instance dies, its connection
closes and its locks go with it, so another instance carries on at once.

SQLite serves one instance only, so there every lock is granted.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Sequence
from enum import IntEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import Integer, Row, bindparam, func, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.base import Executable

from storage.repositories.base import Part

if TYPE_CHECKING:
    from storage.database import Database

log = logging.getLogger(__name__)


class LockKey(IntEnum):
    """The PostgreSQL advisory lock keys aduanbot takes, all of them, so no two collide.

    PostgreSQL keeps one-key (bigint) and two-key (int, int) locks apart. The two-key
    locks name aduanbot's locks by their first key (a namespace) and the thing locked
    by the second: a job (`TransactionLocks`) or a chat (`ChatLocks`, its `chat_key`).
    """

    # Jobs one instance does at a time (second keys under JOBS, held for a transaction).
    DEADLINE_PATROL = 1  # bot.scheduler: the deadline patrol, digests, retention
    STUCK_NOTICE = 2  # bot.outbox: one sender at a time decides on a stuck-chat notice
    # Namespaces: the first keys of the two-key locks.
    JOBS = 0x61647561  # "adua"
    CHATS = 0x61647562  # "adub": chats being sent to
    # One-key locks.
    MIGRATIONS = 0x616475616E  # "aduan": one `Database.upgrade()` at a time
    TEST_DATABASE = 0x61647561_6E74  # "aduant": a test using the shared test database


class TransactionLocks(Part):
    """Locks held until the transaction ends, deciding which instance does a job."""

    async def try_hold(self, key: int) -> bool:
        """Takes job lock `key` (a `LockKey`: second keys under `LockKey.JOBS`) for this
        transaction; False if another transaction holds it.

        On PostgreSQL an advisory transaction lock (released at commit, rollback or a
        lost connection). SQLite serialises writing transactions (BEGIN IMMEDIATE), so
        there the transaction itself is the lock and this is always True.
        """
        if self._dialect != "postgresql":
            return True
        held = await self._session.scalar(
            select(func.pg_try_advisory_xact_lock(LockKey.JOBS.value, int(key)))
        )
        return bool(held)


def chat_key(chat: str) -> int:
    """A signed 32-bit key for the chat (two chats sharing one only wait for each other)."""
    return int.from_bytes(hashlib.blake2b(chat.encode(), digest_size=4).digest(), signed=True)


# Chat locks taken and released many at once (`p_keys`, in the namespace `p_space`): one
# query a round of the sender, whatever the number of chats; the taken ones in order.
_KEYS = bindparam("p_keys", type_=ARRAY(Integer))
_TAKE = text(
    "SELECT pg_try_advisory_lock(:p_space, t.key)"
    " FROM unnest(:p_keys) WITH ORDINALITY AS t(key, n) ORDER BY t.n"
).bindparams(_KEYS)
_RELEASE = text(
    "SELECT pg_advisory_unlock(:p_space, t.key) FROM unnest(:p_keys) AS t(key)"
).bindparams(_KEYS)


class ChatLocks:
    """Per-chat send locks, on one connection this instance keeps for them."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._connection: AsyncConnection | None = None
        self._guard = asyncio.Lock()

    @property
    def shared(self) -> bool:
        """Whether other instances may be sending from the same database."""
        return self.db.dialect == "postgresql"

    async def acquire(self, chat: str) -> bool:
        """Takes the chat's lock; False if another instance holds it (or the database
        cannot be asked, in which case nothing should be sent now)."""
        return (await self.acquire_all([chat]))[0]

    async def acquire_all(self, chats: Sequence[str]) -> list[bool]:
        """Takes each chat's lock, in one query; for each, whether it is held now (as
        `acquire`). A chat listed twice is locked twice (and must be released twice)."""
        if not self.shared or not chats:
            return [True] * len(chats)
        rows = await self._ask(_TAKE, self._keys(chats))
        if rows is None:
            return [False] * len(chats)
        return [bool(held) for (held,) in rows]

    async def release(self, chat: str) -> None:
        await self.release_all([chat])

    async def release_all(self, chats: Sequence[str]) -> None:
        """Releases each chat's lock, in one query."""
        if self.shared and chats:
            await self._ask(_RELEASE, self._keys(chats))

    async def read(self, statement: Executable, parameters: dict[str, Any]) -> list[Row[Any]]:
        """The rows of a read on the locks' own connection (PostgreSQL, outside any
        transaction): it sees all that was committed before the locks it holds were
        granted, such as what another instance sent and stored before it let a chat go.
        None are found if the database cannot be asked."""
        return await self._ask(statement, parameters) or []

    @staticmethod
    def _keys(chats: Sequence[str]) -> dict[str, Any]:
        return {"p_space": LockKey.CHATS.value, "p_keys": [chat_key(chat) for chat in chats]}

    async def close(self) -> None:
        async with self._guard:
            if self._connection is not None:
                # Invalidated, the connection is closed rather than pooled, and its
                # session's advisory locks end with it.
                await self._connection.invalidate()
                await self._connection.close()
                self._connection = None

    async def _ask(
        self, statement: Executable, parameters: dict[str, Any]
    ) -> list[Row[Any]] | None:
        # Shielded: a caller cancelled mid-query (the service stopping) must not leave
        # the connection with a half-done operation, which would wedge later calls.
        return await asyncio.shield(asyncio.ensure_future(self._query(statement, parameters)))

    async def _query(
        self, statement: Executable, parameters: dict[str, Any]
    ) -> list[Row[Any]] | None:
        """The statement's rows (None: the database cannot be asked)."""
        async with self._guard:
            try:
                if self._connection is None:
                    connection = await self.db.engine.connect()
                    self._connection = await connection.execution_options(
                        isolation_level="AUTOCOMMIT"
                    )
                found = await self._connection.execute(statement, parameters)
                return list(found.all())
            except (OperationalError, DBAPIError, OSError) as error:
                # A lost connection took every lock it held with it: start afresh.
                log.warning("chat locks: database unavailable (%s)", error)
                if self._connection is not None:
                    await self._connection.invalidate()
                    await self._connection.close()
                    self._connection = None
                return None
