"""performance: index-served dashboard sorts, audit verification checkpoints

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 16:00:00

The dashboard's default order (priority, updated_at DESC, id DESC) and its qualifier variants
get indexes in that exact order, so a page is an index range read that stops after ~50 rows
instead of a parallel seq scan and a top-N sort of the whole table. The single-column owner and
component indexes and the old (status, priority, updated_at) one are subsumed by the new ones
(same leading column) and dropped, so writes maintain no more indexes than needed.
"""

from alembic import op
import sqlalchemy as sa


revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_PRIORITY_ORDER = [sa.text("priority"), sa.text("updated_at DESC"), sa.text("id DESC")]
_NEW = {
    "ix_incidents_priority_sort": [],
    "ix_incidents_status_sort": ["status"],
    "ix_incidents_owner_sort": ["owner_id"],
    "ix_incidents_component_sort": ["component"],
}
_OLD = {
    "ix_incidents_status_priority_updated": ["status", "priority", "updated_at"],
    "ix_incidents_updated_at": ["updated_at"],
    "ix_incidents_owner_id": ["owner_id"],
    "ix_incidents_component": ["component"],
}


def upgrade() -> None:
    for name in _OLD:
        op.drop_index(name, table_name="incidents")
    for name, leading in _NEW.items():
        op.create_index(name, "incidents", [*(sa.text(c) for c in leading), *_PRIORITY_ORDER])
    op.create_index("ix_incidents_recent_sort", "incidents", ["updated_at", "id"])
    op.create_table(
        "audit_checkpoints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("last_event_id", sa.Integer(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_checkpoints")),
    )


def downgrade() -> None:
    op.drop_table("audit_checkpoints")
    op.drop_index("ix_incidents_recent_sort", table_name="incidents")
    for name in _NEW:
        op.drop_index(name, table_name="incidents")
    for name, columns in _OLD.items():
        op.create_index(name, "incidents", columns)
