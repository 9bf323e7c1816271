"""incidents.blocked_at: when the incident last moved to Blocked

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-04 09:00:00

Blocked was the one status without a stamp of its own, so "In status for" ("Blocked since") read
updated_at, which any change moves: a blocked incident re-prioritised, reassigned or retitled an
hour later showed "Blocked since" the edit. The state machine now stamps blocked_at on every
move to Blocked, as it stamps in_progress_at, resolved_at and closed_at.

The column is nullable with no default: on PostgreSQL adding it is a catalogue change (no table
rewrite, no lock beyond a moment's), and the running release, which does not know it, goes on
writing incidents. Only incidents blocked now are backfilled — a few rows, not the table —
with the time of their latest move to Blocked in the audit trail (its incident and action
index), or their updated_at where the trail has none. Nothing reads blocked_at of an incident
that is not blocked.
"""

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def _backfill(moved_to: str) -> str:
    """Each blocked incident's latest move to Blocked (`moved_to`: the dialect's reading of the
    event's "to", a constant of this file, never input)."""
    return f"""
        UPDATE incidents SET blocked_at = COALESCE(
            (SELECT MAX(a.occurred_at) FROM audit_events AS a
             WHERE a.incident_id = incidents.id AND a.action = 'incident.status_changed'
               AND {moved_to} = 'blocked'),
            updated_at)
        WHERE status = 'blocked'
    """  # noqa: S608


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        # IF NOT EXISTS: run again after a failure, the upgrade ends in the same place.
        op.execute("ALTER TABLE incidents ADD COLUMN IF NOT EXISTS blocked_at timestamptz")
    else:
        op.add_column("incidents", sa.Column("blocked_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(_backfill("a.data->>'to'" if postgresql else "json_extract(a.data, '$.to')"))


def downgrade() -> None:
    # A plain DROP COLUMN on SQLite too (3.35+): a batch copy of the table is what its foreign
    # keys refuse once incidents have comments (see 0022).
    op.drop_column("incidents", "blocked_at")
