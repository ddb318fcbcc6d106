"""What keeps one reporter from flooding the staff's groups: the outbox's priority
within a chat (a new case's relay goes ahead of follow-ups waiting in the officers'
group).

Revision ID: 0007_floods
Revises: 0006
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_floods"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMNs (SQLite allows them with a default), as in 0005.
    op.add_column(
        "outbox",
        sa.Column("priority", sa.Integer(), server_default=sa.text("1"), nullable=False),
    )


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("priority")
