"""The open cases in filing order, for `/antrian`: a partial index over open cases only.

`/antrian` lists up to 1,000 open cases, oldest first. With years of history nearly all
cases are closed; through `ix_cases_status` the database read every open case and sorted
them (76–140 ms with a million cases). This index holds the open cases alone, in filing
order, so the query reads the first rows of it and stops. Both SQLite and PostgreSQL
use a partial index only when the query's WHERE names the same statuses as literals
(`storage/repositories/cases.py` renders them so).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The open statuses as of this revision (bot.core.model.CaseStatus.is_open), written out:
# a migration must not change when the code does.
OPEN = sa.text("status IN ('baru', 'perlu_dilengkapi', 'didisposisi', 'dikembalikan', 'dijawab')")


def upgrade() -> None:
    op.create_index(
        "ix_cases_open_created_at",
        "cases",
        ["created_at", "id"],
        sqlite_where=OPEN,
        postgresql_where=OPEN,
    )


def downgrade() -> None:
    op.drop_index("ix_cases_open_created_at", table_name="cases")
