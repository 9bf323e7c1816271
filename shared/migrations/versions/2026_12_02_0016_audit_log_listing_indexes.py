"""audit events: indexes for the audit log (every event, filtered, newest first)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 09:00:00

The audit log (/audit, GET /api/v1/audit/events, `flask audit export`) lists events by
(occurred_at, id), newest first, filtered by action, actor, entity or a time window. At a million
events each filter must be one index range read in that order, not a walk of the primary key
that discards what does not match (an actor's or a webhook's events are a few among millions)
nor a sort of every matching row. The time window is the second column of each index, so
"alice, last March" is one range too.

On PostgreSQL the indexes are built CONCURRENTLY: every change in the app appends an audit event,
and a plain CREATE INDEX would hold those writes up for the whole build on a big table.
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_audit_events_occurred_at_id", ["occurred_at", "id"]),
    ("ix_audit_events_action_occurred_at_id", ["action", "occurred_at", "id"]),
    ("ix_audit_events_actor_id_occurred_at_id", ["actor_id", "occurred_at", "id"]),
    ("ix_audit_events_entity_occurred_at_id", ["entity_type", "entity_id", "occurred_at", "id"]),
    # A kind of entity alone ("every webhook change"): without it, a page of a rare kind whose
    # events are all old walked the whole trail (1.4 s at a million events).
    ("ix_audit_events_entity_type_occurred_at_id", ["entity_type", "occurred_at", "id"]),
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        with op.get_context().autocommit_block():
            # A concurrent build that failed leaves its index INVALID (unused, but still there):
            # drop such leftovers so that running the upgrade again builds them afresh.
            leftovers = op.get_bind().execute(
                sa.text(
                    "SELECT c.relname FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid"
                    " WHERE NOT i.indisvalid AND c.relname = ANY(:names)"
                ),
                {"names": [name for name, _columns in INDEXES]},
            )
            for (name,) in leftovers.all():
                op.drop_index(name, table_name="audit_events", postgresql_concurrently=True)
            for name, columns in INDEXES:
                op.create_index(name, "audit_events", columns, postgresql_concurrently=True, if_not_exists=True)
        return
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        for name, columns in INDEXES:
            batch_op.create_index(name, columns, unique=False)


def downgrade() -> None:
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        for name, _columns in reversed(INDEXES):
            batch_op.drop_index(name)
