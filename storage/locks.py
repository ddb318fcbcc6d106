"""Per-chat send locks shared by every instance of the service on one database.

Several instances may run against one PostgreSQL database; each chat's messages must
still go out once each and in order. Before sending to a chat an instance takes a
PostgreSQL advisory lock for it on one connection it keeps for the purpose, and
releases it when the chat's message is done. If the instance dies, its connection
closes and its locks go with it, so another instance carries on at once.

SQLite serves one instance only, so there every lock is granted.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from storage.database import Database

log = logging.getLogger(__name__)

# The first key of PostgreSQL's two-key advisory locks, for chats being sent to.
CHAT_LOCK_NAMESPACE = 0x61647562


def chat_key(chat: str) -> int:
    """A signed 32-bit key for the chat (two chats sharing one only wait for each other)."""
    return int.from_bytes(hashlib.blake2b(chat.encode(), digest_size=4).digest(), signed=True)


class ChatLocks:
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
        if not self.shared:
            return True
        held = await self._ask(func.pg_try_advisory_lock(CHAT_LOCK_NAMESPACE, chat_key(chat)))
        return bool(held)

    async def release(self, chat: str) -> None:
        if self.shared:
            await self._ask(func.pg_advisory_unlock(CHAT_LOCK_NAMESPACE, chat_key(chat)))

    async def close(self) -> None:
        async with self._guard:
            if self._connection is not None:
                # Invalidated, the connection is closed rather than pooled, and its
                # session's advisory locks end with it.
                await self._connection.invalidate()
                await self._connection.close()
                self._connection = None

    async def _ask(self, call: ColumnElement[Any]) -> Any:
        # Shielded: a caller cancelled mid-query (the service stopping) must not leave
        # the connection with a half-done operation, which would wedge later calls.
        return await asyncio.shield(asyncio.ensure_future(self._query(call)))

    async def _query(self, call: ColumnElement[Any]) -> Any:
        async with self._guard:
            try:
                if self._connection is None:
                    connection = await self.db.engine.connect()
                    self._connection = await connection.execution_options(
                        isolation_level="AUTOCOMMIT"
                    )
                return await self._connection.scalar(select(call))
            except (OperationalError, DBAPIError, OSError) as error:
                # A lost connection took every lock it held with it: start afresh.
                log.warning("chat locks: database unavailable (%s)", error)
                if self._connection is not None:
                    await self._connection.invalidate()
                    await self._connection.close()
                    self._connection = None
                return None
