"""The chain of command ([workflow]): two open statuses (a disposition awaiting the
supervisor's approval, an answer under review) join the partial index of open cases,
and cases keep their follow-up plan, the unit proposed for them (or chosen before the
plan was given), and the agency a case outside our authority was handed to.

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


def downgrade() -> None:
    op.drop_index("ix_cases_open_created_at", table_name="cases")
    _open_index(OLD_OPEN)
    with op.batch_alter_table("cases") as batch:
        for column in reversed(NEW_CASE_COLUMNS):
            batch.drop_column(column.name)
