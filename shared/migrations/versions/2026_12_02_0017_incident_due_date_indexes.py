"""incidents: indexes for `sort:due` and the `due:` qualifier

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02 10:00:00

`sort:due` orders by due date (soonest first, no due date last), then the dashboard's priority
order; `due:today`, `due:week` and `due:overdue` are due-date ranges. Both indexes are in that
order, ascending (PostgreSQL puts NULLs last), so a page is an index range read that stops
after ~50 rows. The partial one holds every status but Closed: the dashboard's default view
in due order would otherwise walk past every Closed incident whose due date has long passed
(most of them, after a few years) before it reaches the first active one; `due:overdue` is a
range of it too. The full one serves `status:all` and the API, which lists every status.

On PostgreSQL the indexes are built CONCURRENTLY: every incident write would otherwise wait
for the whole build on a big table.
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

_DUE_ORDER = [sa.text("due_date"), sa.text("priority"), sa.text("updated_at DESC"), sa.text("id DESC")]
_ACTIVE_ONLY = sa.text("status <> 'closed'")
INDEXES = (
    ("ix_incidents_due_sort", None),
    ("ix_incidents_active_due_sort", _ACTIVE_ONLY),
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
                {"names": [name for name, _where in INDEXES]},
            )
            for (name,) in leftovers.all():
                op.drop_index(name, table_name="incidents", postgresql_concurrently=True)
            for name, where in INDEXES:
                op.create_index(
                    name,
                    "incidents",
                    _DUE_ORDER,
                    postgresql_concurrently=True,
                    postgresql_where=where,
                    if_not_exists=True,
                )
        return
    for name, where in INDEXES:
        op.create_index(name, "incidents", _DUE_ORDER, sqlite_where=where)


def downgrade() -> None:
    for name, _where in reversed(INDEXES):
        op.drop_index(name, table_name="incidents")
