"""Which of the bot's sent messages carry buttons, so that the buttons of a case's
messages can be changed or removed once the step they offer is done (a disposed case's
message marks the unit it went to; a closed case's message loses its buttons).

Revision ID: 0009_buttons
Revises: 0008_captions
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_buttons"
down_revision: str | Sequence[str] | None = "0008_captions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN (SQLite allows it with a default), as in 0005 and 0007.
    op.add_column(
        "sent_messages",
        sa.Column("keyboard", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.create_index("ix_sent_messages_case_id", "sent_messages", ["case_id"])


def downgrade() -> None:
    op.drop_index("ix_sent_messages_case_id", table_name="sent_messages")
    with op.batch_alter_table("sent_messages") as batch:
        batch.drop_column("keyboard")
