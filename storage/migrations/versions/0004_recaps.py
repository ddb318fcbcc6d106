"""Recaps: categories, acknowledgement and first-disposition times, working-minute
stamps on cases, an index to find refusals and returns by time, and report jobs.

The indexes on `created_at` and on `closed_at` grow into covering indexes led by the
same column, so the recaps read a period's cases from the index alone.

Cases stored before this revision get `first_disposed_at` from their first disposition
event; their stamps need the office calendar, so the service fills them in at start-up
(`bot.reports.ReportWorker.stamp_old_cases`). Their acknowledgement time is unknown.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STAMPS = ("filed_stamp", "disposed_stamp", "answered_stamp", "closed_stamp")
# As in storage/models.py at this revision (written out: a migration must not change
# when the models do).
RECAP_COLUMNS = (
    "created_at",
    "status",
    "channel",
    "unit_code",
    "category",
    "privacy",
    "rating",
    "rating_requested",
    "acknowledged_at",
    "answered_at",
    "closed_at",
    *STAMPS,
)
BACKLOG_COLUMNS = (
    "closed_at",
    "created_at",
    "unit_code",
    "first_disposed_at",
    "answered_at",
    "filed_stamp",
    "disposed_stamp",
)


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("category", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("first_disposed_at", sa.DateTime(timezone=True), nullable=True))
        for name in STAMPS:
            batch.add_column(sa.Column(name, sa.BigInteger(), nullable=True))
        # Wider indexes led by the same columns: the recaps scan them alone.
        batch.drop_index("ix_cases_created_at")
        batch.drop_index("ix_cases_closed_at")
        batch.create_index("ix_cases_recap", list(RECAP_COLUMNS))
        batch.create_index("ix_cases_backlog", list(BACKLOG_COLUMNS))
    with op.batch_alter_table("case_events") as batch:
        batch.create_index("ix_case_events_kind_at", ["kind", "at"])
    op.create_table(
        "report_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("chat_id", sa.String(length=64), nullable=False),
        sa.Column("requested_by", sa.Text(), nullable=True),
        sa.Column("dedup_key", sa.String(length=128), nullable=True),
        sa.Column(
            "status", sa.String(length=16), server_default=sa.text("'pending'"), nullable=False
        ),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_jobs")),
        sa.UniqueConstraint("dedup_key", name=op.f("uq_report_jobs_dedup_key")),
    )
    op.create_index("ix_report_jobs_status_id", "report_jobs", ["status", "id"])
    cases = sa.table("cases", sa.column("id"), sa.column("first_disposed_at"))
    events = sa.table("case_events", sa.column("case_id"), sa.column("kind"), sa.column("at"))
    first = (
        sa.select(sa.func.min(events.c.at))
        .where(events.c.case_id == cases.c.id, events.c.kind == "disposisi")
        .scalar_subquery()
    )
    op.execute(cases.update().values(first_disposed_at=first))


def downgrade() -> None:
    op.drop_index("ix_report_jobs_status_id", table_name="report_jobs")
    op.drop_table("report_jobs")
    with op.batch_alter_table("case_events") as batch:
        batch.drop_index("ix_case_events_kind_at")
    with op.batch_alter_table("cases") as batch:
        batch.drop_index("ix_cases_backlog")
        batch.drop_index("ix_cases_recap")
        batch.create_index("ix_cases_created_at", ["created_at"])
        batch.create_index("ix_cases_closed_at", ["closed_at"])
        for name in (*reversed(STAMPS), "first_disposed_at", "acknowledged_at", "category"):
            batch.drop_column(name)
