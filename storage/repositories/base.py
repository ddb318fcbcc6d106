"""What every repository of the unit of work shares: the session it works in, the
helpers that run statements on it, and the statements' building blocks.

Selects refresh records already in the session (`FRESH`) and bulk updates skip session
synchronisation (`NO_SYNC`), so a record read after an UPDATE statement in the same
transaction is never stale. The hot paths run Core statements built once per process
(over the tables, not mapped classes, see `Part._core`): building each anew (and running
it through the ORM's unit of work) cost more CPU than the database did.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import CursorResult, Select, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.dml import Update

from bot.core.ports import Clock

# Statuses of the queued rows (inbound updates, outbox messages).
PENDING = "pending"
DONE = "done"
SENT = "sent"
FAILED = "failed"
FRESH = {"populate_existing": True}
NO_SYNC = {"synchronize_session": False}

_T = TypeVar("_T")
_S = TypeVar("_S")


class Part:
    """A repository: one transaction's session and the clock."""

    def __init__(self, session: AsyncSession, clock: Clock) -> None:
        self._session = session
        self._clock = clock

    @property
    def _dialect(self) -> str:
        return self._session.get_bind().dialect.name

    async def _core(
        self, statement: Executable, parameters: dict[str, Any] | list[dict[str, Any]]
    ) -> Any:
        """Runs a Core statement built once (over tables, not mapped classes) with these
        bound parameters (a list of them: once for each, in one `executemany`): no ORM
        unit of work and no per-call statement building, and SQLAlchemy reuses its
        compiled form. The hot paths of handling an update use it.

        Core statements skip autoflush, so ORM changes not yet flushed are flushed
        first (as an ORM statement would), and nothing here reads a stale row.
        """
        session = self._session
        if session.new or session.dirty or session.deleted:
            await session.flush()
        return await session.execute(statement, parameters)

    def _built(self, statements: dict[str, _S]) -> _S:
        """The dialect's version of a statement built once per dialect."""
        return statements["postgresql" if self._dialect == "postgresql" else "sqlite"]

    async def _all(self, statement: Select[_T]) -> Sequence[_T]:
        return (await self._session.scalars(statement, execution_options=FRESH)).all()

    async def _first(self, statement: Select[_T]) -> _T | None:
        return (await self._session.scalars(statement, execution_options=FRESH)).first()

    async def _update(self, statement: Update) -> int:
        result = await self._session.execute(statement, execution_options=NO_SYNC)
        assert isinstance(result, CursorResult)
        return result.rowcount

    async def _update_one(
        self, statement: Update, what: str, parameters: dict[str, Any] | None = None
    ) -> None:
        """An UPDATE that must find its row; a Core statement built once takes its
        `parameters` (see `_core`)."""
        if parameters is None:
            count = await self._update(statement)
        else:
            count = (await self._core(statement, parameters)).rowcount
        if count == 0:
            raise LookupError(f"{what} not found")

    def _upsert_module(self) -> Any:
        """The dialect's `insert` that knows ON CONFLICT (sqlite and postgresql spell it alike)."""
        return postgresql if self._dialect == "postgresql" else sqlite


def table(record: type[Any]) -> Table:
    """The mapped class's table, for Core statements built once."""
    found = record.__table__
    assert isinstance(found, Table)
    return found


def per_dialect(build: Any) -> dict[str, Any]:
    """A statement built with each dialect's `insert` (both spell ON CONFLICT alike)."""
    return {"sqlite": build(sqlite), "postgresql": build(postgresql)}
