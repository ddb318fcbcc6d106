"""Reporters an officer blocked, each reporter's message count of the current minute
(the per-reporter rate limit), and when personal data was removed: cases anonymised
after the retention period, reporters forgotten (storage/repositories/privacy.py).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMNs (SQLite allows them with a default): a batch copy of the table
    # would have to drop `reporters`, which the cases' foreign key forbids.
    op.add_column("reporters", sa.Column("blocked_at", sa.DateTime(timezone=True)))
    op.add_column("reporters", sa.Column("window_started_at", sa.DateTime(timezone=True)))
    op.add_column(
        "reporters",
        sa.Column("window_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
    )
    op.add_column("reporters", sa.Column("forgotten_at", sa.DateTime(timezone=True)))
    op.add_column("cases", sa.Column("anonymised_at", sa.DateTime(timezone=True)))
    op.create_index("ix_cases_reporter_id_created_at", "cases", ["reporter_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_cases_reporter_id_created_at", table_name="cases")
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("anonymised_at")
    with op.batch_alter_table("reporters") as batch:
        batch.drop_column("forgotten_at")
        batch.drop_column("window_count")
        batch.drop_column("window_started_at")
        batch.drop_column("blocked_at")
