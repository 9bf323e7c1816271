"""follow-ups by owner, done and all: indexes for "Your follow-ups" beyond the open ones

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-03 15:00:00

The page "Your follow-ups" (/follow-ups) and GET /api/v1/me/follow-ups page through one person's
follow-ups: the open ones by ix_incident_follow_ups_open_by_owner (0019); the done ones (most
recently done first) and `state=all` (soonest due first, open and done together) had no index
of their own and read every follow-up of the table, then sorted (~1-6 ms at ~10,000 follow-ups,
growing with the table). Each is now one index range that stops after the page.

On PostgreSQL the indexes are built CONCURRENTLY, as in 0017 and 0020: adding, ticking or
editing a follow-up would otherwise wait for the whole build.
"""

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

_DONE_ONLY = sa.text("done_at IS NOT NULL")
# (name, columns, partial condition or None)
INDEXES = (
    (
        "ix_incident_follow_ups_done_by_owner",
        [sa.text("owner_id"), sa.text("done_at DESC"), sa.text("id DESC")],
        _DONE_ONLY,
    ),
    ("ix_incident_follow_ups_by_owner", [sa.text("owner_id"), sa.text("due_date"), sa.text("id")], None),
)
TABLE = "incident_follow_ups"


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
                {"names": [name for name, _columns, _where in INDEXES]},
            )
            for (name,) in leftovers.all():
                op.drop_index(name, table_name=TABLE, postgresql_concurrently=True)
            for name, columns, where in INDEXES:
                op.create_index(
                    name, TABLE, columns, postgresql_concurrently=True, postgresql_where=where, if_not_exists=True
                )
        return
    for name, columns, where in INDEXES:
        op.create_index(name, TABLE, columns, sqlite_where=where)


def downgrade() -> None:
    for name, _columns, _where in reversed(INDEXES):
        op.drop_index(name, table_name=TABLE)
