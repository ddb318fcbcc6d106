"""The database: an async engine, short transactions, and schema upgrades.

SQLite (through aiosqlite) is the default; PostgreSQL (through asyncpg) for larger
installations. On SQLite every connection runs in WAL mode with a busy timeout and
foreign keys on, and SQLAlchemy (not the sqlite3 driver) emits BEGIN: `BEGIN
IMMEDIATE` for transactions that may write, so a transaction that reads and then
writes waits for the write lock up front instead of failing with SQLITE_BUSY.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import sqlite3
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event, make_url, text
from sqlalchemy.engine import URL, Connection
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

from bot.core.ports import Clock
from storage.errors import DRIVER_ERRORS, storage_error
from storage.locks import LockKey
from storage.repositories.outbox import Router
from storage.sqlite_driver import defer_begin, one_trip
from storage.uow import SqlUnitOfWork

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 15_000
# Execution option naming how SQLite's BEGIN starts: "IMMEDIATE" or "DEFERRED".
SQLITE_BEGIN = "aduan_sqlite_begin"


class SystemClock:
    """The real time, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


def normalize_url(url: str | URL) -> URL:
    """Returns the URL with the async driver: aiosqlite for SQLite, asyncpg for PostgreSQL."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend in ("postgres", "postgresql"):
        return parsed.set(drivername="postgresql+asyncpg")
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite")
    raise ValueError(f"unsupported database URL {parsed!r}: use sqlite:/// or postgresql://")


def application_name() -> str:
    """How this process names itself to PostgreSQL: "aduanbot <host> <pid>"."""
    return f"aduanbot {socket.gethostname()[:40]} {os.getpid()}"


def _is_sqlite_memory(url: URL) -> bool:
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def migrations_path() -> Path:
    """Where the alembic scripts live, found from this package (not the current directory)."""
    return Path(__file__).resolve().parent / "migrations"


class Database:
    """One database: hands out short transactions as units of work.

    `transaction()` may be used by any number of concurrent asyncio tasks; each gets
    its own session and connection.
    """

    def __init__(self, url: str | URL, *, clock: Clock | None = None, echo: bool = False) -> None:
        self.url = normalize_url(url)
        self.clock: Clock = clock or SystemClock()
        self.dialect = self.url.get_backend_name()
        # A statement's values are what people wrote: never in a log line or an error's text.
        kwargs: dict[str, Any] = {"echo": echo, "hide_parameters": True}
        if self.dialect == "postgresql":
            # No ping before each transaction (SQLAlchemy's pool_pre_ping: three round trips,
            # a fifth of a short transaction's CPU). A connection the server dropped fails
            # its first statement as an outage instead, which every caller retries (the
            # webhook answers 503, Telegram redelivers), and SQLAlchemy then drops the pool.
            # pg_stat_activity then says which instance each connection belongs to.
            settings = {"application_name": application_name()}
            kwargs["connect_args"] = {"server_settings": settings}
        self.engine: AsyncEngine = create_async_engine(self.url, **kwargs)
        # An in-memory SQLite database is one shared connection (StaticPool): one
        # transaction at a time, or they would interleave on it.
        self._memory_lock = asyncio.Lock() if _is_sqlite_memory(self.url) else None
        # A SQLite file has one writer at a time. Writers of this process take turns on
        # an asyncio lock before BEGIN IMMEDIATE: the next one starts as soon as the last
        # commits, where SQLite's busy handler would poll, sleeping up to 100 ms a try
        # (webhooks then waited up to seconds at load). Other processes (the CLI) still
        # meet the busy timeout.
        self._write_turn = (
            WriteTurn() if self.dialect == "sqlite" and self._memory_lock is None else None
        )
        if self.dialect == "sqlite":
            _configure_sqlite(self.engine)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False, autoflush=True)
        # Told after a transaction that queued a report job has committed (the service
        # wakes its report worker; jobs of other processes are found by its polling).
        self.on_report_queued: Callable[[], None] | None = None
        # What a message queued in a transaction becomes (the staff's WhatsApp copies,
        # `bot.core.mirror`); set by the service for its office.
        self.router: Router | None = None

    def __repr__(self) -> str:
        return f"Database({self.url.render_as_string(hide_password=True)!r})"

    def transaction(
        self, *, readonly: bool = False, urgent: bool = False
    ) -> AbstractAsyncContextManager[SqlUnitOfWork]:
        """One short transaction: commits on normal exit, rolls back on an exception.

        On SQLite it takes the write lock when it starts (BEGIN IMMEDIATE), so keep it
        short, and never open one transaction inside another (the inner one would wait
        for the outer's lock). `readonly=True` starts a deferred transaction instead,
        which does not wait for writers; writing in it may fail with "database is
        locked". An `urgent` transaction (webhooks recording updates, which Telegram
        waits for) goes before the others waiting for SQLite's write lock.

        What the database's work raises (connecting, a statement, the commit) comes out
        as `DatabaseUnavailable` or `DatabaseRefused` (`storage.errors`).
        """
        return self._transaction(readonly, urgent)

    @asynccontextmanager
    async def _transaction(self, readonly: bool, urgent: bool) -> AsyncIterator[SqlUnitOfWork]:
        try:
            async with (
                self._memory_lock or nullcontext(),
                nullcontext() if readonly else self._writing(urgent),
                self._sessions() as session,
                session.begin(),
            ):
                if readonly:
                    await session.connection(execution_options={SQLITE_BEGIN: "DEFERRED"})
                uow = SqlUnitOfWork(session, self.clock, self.router)
                yield uow
        except DRIVER_ERRORS as error:  # connecting, a statement, the commit
            raise storage_error(error) from error
        if uow.reports.added and self.on_report_queued is not None:
            self.on_report_queued()

    def writers_waiting(self) -> bool:
        """Whether an urgent transaction (a webhook's) waits for this process's turn to
        write (SQLite files; never on PostgreSQL)."""
        return self._write_turn is not None and self._write_turn.urgent_waiting()

    @asynccontextmanager
    async def _writing(self, urgent: bool) -> AsyncIterator[None]:
        """This process's turn to write (SQLite files), or nothing to wait for."""
        turn = self._write_turn
        if turn is None:
            yield
            return
        try:
            async with asyncio.timeout(BUSY_TIMEOUT_MS / 1000):
                await turn.acquire(urgent)
        except TimeoutError:
            # What SQLite itself says once the busy timeout is over.
            locked = sqlite3.OperationalError("database is locked")
            raise OperationalError("BEGIN IMMEDIATE", None, locked) from None
        try:
            yield
        finally:
            turn.release()

    async def upgrade(self) -> None:
        """Brings the schema to the newest migration (creates a SQLite file's folder);
        raises `DatabaseUnavailable` when the database cannot be reached."""
        _create_sqlite_folder(self.url)
        try:
            async with self._memory_lock or nullcontext(), self.engine.begin() as connection:
                if self.dialect == "postgresql":
                    await connection.execute(
                        text("SELECT pg_advisory_xact_lock(:key)"),
                        {"key": LockKey.MIGRATIONS.value},
                    )
                await connection.run_sync(_upgrade_to_head)
        except DRIVER_ERRORS as error:
            raise storage_error(error) from error

    async def ping(self) -> bool:
        """Whether the database answers (for health checks)."""
        try:
            async with self.engine.connect() as connection:
                connection = await connection.execution_options(**{SQLITE_BEGIN: "DEFERRED"})
                await connection.execute(text("SELECT 1"))
        except Exception as error:
            log.warning("database %r does not answer: %s", self, error)
            return False
        return True

    async def dispose(self) -> None:
        """Closes every pooled connection."""
        await self.engine.dispose()


class WriteTurn:
    """A lock handed over in the order it was asked for, urgent requests first."""

    def __init__(self) -> None:
        self._held = False
        self._urgent: deque[asyncio.Future[None]] = deque()
        self._others: deque[asyncio.Future[None]] = deque()

    async def acquire(self, urgent: bool = False) -> None:
        if not self._held:
            self._held = True
            return
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        queue = self._urgent if urgent else self._others
        queue.append(turn)
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self.release()  # handed over just as the waiter gave up: pass it on
            elif turn in queue:  # (a cancelled turn may have been passed over already)
                queue.remove(turn)
            raise

    def urgent_waiting(self) -> bool:
        return any(not turn.done() for turn in self._urgent)

    def release(self) -> None:
        for queue in (self._urgent, self._others):
            while queue:
                turn = queue.popleft()
                if not turn.done():
                    turn.set_result(None)  # still held, now by that waiter
                    return
        self._held = False


def _create_sqlite_folder(url: URL) -> None:
    if url.get_backend_name() == "sqlite" and not _is_sqlite_memory(url):
        assert url.database is not None
        Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def _configure_sqlite(engine: AsyncEngine) -> None:
    """WAL, busy timeout and foreign keys on each connection; BEGIN emitted by SQLAlchemy;
    each statement one trip to aiosqlite's thread (`storage.sqlite_driver`).

    The recipe from SQLAlchemy's SQLite docs ("Enabling Non-Legacy SQLite
    Transactional Modes"): the driver's own BEGIN is disabled, and the `begin` event
    emits ours, IMMEDIATE unless the connection asks for DEFERRED (in the trip of the
    transaction's first statement, `storage.sqlite_driver.defer_begin`).
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        one_trip(dbapi_connection)
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        mode = connection.get_execution_options().get(SQLITE_BEGIN, "IMMEDIATE")
        begin = f"BEGIN {'DEFERRED' if mode == 'DEFERRED' else 'IMMEDIATE'}"
        if not defer_begin(connection.connection.dbapi_connection, begin):
            connection.exec_driver_sql(begin)


def alembic_config() -> Config:
    """An alembic `Config` for the migrations in this package (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(migrations_path()))
    return config


def _upgrade_to_head(connection: Connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")
