"""Deadlines: each open case's step clock, and marks (the last daily digest's date).

Open cases stored before this revision get `next_check_at` in the past, so the first
scheduler round gives each the clock its status implies (`bot.core.deadlines.adopt`).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CLOSED_STATUSES = ("selesai", "ditolak")


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("step", sa.String(length=32), nullable=True))
        for name in ("step_started_at", "due_at", "nudged_at"):
            batch.add_column(sa.Column(name, sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("nudge_count", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
        for name in ("escalated_at", "reminded_at", "next_check_at", "long_escalated_at"):
            batch.add_column(sa.Column(name, sa.DateTime(timezone=True), nullable=True))
        batch.create_index("ix_cases_next_check_at", ["next_check_at"])
        batch.create_index("ix_cases_step_unit_code_due_at", ["step", "unit_code", "due_at"])
        batch.create_index("ix_cases_closed_at", ["closed_at"])
    op.create_table(
        "marks",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_marks")),
    )
    cases = sa.table(
        "cases", sa.column("status", sa.String()), sa.column("next_check_at", UTCDateTime())
    )
    op.execute(
        cases.update()
        .where(cases.c.status.not_in(CLOSED_STATUSES))
        .values(next_check_at=datetime(2000, 1, 1, tzinfo=UTC))
    )


def downgrade() -> None:
    op.drop_table("marks")
    with op.batch_alter_table("cases") as batch:
        batch.drop_index("ix_cases_closed_at")
        batch.drop_index("ix_cases_step_unit_code_due_at")
        batch.drop_index("ix_cases_next_check_at")
        for name in (
            "long_escalated_at",
            "next_check_at",
            "reminded_at",
            "escalated_at",
            "nudge_count",
            "nudged_at",
            "due_at",
            "step_started_at",
            "step",
        ):
            batch.drop_column(name)
