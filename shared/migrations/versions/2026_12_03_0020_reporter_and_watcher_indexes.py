"""incidents by reporter, and the incidents a person watches: indexes for `reporter:` and `is:watching`

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03 12:00:00

`reporter:me` is `owner:me`'s twin: the same order after the reporter (the dashboard's priority
order), so a page is an index range that stops after ~50 rows and each status counter stops at
its cap. `is:watching` starts from the person's own watch rows: the unique (incident_id,
user_id) only answers "who watches this incident", and without (user_id, incident_id) the
search read every watch row of every incident.

`updated:` and `created:` need none: ix_incidents_recent_sort (updated_at, id) and
ix_incidents_created_at are ranges of them.

On PostgreSQL the indexes are built CONCURRENTLY, as in 0017: every incident write (and every
watch) would otherwise wait for the whole build on a big table.
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

# (name, table, columns)
INDEXES = (
    (
        "ix_incidents_reporter_sort",
        "incidents",
        [sa.text("reporter_id"), sa.text("priority"), sa.text("updated_at DESC"), sa.text("id DESC")],
    ),
    ("ix_incident_watchers_user", "incident_watchers", [sa.text("user_id"), sa.text("incident_id")]),
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
                {"names": [name for name, _table, _columns in INDEXES]},
            )
            tables = {name: table for name, table, _columns in INDEXES}
            for (name,) in leftovers.all():
                op.drop_index(name, table_name=tables[name], postgresql_concurrently=True)
            for name, table, columns in INDEXES:
                op.create_index(name, table, columns, postgresql_concurrently=True, if_not_exists=True)
        return
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
