"""One trip to aiosqlite's thread per SQLite statement.

aiosqlite runs each sqlite3 call in its connection's thread and hands the result back to
the event loop; SQLAlchemy's adapter makes four such calls per statement (open a cursor,
execute, fetch the rows, close the cursor). Each hand-off wakes the thread and then the
event loop (a queue, a future, the loop's self-pipe): at four per statement and about
twenty statements per handled update, the hand-offs cost more CPU than SQLite's own work.
`OneTripConnection` runs the four in one call in the thread. Same sqlite3 calls, same
order, same transaction: only the hand-offs between them are gone.

It relies on two names of aiosqlite 0.22 that are not documented: `Connection._execute`
(queue a function for the thread) and `Connection._conn` (the sqlite3 connection).
"""

from __future__ import annotations

import collections
from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
)
from sqlalchemy.util import EMPTY_DICT

Outcome = tuple[Any, list[Any], int, int | None]


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
        raw = self._connection

        def run() -> Outcome:
            cursor = raw._conn.cursor()
            try:
                if parameters is None:
                    cursor.execute(operation)
                else:
                    cursor.execute(operation, parameters)
                description = cursor.description
                rows = cursor.fetchall() if description else []
                return description, rows, cursor.rowcount, cursor.lastrowid
            finally:
                cursor.close()

        async with self._adapt_connection._execute_mutex:
            outcome: Outcome = await raw._execute(run)
        self._take(outcome)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> Any:
        raw = self._connection

        def run() -> Outcome:
            cursor = raw._conn.cursor()
            try:
                cursor.executemany(operation, seq_of_parameters)
                return cursor.description, [], cursor.rowcount, cursor.lastrowid
            finally:
                cursor.close()

        async with self._adapt_connection._execute_mutex:
            outcome: Outcome = await raw._execute(run)
        self._take(outcome)

    def _take(self, outcome: Outcome) -> None:
        description, rows, rowcount, lastrowid = outcome
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


def one_trip(dbapi_connection: Any) -> None:
    """Makes a freshly connected aiosqlite connection run each statement in one trip."""
    if type(dbapi_connection) is AsyncAdapt_aiosqlite_connection:
        dbapi_connection.__class__ = OneTripConnection
