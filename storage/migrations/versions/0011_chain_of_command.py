"""The chain of command ([workflow]): two open statuses (a disposition awaiting the
supervisor's approval, an answer under review) join the partial index of open cases,
and cases keep their follow-up plan, the unit proposed for them (or chosen before the
plan was given), and the agency a case outside our authority was handed to.

The recaps time the chain's steps from four more working-minute stamps (proposed,
approved, put to review, reviewed), which join their covering index.

Revision ID: 0011_chain_of_command
Revises: 0010_every_complaint
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_chain_of_command"
down_revision: str | Sequence[str] | None = "0010_every_complaint"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As in storage/models.py at each revision (written out: a migration must not change
# when the models do). The index's predicate lists them as literals.
OLD_OPEN = ("baru", "perlu_dilengkapi", "didisposisi", "dikembalikan", "dijawab")
OPEN = (*OLD_OPEN, "diusulkan", "ditinjau")
NEW_CASE_COLUMNS = (
    sa.Column("plan", sa.Text(), nullable=True),
    sa.Column("proposed_unit", sa.String(length=64), nullable=True),
    sa.Column("pending_unit", sa.String(length=64), nullable=True),
    sa.Column("forwarded_to", sa.Text(), nullable=True),
    sa.Column("proposed_stamp", sa.BigInteger(), nullable=True),
    sa.Column("approved_stamp", sa.BigInteger(), nullable=True),
    sa.Column("submitted_stamp", sa.BigInteger(), nullable=True),
    sa.Column("reviewed_stamp", sa.BigInteger(), nullable=True),
)
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
    "source",
    "lapor_number",
    "merged_into",
)
RECAP_COLUMNS = (
    *OLD_RECAP_COLUMNS,
    "proposed_stamp",
    "approved_stamp",
    "submitted_stamp",
    "reviewed_stamp",
)


def _open_index(statuses: tuple[str, ...]) -> None:
    where = sa.text(f"status IN ({', '.join(repr(s) for s in statuses)})")
    op.create_index(
        "ix_cases_open_created_at",
        "cases",
        ["created_at", "id"],
        sqlite_where=where,
        postgresql_where=where,
    )


def upgrade() -> None:
    for column in NEW_CASE_COLUMNS:
        op.add_column("cases", column)
    op.drop_index("ix_cases_open_created_at", table_name="cases")
    _open_index(OPEN)
    op.drop_index("ix_cases_recap", table_name="cases")
    op.create_index("ix_cases_recap", "cases", list(RECAP_COLUMNS))


def downgrade() -> None:
    op.drop_index("ix_cases_recap", table_name="cases")
    op.create_index("ix_cases_recap", "cases", list(OLD_RECAP_COLUMNS))
    op.drop_index("ix_cases_open_created_at", table_name="cases")
    _open_index(OLD_OPEN)
    with op.batch_alter_table("cases") as batch:
        for column in reversed(NEW_CASE_COLUMNS):
            batch.drop_column(column.name)
