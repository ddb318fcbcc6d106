"""The database's errors as the rest of the service sees them: `DatabaseUnavailable`
(the database cannot be used right now; the same work may succeed later) and
`DatabaseRefused` (it refused a statement for the values it was given; it would refuse
them again). `Database` raises them, chained to the driver's error, wherever its work
meets one (connecting, a statement, the commit, a schema upgrade), so that nothing
outside storage needs to know SQLAlchemy's or the drivers' exceptions.

`is_outage` is the one place that tells the two apart; it also judges errors raised
outside the database (a file download's OSError), so callers that retry an outage ask it.
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

# What the database's work may raise: SQLAlchemy's wrappers of the driver's errors, its
# pool's timeout, and the OSError asyncpg raises unwrapped when it cannot connect (an
# OSError met inside a transaction is taken for the connection's).
DRIVER_ERRORS = (DBAPIError, PoolTimeout, OSError)


class StorageError(Exception):
    """Either of the two: what a caller catches when it only needs to skip the work and
    try again on its next round."""


class DatabaseUnavailable(StorageError):
    """The database cannot be used right now (unreachable, locked, shutting down, not the
    schema this code expects): the same work may succeed later.

    Its text is the driver's error's (`__cause__`), as logs showed it before.
    """

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.kind = error_class(error)


class DatabaseRefused(StorageError):
    """The database refused a statement for the values it was given (a constraint, a
    value it cannot hold): the same work would be refused again.

    Its text and `detail` are the database's own message, which may quote the value
    refused: a log line names its `kind` (`error_class`) only.
    """

    def __init__(self, error: DBAPIError) -> None:
        super().__init__(str(error))
        self.kind = error_class(error)
        # The first line of what the database said (without the statement).
        self.detail = str(error.orig if error.orig is not None else error).split("\n")[0]


def storage_error(error: Exception) -> Exception:
    """The storage's error for one of `DRIVER_ERRORS` (raise it `from error`)."""
    if is_outage(error):
        return DatabaseUnavailable(error)
    assert isinstance(error, DBAPIError)  # (every other one is an outage)
    return DatabaseRefused(error)


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
    if isinstance(error, DatabaseUnavailable | OSError | PoolTimeout):
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
    (SQLSTATE or SQLite's), never its message, which may quote what was stored. For
    the storage's own errors, that of the driver's error they stand for."""
    if isinstance(error, DatabaseUnavailable | DatabaseRefused):
        return error.kind
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
