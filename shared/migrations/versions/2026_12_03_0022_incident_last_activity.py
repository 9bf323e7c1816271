"""incidents.activity_at: the last activity, for `updated:` and the recency sorts

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-03 14:00:00

`updated:12h sort:recent` read updated_at, which only a change of the incident row moves: an
incident only commented on (or given a follow-up, or a file) during a shift was missing from the
handover search, and `-updated:7d` listed it as quiet. activity_at is moved by those too
(shared.incidents.activity), with an UPDATE of that column alone, so the incident's version, and
anyone's open edit form, is left alone.

Existing rows take the latest of updated_at, their comments (written or redacted), follow-ups
(added, edited, done) and evidence (attached or scanned). ix_incidents_activity_sort
(activity_at, id) replaces ix_incidents_recent_sort (updated_at, id): `sort:recent`/`sort:oldest`
pages, `updated:` ranges and the live dashboard's change marker (max(activity_at)) read it, and
nothing reads the old one any more (the priority orders have updated_at in their own indexes).

On PostgreSQL the column comes with the default now(): adding it is a catalogue change (no
table rewrite), and the running release, which does not know the column, can go on filing
incidents while the new one is deployed. The backfill then runs in batches of 1,000 ids, each
committed on its own: a row waits at most for its own batch (under a second), and readers are
never blocked. The index is built CONCURRENTLY, as in 0017 and 0020. The backfill rewrites every
row, so every index of the table takes a new entry for it (the trigram and full-text GIN indexes
most of all): measured on the shared test server with `make bench`'s seeded data (20 % of the
incidents discussed, 5 % with a follow-up), the whole upgrade took 32 s at 200k incidents on a
quiet machine (10,000-id batches) and 84 s under a load average of 12 (1,000-id batches), and
14 minutes at 1M under a load average of 15 (10,000-id batches). Until it ends, rows not yet
reached show the time of the upgrade; the app keeps answering throughout.

SQLite cannot add a column whose default is an expression without copying the table (which
its foreign keys refuse once there are comments): there the default is the epoch, and the
backfill gives every existing row its real time.
"""

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

NEW = ("ix_incidents_activity_sort", [sa.text("activity_at"), sa.text("id")])
OLD = ("ix_incidents_recent_sort", [sa.text("updated_at"), sa.text("id")])
BATCH = 1_000


def _latest_activity(greatest: str) -> str:
    """An UPDATE of a range of ids to their latest activity, with the dialect's n-ary maximum
    (GREATEST on PostgreSQL, MAX on SQLite; COALESCE because SQLite's is NULL if any is)."""
    # `greatest` is one of the two function names above, never input.
    return f"""
        UPDATE incidents SET activity_at = {greatest}(
            updated_at,
            COALESCE((SELECT MAX({greatest}(c.created_at, COALESCE(c.redacted_at, c.created_at)))
                      FROM incident_comments AS c WHERE c.incident_id = incidents.id), updated_at),
            COALESCE((SELECT MAX(f.updated_at)
                      FROM incident_follow_ups AS f WHERE f.incident_id = incidents.id), updated_at),
            COALESCE((SELECT MAX({greatest}(e.created_at, COALESCE(e.processed_at, e.created_at)))
                      FROM evidence AS e WHERE e.incident_id = incidents.id), updated_at)
        )
        WHERE id > :after AND id <= :until
    """  # noqa: S608


def _drop_invalid(bind, names: list[str]) -> None:
    # A concurrent build that failed leaves its index INVALID (unused, but still there): drop
    # such leftovers so that running the migration again builds them afresh.
    leftovers = bind.execute(
        sa.text(
            "SELECT c.relname FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid"
            " WHERE NOT i.indisvalid AND c.relname = ANY(:names)"
        ),
        {"names": names},
    )
    for (name,) in leftovers.all():
        op.drop_index(name, table_name="incidents", postgresql_concurrently=True)


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        op.execute(
            "ALTER TABLE incidents ADD COLUMN activity_at DATETIME NOT NULL DEFAULT '1970-01-01 00:00:00.000000'"
        )
        op.execute(sa.text(_latest_activity("MAX")).bindparams(after=0, until=2**62))
        op.drop_index(OLD[0], table_name="incidents")
        op.create_index(NEW[0], "incidents", NEW[1])
        return
    # IF NOT EXISTS: a run stopped after this committed (below) starts again from here.
    op.execute("ALTER TABLE incidents ADD COLUMN IF NOT EXISTS activity_at timestamptz NOT NULL DEFAULT now()")
    with op.get_context().autocommit_block():
        last = bind.execute(sa.text("SELECT COALESCE(MAX(id), 0) FROM incidents")).scalar_one()
        backfill = sa.text(_latest_activity("GREATEST"))
        for after in range(0, last, BATCH):
            bind.execute(backfill, {"after": after, "until": after + BATCH})
        _drop_invalid(bind, [NEW[0]])
        op.create_index(NEW[0], "incidents", NEW[1], postgresql_concurrently=True, if_not_exists=True)
        op.drop_index(OLD[0], table_name="incidents", postgresql_concurrently=True, if_exists=True)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        op.drop_index(NEW[0], table_name="incidents")
        op.create_index(OLD[0], "incidents", OLD[1])
        op.execute("ALTER TABLE incidents DROP COLUMN activity_at")
        return
    with op.get_context().autocommit_block():
        _drop_invalid(bind, [OLD[0]])
        op.create_index(OLD[0], "incidents", OLD[1], postgresql_concurrently=True, if_not_exists=True)
        op.drop_index(NEW[0], table_name="incidents", postgresql_concurrently=True, if_exists=True)
    op.drop_column("incidents", "activity_at")
