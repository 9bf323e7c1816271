"""incident timers: acknowledged_at, and indexes for the insights window

Revision ID: 0007
Revises: 0004
Create Date: 2026-11-29 17:00:00

`acknowledged_at` is the first move to In Progress (time to acknowledge); `in_progress_at`
moves again on every return to In Progress, so it cannot answer that. Existing rows take the
earliest recorded move to In Progress from the audit trail, or `in_progress_at` where the trail
has none. The insights page reads incidents filed, resolved or closed within a window of days:
one index each, so it reads that window and nothing older.
"""

from alembic import op
import sqlalchemy as sa


revision = "0007"
down_revision = "0004"
branch_labels = None
depends_on = None

_INDEXES = {
    "ix_incidents_created_at": "created_at",
    "ix_incidents_resolved_at": "resolved_at",
    "ix_incidents_closed_at": "closed_at",
}


def upgrade() -> None:
    with op.batch_alter_table("incidents") as batch_op:
        batch_op.add_column(sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True))
    bind = op.get_bind()
    moved_to = "e.data ->> 'to'" if bind.dialect.name == "postgresql" else "json_extract(e.data, '$.to')"
    op.execute(
        sa.text(
            "UPDATE incidents SET acknowledged_at = COALESCE("
            "(SELECT MIN(e.occurred_at) FROM audit_events e WHERE e.incident_id = incidents.id"
            f" AND e.action = 'incident.status_changed' AND {moved_to} = 'in_progress'),"
            " in_progress_at) WHERE in_progress_at IS NOT NULL"
        )
    )
    for name, column in _INDEXES.items():
        op.create_index(name, "incidents", [column])


def downgrade() -> None:
    for name in _INDEXES:
        op.drop_index(name, table_name="incidents")
    with op.batch_alter_table("incidents") as batch_op:
        batch_op.drop_column("acknowledged_at")
