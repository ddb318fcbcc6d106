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
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

from bot.core.ports import Clock
from storage.locks import LockKey
from storage.uow import SqlUnitOfWork

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 15_000
# Execution option naming how SQLite's BEGIN starts: "IMMEDIATE" or "DEFERRED".
SQLITE_BEGIN = "aduan_sqlite_begin"


class SystemClock:
    """The real time, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


# What tells an outage from a refusal. PostgreSQL's SQLSTATE classes: connection (08),
# insufficient resources (53), operator intervention (57: shutdown, cancelled), system
# error (58), authorisation (28) and catalog (3D), and a schema or privilege that is not
# what this code expects (42: a rolling upgrade, a revoked grant); and single states: a
# serialisation failure or deadlock (40001, 40P01, 40003), a lock not available (55P03),
# a read-only transaction on a standby after a failover (25006). Anything else (22 data
# exceptions, 23 integrity violations, ...) is about the statement's values.
_PG_OUTAGE_CLASSES = frozenset({"08", "28", "3D", "42", "53", "57", "58"})
_PG_OUTAGE_STATES = frozenset({"40001", "40P01", "40003", "55P03", "25006"})
# SQLite's primary result codes (extended ones such as SQLITE_BUSY_SNAPSHOT share them).
_SQLITE_OUTAGES = frozenset(
    {
        "SQLITE_BUSY",
        "SQLITE_LOCKED",
        "SQLITE_IOERR",
        "SQLITE_FULL",
        "SQLITE_CANTOPEN",
        "SQLITE_READONLY",
        "SQLITE_NOMEM",
        "SQLITE_PROTOCOL",
        "SQLITE_CORRUPT",
        "SQLITE_NOTADB",
    }
)
# SQLITE_ERROR is as broad as its name: these of its messages mean the schema, not a value.
_SQLITE_OUTAGE_MESSAGES = (
    "database is locked",
    "database table is locked",
    "no such table",
    "no such column",
)


def is_outage(error: BaseException) -> bool:
    """Whether an error means the database cannot be used right now (so the same work
    may succeed later), rather than that it refused this work for its content.

    The one place that tells them apart: the inbound processor retries an outage and
    records a refusal as failed; webhooks answer 503 (redeliver) or 400 (don't).
    """
    if isinstance(error, OSError | PoolTimeout):
        return True
    if not isinstance(error, DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    cause = error.orig
    if cause is None:
        return isinstance(error, OperationalError | InterfaceError)
    if isinstance(cause, ValueError) or isinstance(cause.__cause__, ValueError):
        return False  # the driver could not encode a value (asyncpg's client-side DataError)
    state = _sqlstate(error)
    if state is not None:
        return state in _PG_OUTAGE_STATES or state[:2] in _PG_OUTAGE_CLASSES
    name = getattr(cause, "sqlite_errorname", None)
    if isinstance(name, str) and name != "SQLITE_ERROR":
        return "_".join(name.split("_")[:2]) in _SQLITE_OUTAGES
    if str(cause).startswith(_SQLITE_OUTAGE_MESSAGES):
        return True
    # Otherwise what PEP 249 says of the class: Operational and Interface errors are the
    # database's or the connection's, the others (Data, Integrity, ...) the statement's.
    return name is None and isinstance(error, OperationalError | InterfaceError)


def error_class(error: BaseException) -> str:
    """An error's kind, for logs and for the officers: its class and the database's code
    (SQLSTATE or SQLite's), never its message, which may quote what was stored."""
    kind = type(error).__name__
    if not isinstance(error, DBAPIError):
        return kind
    cause = error.orig.__cause__ or error.orig if error.orig is not None else None
    code = _sqlstate(error) or getattr(error.orig, "sqlite_errorname", None)
    detail = " ".join(str(part) for part in (code, cause and type(cause).__name__) if part)
    return f"{kind} ({detail})" if detail else kind


def _sqlstate(error: DBAPIError) -> str | None:
    state = getattr(error.orig, "sqlstate", None) or getattr(error.orig, "pgcode", None)
    return state if isinstance(state, str) and len(state) == 5 else None


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
            kwargs["pool_pre_ping"] = True
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
        """
        return self._transaction(readonly, urgent)

    @asynccontextmanager
    async def _transaction(self, readonly: bool, urgent: bool) -> AsyncIterator[SqlUnitOfWork]:
        async with (
            self._memory_lock or nullcontext(),
            nullcontext() if readonly else self._writing(urgent),
            self._sessions() as session,
            session.begin(),
        ):
            if readonly:
                await session.connection(execution_options={SQLITE_BEGIN: "DEFERRED"})
            uow = SqlUnitOfWork(session, self.clock)
            yield uow
        if uow.reports.added and self.on_report_queued is not None:
            self.on_report_queued()

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
        """Brings the schema to the newest migration (creates a SQLite file's folder)."""
        _create_sqlite_folder(self.url)
        async with self._memory_lock or nullcontext(), self.engine.begin() as connection:
            if self.dialect == "postgresql":
                await connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": LockKey.MIGRATIONS.value}
                )
            await connection.run_sync(_upgrade_to_head)

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
    """WAL, busy timeout and foreign keys on each connection; BEGIN emitted by SQLAlchemy.

    The recipe from SQLAlchemy's SQLite docs ("Enabling Non-Legacy SQLite
    Transactional Modes"): the driver's own BEGIN is disabled, and the `begin` event
    emits ours, IMMEDIATE unless the connection asks for DEFERRED.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
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
        connection.exec_driver_sql(f"BEGIN {'DEFERRED' if mode == 'DEFERRED' else 'IMMEDIATE'}")


def alembic_config() -> Config:
    """An alembic `Config` for the migrations in this package (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(migrations_path()))
    return config


def _upgrade_to_head(connection: Connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")
