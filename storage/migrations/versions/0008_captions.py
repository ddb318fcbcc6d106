"""What a reporter wrote with a file (a Telegram caption, a WhatsApp media message's
body), kept with the file: it is part of the complaint (bot.core.model.Attachment).

Revision ID: 0008_captions
Revises: 0007_floods
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_captions"
down_revision: str | Sequence[str] | None = "0007_floods"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain nullable ADD COLUMN, as in 0005 and 0007: files kept before have none.
    op.add_column("case_attachments", sa.Column("caption", sa.Text()))


def downgrade() -> None:
    with op.batch_alter_table("case_attachments") as batch:
        batch.drop_column("caption")
