"""users: when an invitation not taken up yet was made

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 03:00:00

An invited person who used "Forgot your password?" before opening their invitation was told their
password had changed (and mailed so) for their very first one, and the Users page could not say
who had not taken up an invitation. Accounts made before this revision count as taken up.
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("invited_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("invited_at")
