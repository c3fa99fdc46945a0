"""Login and registration codes.

One-time codes of the code method: a registration code is sent before its identity exists, so a code's
``identity_id`` may be empty.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Let a code belong to no identity yet."""
    with op.batch_alter_table("selfservice_codes") as batch:
        batch.alter_column("identity_id", existing_type=sa.Uuid(), nullable=True)


def downgrade() -> None:
    """Drop the codes of identities not created yet; every code names its identity again."""
    op.execute("DELETE FROM selfservice_codes WHERE identity_id IS NULL")
    with op.batch_alter_table("selfservice_codes") as batch:
        batch.alter_column("identity_id", existing_type=sa.Uuid(), nullable=False)
