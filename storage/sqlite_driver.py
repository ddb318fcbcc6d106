"""One trip to aiosqlite's thread per SQLite statement.

aiosqlite runs each sqlite3 call in its connection's thread and hands the result back to
the event loop; SQLAlchemy's adapter makes four such calls per statement (open a cursor,
execute, fetch the rows, close the cursor). Each hand-off wakes the thread and then the
event loop (a queue, a future, the loop's self-pipe): at four per statement and about
twenty statements per handled update, the hand-offs cost more CPU than SQLite's own work.
`OneTripConnection` runs the four in one call in the thread. Same sqlite3 calls, same
order, same transaction: only the hand-offs between them are gone.

A transaction costs two trips fewer too. Its BEGIN (emitted by `storage.database`'s
`begin` listener through `defer_begin`) runs in the trip of its first statement, and
rolling back a connection that has no transaction open (what SQLAlchemy's pool does to
every connection returned to it, after a commit too) makes no trip: sqlite3 says after
each trip whether a transaction is open (`Connection.in_transaction`).

It relies on two names of aiosqlite 0.22 that are not documented: `Connection._execute`
(queue a function for the thread) and `Connection._conn` (the sqlite3 connection), and
keeps what it knows of the transaction on aiosqlite's connection object
(`aduan_transaction`), since SQLAlchemy's adapted connection has no room for it.
"""

from __future__ import annotations

import collections
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
)
from sqlalchemy.util import EMPTY_DICT

Outcome = tuple[Any, list[Any], int, int | None, bool]


@dataclass
class TransactionState:
    """What the adapted connection knows of its sqlite3 connection's transaction."""

    begin: str | None = None  # a BEGIN to run before the next statement, in its trip
    open: bool = True  # a transaction may be open (True until a trip says otherwise)


def _state(raw: Any) -> TransactionState:
    state: TransactionState | None = getattr(raw, "aduan_transaction", None)
    if state is None:
        state = TransactionState()
        raw.aduan_transaction = state
    return state


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    """An adapted cursor without an aiosqlite cursor: each statement is one call."""

    __slots__ = ("_description", "_lastrowid", "_rowcount")

    def __init__(self, adapt_connection: AsyncAdapt_aiosqlite_connection) -> None:
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> int:
        return self._lastrowid  # type: ignore[return-value]

    async def _async_soft_close(self) -> None:
        """Nothing to close: the sqlite3 cursor was closed in the thread."""

    def close(self) -> None:
        self._rows.clear()

    async def _execute_async(self, operation: Any, parameters: Any) -> Any:
        def execute(cursor: sqlite3.Cursor) -> list[Any]:
            if parameters is None:
                cursor.execute(operation)
            else:
                cursor.execute(operation, parameters)
            return cursor.fetchall() if cursor.description else []

        await self._trip(execute)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> Any:
        def execute(cursor: sqlite3.Cursor) -> list[Any]:
            cursor.executemany(operation, seq_of_parameters)
            return []

        await self._trip(execute)

    async def _trip(self, execute: Callable[[sqlite3.Cursor], list[Any]]) -> None:
        """Runs `execute` on a cursor in aiosqlite's thread, after the transaction's
        deferred BEGIN if one waits, and takes what it found."""
        raw = self._connection
        state = _state(raw)
        begin, state.begin = state.begin, None

        def run() -> Outcome:
            connection = raw._conn
            cursor = connection.cursor()
            try:
                if begin is not None:
                    cursor.execute(begin)
                rows = execute(cursor)
                return (
                    cursor.description,
                    rows,
                    cursor.rowcount,
                    cursor.lastrowid,
                    connection.in_transaction,
                )
            finally:
                cursor.close()

        if begin is not None:
            state.open = True  # (until the trip says otherwise: it may fail half-way)
        async with self._adapt_connection._execute_mutex:
            outcome: Outcome = await raw._execute(run)
        self._take(outcome)
        state.open = outcome[4]

    def _take(self, outcome: Outcome) -> None:
        description, rows, rowcount, lastrowid, _open = outcome
        self._description = description
        self._rows = collections.deque(rows)
        self._rowcount = rowcount
        self._lastrowid = lastrowid

    def fetchall(self) -> Sequence[Any]:
        rows = list(self._rows)
        self._rows.clear()
        return rows


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    """SQLAlchemy's aiosqlite connection whose (client-side) cursors are `OneTripCursor`."""

    __slots__ = ()
    _cursor_cls = OneTripCursor  # type: ignore[assignment]  # (a subclass: mypy disagrees)

    def commit(self) -> None:
        state = _state(self._connection)
        if state.begin is not None:  # nothing ran since BEGIN: no transaction to end
            state.begin = None
            return
        super().commit()
        state.open = False

    def rollback(self) -> None:
        state = _state(self._connection)
        state.begin = None
        if state.open:
            super().rollback()
            state.open = False


def defer_begin(dbapi_connection: Any, statement: str) -> bool:
    """Has a `OneTripConnection` run `statement` (a BEGIN) in the trip of the transaction's
    first statement; False for any other connection (which should run it now)."""
    if not isinstance(dbapi_connection, OneTripConnection):
        return False
    _state(dbapi_connection._connection).begin = statement
    return True


def one_trip(dbapi_connection: Any) -> None:
    """Makes a freshly connected aiosqlite connection run each statement in one trip."""
    if type(dbapi_connection) is AsyncAdapt_aiosqlite_connection:
        dbapi_connection.__class__ = OneTripConnection
