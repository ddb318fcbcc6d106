"""Databases for tests: a fresh SQLite file always, PostgreSQL when it is configured.

`TEST_DATABASE_URL` (e.g. `postgresql+asyncpg://postgres@127.0.0.1:5432/test`) turns
the PostgreSQL backend on. Every PostgreSQL test empties that database's `public`
schema, so a test holds a PostgreSQL advisory lock for as long as it uses it: tests
in other processes (another pytest run) wait for it instead of dropping tables under
it. Run in parallel by pytest-xdist, each worker has a database of its own on that
server, named after the configured one and the worker (`test_gw0`, `test_gw1`, …),
made anew when the worker starts (`create_worker_database`) and dropped when it ends.

Used by `tests/conftest.py` (the `database` and `database_url` fixtures) and by any
test that starts the service against a real database.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import URL, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from bot.core.ports import Clock
from storage.database import Database, normalize_url
from storage.locks import LockKey

TEST_DATABASE_URL = "TEST_DATABASE_URL"
SQLITE = "sqlite"
POSTGRESQL = "postgresql"
XDIST_WORKER = "PYTEST_XDIST_WORKER"  # set by pytest-xdist in each worker: gw0, gw1, …


def backends() -> list[str]:
    """The databases to test on: SQLite, plus PostgreSQL if `TEST_DATABASE_URL` is set."""
    return [SQLITE, POSTGRESQL] if os.environ.get(TEST_DATABASE_URL) else [SQLITE]


def database_params() -> list[Any]:
    """`pytest.param`s of `backends()`, ids "sqlite"/"postgresql"; PostgreSQL is marked
    `postgresql` (tests/conftest.py registers it)."""
    import pytest  # only tests call this

    return [
        pytest.param(
            backend,
            id=backend,
            marks=[pytest.mark.postgresql] if backend == POSTGRESQL else [],
        )
        for backend in backends()
    ]


def database_url(backend: str, folder: Path) -> str:
    """The URL a test uses for that backend (SQLite: a file in `folder`)."""
    if backend == SQLITE:
        return f"sqlite+aiosqlite:///{folder / 'aduan.sqlite3'}"
    if backend == POSTGRESQL:
        return _worker_url().render_as_string(hide_password=False)
    raise ValueError(f"unknown test database backend {backend!r}")


def _configured_url() -> URL:
    url = os.environ.get(TEST_DATABASE_URL)
    if not url:
        raise LookupError(f"{TEST_DATABASE_URL} is not set")
    return normalize_url(url)


def _worker_url() -> URL:
    """The configured database, or under pytest-xdist this worker's own beside it."""
    url = _configured_url()
    worker = os.environ.get(XDIST_WORKER)
    return url.set(database=f"{url.database}_{worker}") if worker else url


async def create_worker_database() -> None:
    """Makes this xdist worker's PostgreSQL database anew (empty; what an earlier run
    left is dropped). Nothing to do outside xdist or without PostgreSQL."""
    await _worker_database("CREATE DATABASE {} TEMPLATE template0")


async def drop_worker_database() -> None:
    """Drops this xdist worker's PostgreSQL database at the end of its session."""
    await _worker_database(None)


async def _worker_database(create: str | None) -> None:
    if POSTGRESQL not in backends() or not os.environ.get(XDIST_WORKER):
        return
    name = _worker_url().database
    assert name is not None
    quoted = '"' + name.replace('"', '""') + '"'
    # CREATE and DROP DATABASE run outside a transaction, from the configured database
    engine = create_async_engine(
        _configured_url(), poolclass=NullPool, isolation_level="AUTOCOMMIT"
    )
    try:
        async with engine.connect() as connection:
            await connection.execute(text(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)"))
            if create is not None:
                await connection.execute(text(create.format(quoted)))
    finally:
        await engine.dispose()


def database_urls(folder: Path) -> list[tuple[str, str]]:
    """(backend id, URL) of every database to test on."""
    return [(backend, database_url(backend, folder)) for backend in backends()]


@asynccontextmanager
async def empty_database(backend: str, folder: Path) -> AsyncIterator[str]:
    """The URL of an empty database (no tables), ours alone until the block ends."""
    url = database_url(backend, folder)
    if backend != POSTGRESQL:
        yield url
        return
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as guard:
            await guard.execute(
                text("SELECT pg_advisory_lock(:key)"), {"key": LockKey.TEST_DATABASE.value}
            )
            await guard.commit()
            try:
                await guard.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
                await guard.execute(text("CREATE SCHEMA public"))
                await guard.commit()
                yield url
            finally:
                await guard.rollback()
                await guard.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": LockKey.TEST_DATABASE.value}
                )
                await guard.commit()
    finally:
        await engine.dispose()


@asynccontextmanager
async def fresh_database(
    backend: str, folder: Path, *, clock: Clock | None = None
) -> AsyncIterator[Database]:
    """A `Database` upgraded to the newest schema and empty; disposed afterwards."""
    async with empty_database(backend, folder) as url:
        database = Database(url, clock=clock)
        try:
            await database.upgrade()
            yield database
        finally:
            await database.dispose()
