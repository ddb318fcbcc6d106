"""Storage: SQLAlchemy models, the unit of work, and alembic migrations."""

from storage.database import Database, SystemClock, normalize_url
from storage.repositories.inbound import InboundRow
from storage.repositories.outbox import OutboxRow
from storage.uow import SqlUnitOfWork

__all__ = [
    "Database",
    "InboundRow",
    "OutboxRow",
    "SqlUnitOfWork",
    "SystemClock",
    "normalize_url",
]
