"""Shared fixtures: a clock, and a fresh database per test on every configured engine.

The database fixtures run each test on SQLite (a temporary file) and, when
`TEST_DATABASE_URL` is set, on PostgreSQL too (see `storage.testing`). PostgreSQL
tests carry the `postgresql` mark; they empty the shared database first and hold an
advisory lock while they use it, so two of them never run at the same time, even from
different processes. Under pytest-xdist (`-n`, as scripts/test runs the suite) each
worker has a PostgreSQL database of its own, made when the worker starts.

To run other tests on the same databases, request `database_url` (an empty database,
no schema) or `database` (upgraded), or parametrise with
`storage.testing.database_params()` and open one with `storage.testing.fresh_database`;
`storage.testing.database_urls(folder)` lists the (id, URL) pairs.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage import Database
from storage.testing import (
    create_worker_database,
    database_params,
    database_urls,
    drop_worker_database,
    empty_database,
)
from tests.fakes import FixedClock

__all__ = ["database_urls"]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "postgresql: runs on the shared PostgreSQL test database (TEST_DATABASE_URL)"
    )


def pytest_sessionstart(session: pytest.Session) -> None:
    """An xdist worker makes its own PostgreSQL database (see `storage.testing`)."""
    asyncio.run(create_worker_database())


def pytest_sessionfinish(session: pytest.Session) -> None:
    """And drops it when it is done."""
    asyncio.run(drop_worker_database())


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture(params=database_params())
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """The URL of an empty database (no schema yet), once per configured engine."""
    async with empty_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
async def database(database_url: str, clock: FixedClock) -> AsyncIterator[Database]:
    """A `Database` upgraded to the newest schema, on `clock`; disposed after the test."""
    database = Database(database_url, clock=clock)
    try:
        await database.upgrade()
        yield database
    finally:
        await database.dispose()
