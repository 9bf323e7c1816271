"""idempotency_keys: a follow-up added once per key, however often sent

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-03 13:00:00

An alert bridge or a script that retried POST /api/v1/incidents/{key}/follow-ups after a timeout
added the same follow-up twice. A key now records the follow-up it made; deleting the follow-up
deletes its key (found through the partial index, which holds only the keys of follow-ups).
"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

_FOLLOW_UPS_ONLY = sa.text("follow_up_id IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("follow_up_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_idempotency_keys_follow_up_id_incident_follow_ups"),
            "incident_follow_ups",
            ["follow_up_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_index(
            "ix_idempotency_keys_follow_up",
            ["follow_up_id"],
            unique=False,
            postgresql_where=_FOLLOW_UPS_ONLY,
            sqlite_where=_FOLLOW_UPS_ONLY,
        )


def downgrade() -> None:
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.drop_index("ix_idempotency_keys_follow_up")
        batch_op.drop_constraint(batch_op.f("fk_idempotency_keys_follow_up_id_incident_follow_ups"), type_="foreignkey")
        batch_op.drop_column("follow_up_id")
