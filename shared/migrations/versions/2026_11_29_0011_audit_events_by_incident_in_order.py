"""audit events: index (incident_id, id) instead of (incident_id)

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29 23:40:00

An incident's newest event (`ORDER BY id DESC LIMIT 1` under `incident_id = ?`, which the
incident page's timeline cache reads on every view) was planned as a backward walk of the
primary key, filtering on incident_id: 19 ms at 100k incidents for an incident whose events
are old, growing with the table. With (incident_id, id) it is one index probe, and the
timeline's own `ORDER BY id` reads the incident's events in order. The composite index serves
every lookup the single-column one did, so that one goes.
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index("ix_audit_events_incident_id_id", ["incident_id", "id"], unique=False)
        batch_op.drop_index(batch_op.f("ix_audit_events_incident_id"))


def downgrade() -> None:
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_events_incident_id"), ["incident_id"], unique=False)
        batch_op.drop_index("ix_audit_events_incident_id_id")
