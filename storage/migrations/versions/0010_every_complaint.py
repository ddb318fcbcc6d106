"""Every complaint in one record: complaints staff enter (their source, the day received,
who entered them, the reporter's other contact details), the SP4N-LAPOR! tracking number,
duplicates merged into a main case, and the tasks a case owes besides its step (informing
a reporter who is not in the chat, the liaison's LAPOR entry and watch).

The recaps' covering index grows by the columns they now count by.

Revision ID: 0010_every_complaint
Revises: 0009_buttons
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_every_complaint"
down_revision: str | Sequence[str] | None = "0009_buttons"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As in storage/models.py at this revision (written out: a migration must not change
# when the models do).
OLD_RECAP_COLUMNS = (
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
    "filed_stamp",
    "disposed_stamp",
    "answered_stamp",
    "closed_stamp",
)
RECAP_COLUMNS = (*OLD_RECAP_COLUMNS, "source", "lapor_number", "merged_into")
NEW_CASE_COLUMNS = (
    sa.Column("source", sa.String(length=64), nullable=True),
    sa.Column("received_on", sa.Date(), nullable=True),
    sa.Column("entered_by_id", sa.String(length=64), nullable=True),
    sa.Column("entered_by_name", sa.Text(), nullable=True),
    sa.Column("reporter_whatsapp", sa.Text(), nullable=True),
    sa.Column("reporter_email", sa.Text(), nullable=True),
    sa.Column("reporter_address", sa.Text(), nullable=True),
    sa.Column("lapor_number", sa.String(length=64), nullable=True),
    sa.Column("merged_into", sa.String(length=64), nullable=True),
)


def upgrade() -> None:
    # Plain ADD COLUMN (nullable: SQLite allows it without copying the table).
    for column in NEW_CASE_COLUMNS:
        op.add_column("cases", column)
    op.drop_index("ix_cases_recap", table_name="cases")
    op.create_index("ix_cases_recap", "cases", list(RECAP_COLUMNS))
    op.create_index("ix_cases_lapor_number", "cases", ["lapor_number"])
    op.create_index("ix_cases_merged_into", "cases", ["merged_into"])
    op.create_table(
        "case_tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("nudged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("nudge_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_by", sa.Text(), nullable=True),
        sa.Column("done_note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_case_tasks_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_tasks")),
    )
    op.create_index("ix_case_tasks_case_id_kind", "case_tasks", ["case_id", "kind"])
    op.create_index("ix_case_tasks_next_at", "case_tasks", ["next_at"])


def downgrade() -> None:
    op.drop_index("ix_case_tasks_next_at", table_name="case_tasks")
    op.drop_index("ix_case_tasks_case_id_kind", table_name="case_tasks")
    op.drop_table("case_tasks")
    op.drop_index("ix_cases_merged_into", table_name="cases")
    op.drop_index("ix_cases_lapor_number", table_name="cases")
    op.drop_index("ix_cases_recap", table_name="cases")
    op.create_index("ix_cases_recap", "cases", list(OLD_RECAP_COLUMNS))
    with op.batch_alter_table("cases") as batch:
        for column in reversed(NEW_CASE_COLUMNS):
            batch.drop_column(column.name)
