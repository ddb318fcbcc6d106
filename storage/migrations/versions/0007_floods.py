"""What keeps one reporter from flooding the staff's groups: the outbox's priority
within a chat (a new case's relay goes ahead of follow-ups waiting in the officers'
group), and each case's count of follow-ups relayed this minute, with those held back
for one digest (bot.core.model.Relays).

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
    op.add_column("cases", sa.Column("relay_window_at", sa.DateTime(timezone=True)))
    for count in ("relayed_count", "held_count"):
        op.add_column(
            "cases",
            sa.Column(count, sa.Integer(), server_default=sa.text("0"), nullable=False),
        )
    op.add_column("cases", sa.Column("digest_at", sa.DateTime(timezone=True)))
    op.create_index("ix_cases_digest_at", "cases", ["digest_at"])


def downgrade() -> None:
    op.drop_index("ix_cases_digest_at", table_name="cases")
    with op.batch_alter_table("cases") as batch:
        for column in ("digest_at", "held_count", "relayed_count", "relay_window_at"):
            batch.drop_column(column)
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("priority")
