"""`is_outage` on the errors the real databases raise: what may succeed later (a lost
connection, a lock not granted, a busy SQLite file) against what the database refuses
for the values it was given (a NUL in PostgreSQL text, a NOT NULL violation), which
would be refused again each time."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from storage import Database
from storage.errors import DatabaseRefused, DatabaseUnavailable, error_class, is_outage
from storage.testing import POSTGRESQL, database_params, fresh_database


async def raised(database: Database | AsyncEngine, *statements: str, **values: Any) -> DBAPIError:
    """The error the database raises for `statements` (run in one transaction)."""
    engine = database.engine if isinstance(database, Database) else database
    with pytest.raises(DBAPIError) as caught:
        await run(engine, statements, values)
    return caught.value


async def run(engine: AsyncEngine, statements: tuple[str, ...], values: dict[str, Any]) -> None:
    async with engine.begin() as connection:
        for statement in statements:
            await connection.execute(text(statement), values)


@pytest.fixture(params=[p for p in database_params() if p.id == POSTGRESQL])
async def postgresql(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """PostgreSQL's own refusals and outages (only when it is configured)."""
    async with fresh_database(request.param, tmp_path) as database:
        yield database


async def test_a_nul_in_postgresql_text_is_refused_for_its_content(postgresql: Database) -> None:
    error = await raised(
        postgresql, "UPDATE marks SET value = :v WHERE name = 'x'", v="foto menyusul\x00"
    )
    assert not is_outage(error)
    assert error_class(error) == "DBAPIError (22021 CharacterNotInRepertoireError)"


async def test_a_lone_surrogate_postgresql_cannot_encode_is_refused(postgresql: Database) -> None:
    error = await raised(postgresql, "UPDATE marks SET value = :v WHERE name = 'x'", v="\ud800")
    assert not is_outage(error)  # (asyncpg's own DataError, before the server sees it)


async def test_a_constraint_violation_is_refused_for_its_content(database: Database) -> None:
    error = await raised(database, "INSERT INTO marks (name, value) VALUES (NULL, 'x')")
    assert isinstance(error, IntegrityError)
    assert not is_outage(error)
    assert error_class(error).startswith("IntegrityError (")
    assert "VALUES" not in error_class(error)  # the kind, not the statement or the values


async def test_a_missing_table_waits_for_the_schema(database: Database) -> None:
    error = await raised(database, "SELECT * FROM no_such_table_here")
    assert is_outage(error)  # the database is not the one this code expects: retry


async def test_a_lock_not_granted_in_time_is_an_outage(postgresql: Database) -> None:
    async with postgresql.engine.connect() as holder:
        await holder.execute(
            text("INSERT INTO marks (name, value, updated_at) VALUES ('held', '1', now())")
        )
        await holder.commit()
        await holder.execute(text("SELECT * FROM marks WHERE name = 'held' FOR UPDATE"))
        error = await raised(
            postgresql,
            "SET LOCAL lock_timeout = '10ms'",
            "SELECT * FROM marks WHERE name = 'held' FOR UPDATE",
        )
        await holder.rollback()
    assert is_outage(error)
    assert "55P03" in error_class(error)


async def test_a_connection_the_server_ends_is_an_outage(postgresql: Database) -> None:
    error = await raised(postgresql, "SELECT pg_terminate_backend(pg_backend_pid())")
    assert is_outage(error)


async def test_a_busy_sqlite_file_is_an_outage(tmp_path: Path) -> None:
    path = tmp_path / "busy.sqlite3"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN IMMEDIATE")
    engine = create_async_engine(f"sqlite+aiosqlite:///{path}")
    try:
        error = await raised(engine, "PRAGMA busy_timeout = 0", "INSERT INTO t VALUES (1)")
        assert isinstance(error, OperationalError)
        assert is_outage(error)
        assert "SQLITE_BUSY" in error_class(error)
    finally:
        holder.close()
        await engine.dispose()


def test_our_own_wait_for_the_sqlite_write_lock_is_an_outage() -> None:
    """What `Database` raises when this process's writers waited too long for their turn."""
    locked = sqlite3.OperationalError("database is locked")
    assert is_outage(OperationalError("BEGIN IMMEDIATE", None, locked))


@pytest.mark.parametrize(
    ("error", "outage"),
    [
        (ConnectionRefusedError(111, "refused"), True),
        (OSError("network is unreachable"), True),
        (TimeoutError(), True),
        (PoolTimeout("QueuePool limit reached"), True),
        (OperationalError("SELECT 1", None, Exception("server closed the connection")), True),
        (DataError("INSERT", None, Exception("value too long")), False),
        (IntegrityError("INSERT", None, Exception("duplicate key")), False),
        (KeyError("chat"), False),
        (ValueError("bad"), False),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, BaseException) else str(value),
)
def test_errors_without_a_database_code_are_judged_by_their_class(
    error: BaseException, outage: bool
) -> None:
    assert is_outage(error) is outage


async def put_then_fail(database: Database, error: Exception) -> None:
    """A transaction that writes, then meets `error` (as a statement would raise it)."""
    async with database.transaction() as uow:
        await uow.marks.put("x", "1")
        raise error


async def test_a_transaction_raises_an_outage_as_database_unavailable(database: Database) -> None:
    lost = OperationalError("SELECT 1", None, ConnectionResetError("connection lost"))
    with pytest.raises(DatabaseUnavailable) as caught:
        await put_then_fail(database, lost)
    assert caught.value.__cause__ is lost  # (the logs show the driver's error too)
    assert is_outage(caught.value)
    assert str(caught.value) == str(lost)
    async with database.transaction() as uow:
        assert await uow.marks.get("x") is None  # rolled back


async def test_a_database_that_cannot_be_reached_is_unavailable() -> None:
    database = Database("postgresql://postgres@127.0.0.1:1/nothing")  # nobody listens there
    try:
        with pytest.raises(DatabaseUnavailable) as caught:
            async with database.transaction(readonly=True):
                pass
        assert isinstance(caught.value.__cause__, OSError)
        with pytest.raises(DatabaseUnavailable):
            await database.upgrade()
    finally:
        await database.dispose()


async def test_a_transaction_raises_a_refusal_as_database_refused(database: Database) -> None:
    duplicate = IntegrityError("INSERT", None, Exception("duplicate key\nDETAIL: the value"))
    with pytest.raises(DatabaseRefused) as caught:
        await put_then_fail(database, duplicate)
    assert caught.value.__cause__ is duplicate
    assert not is_outage(caught.value)
    assert error_class(caught.value) == "IntegrityError (Exception)"  # the cause's kind
    assert caught.value.detail == "duplicate key"
