"""outbox relay bookkeeping, comment redaction

Revision ID: 0003
Revises: 0005
Create Date: 2026-11-29 17:00:00

Outbox: `available_at` (a failed publish backs off), `last_error`; the unpublished index becomes
a partial index (published_at IS NULL) on (available_at, created_at), the relay's exact order,
so it stays as small as the backlog. Comments: who redacted one, when and why.
"""

from alembic import op
import sqlalchemy as sa


revision = "0003"
down_revision = "0005"
branch_labels = None
depends_on = None

_UNPUBLISHED = sa.text("published_at IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_messages_unpublished")
        batch_op.add_column(sa.Column("available_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("last_error", sa.Text(), nullable=True))
    op.execute("UPDATE outbox_messages SET available_at = created_at")
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.alter_column("available_at", existing_type=sa.DateTime(timezone=True), nullable=False)
    op.create_index(
        "ix_outbox_messages_unpublished",
        "outbox_messages",
        ["available_at", "created_at"],
        postgresql_where=_UNPUBLISHED,
        sqlite_where=_UNPUBLISHED,
    )
    with op.batch_alter_table("incident_comments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("redacted_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("redacted_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("redaction_reason", sa.Text(), nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_incident_comments_redacted_by_id_users"), "users", ["redacted_by_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("incident_comments", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("fk_incident_comments_redacted_by_id_users"), type_="foreignkey")
        batch_op.drop_column("redaction_reason")
        batch_op.drop_column("redacted_by_id")
        batch_op.drop_column("redacted_at")
    op.drop_index("ix_outbox_messages_unpublished", table_name="outbox_messages")
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.drop_column("last_error")
        batch_op.drop_column("available_at")
        batch_op.create_index("ix_outbox_messages_unpublished", ["published_at", "created_at"])
