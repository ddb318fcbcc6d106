"""Storage: SQLAlchemy models, the unit of work, and alembic migrations."""

from storage.database import Database, SystemClock, normalize_url
from storage.uow import InboundRow, OutboxRow, SqlUnitOfWork

__all__ = [
    "Database",
    "InboundRow",
    "OutboxRow",
    "SqlUnitOfWork",
    "SystemClock",
    "normalize_url",
]
