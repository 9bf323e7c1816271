"""users: when the last password reset mail was queued (at most one per account every few minutes)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 02:30:00

"Forgot your password?" answers the same for every address and is limited per client address
and per typed address; from several addresses, one inbox still got ten reset mails in a few
seconds. The worker now queues at most one per account per shared.accounts.reset.RESET_MAIL_INTERVAL.
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("password_reset_mailed_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("password_reset_mailed_at")
