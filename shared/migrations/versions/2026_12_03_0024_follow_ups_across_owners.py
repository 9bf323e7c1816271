"""follow-ups across owners: indexes for everyone's follow-ups; one person's open ones by due date and id

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-03 17:00:00

The page /follow-ups (`?owner=all`, `none`, a person) and GET /api/v1/follow-ups list anyone's
follow-ups. Everyone's had no index in their orders: open (and overdue: open, due before today)
soonest due first, done most recently done first, and all by due date each read every follow-up
of the table, then sorted. Each is now one index range that stops after the page.

One person's (or nobody's) open ones had ix_incident_follow_ups_open_by_owner (0019) on
(owner_id, due_date), without the id that breaks ties within a due date: a page resuming inside
a due date (a person's undated ones are one) sorted the rest of it. The index keeps its name and
gains the id: built under a new name, the old one dropped, the new one renamed. Run again after
a failure at any step, the upgrade ends in the same place.

On PostgreSQL the indexes are built and dropped CONCURRENTLY, as in 0017, 0020 and 0023: adding,
ticking or editing a follow-up would otherwise wait for the whole build.
"""

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

_OPEN_ONLY = sa.text("done_at IS NULL")
_DONE_ONLY = sa.text("done_at IS NOT NULL")
# (name, columns, partial condition or None)
INDEXES = (
    ("ix_incident_follow_ups_open_by_due", [sa.text("due_date"), sa.text("id")], _OPEN_ONLY),
    ("ix_incident_follow_ups_done", [sa.text("done_at DESC"), sa.text("id DESC")], _DONE_ONLY),
    ("ix_incident_follow_ups_by_due", [sa.text("due_date"), sa.text("id")], None),
)
# 0019's index, replaced by the same with the id.
OPEN_BY_OWNER = "ix_incident_follow_ups_open_by_owner"
OPEN_BY_OWNER_BUILT = "ix_incident_follow_ups_open_by_owner_0024"
OPEN_BY_OWNER_COLUMNS = [sa.text("owner_id"), sa.text("due_date"), sa.text("id")]
OPEN_BY_OWNER_BEFORE = [sa.text("owner_id"), sa.text("due_date")]
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
                {"names": [name for name, _columns, _where in INDEXES] + [OPEN_BY_OWNER_BUILT]},
            )
            for (name,) in leftovers.all():
                op.drop_index(name, table_name=TABLE, postgresql_concurrently=True)
            for name, columns, where in (*INDEXES, (OPEN_BY_OWNER_BUILT, OPEN_BY_OWNER_COLUMNS, _OPEN_ONLY)):
                op.create_index(
                    name, TABLE, columns, postgresql_concurrently=True, postgresql_where=where, if_not_exists=True
                )
            # The old one goes once its replacement is valid; the rename takes a moment's lock.
            op.drop_index(OPEN_BY_OWNER, table_name=TABLE, postgresql_concurrently=True, if_exists=True)
            op.execute(f"ALTER INDEX {OPEN_BY_OWNER_BUILT} RENAME TO {OPEN_BY_OWNER}")
        return
    for name, columns, where in INDEXES:
        op.create_index(name, TABLE, columns, sqlite_where=where)
    op.drop_index(OPEN_BY_OWNER, table_name=TABLE)
    op.create_index(OPEN_BY_OWNER, TABLE, OPEN_BY_OWNER_COLUMNS, sqlite_where=_OPEN_ONLY)


def downgrade() -> None:
    op.drop_index(OPEN_BY_OWNER, table_name=TABLE)
    op.create_index(OPEN_BY_OWNER, TABLE, OPEN_BY_OWNER_BEFORE, postgresql_where=_OPEN_ONLY, sqlite_where=_OPEN_ONLY)
    for name, _columns, _where in reversed(INDEXES):
        op.drop_index(name, table_name=TABLE)
