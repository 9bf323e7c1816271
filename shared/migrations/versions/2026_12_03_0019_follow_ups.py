"""follow-ups: the things to do after (or during) an incident

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03 09:00:00

One row per follow-up, listed per incident in the order added (index on incident_id, id). The
partial index holds only open follow-ups, by owner and due date: "my open follow-ups" across
incidents is one range of it, however many done ones pile up over the years.
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

_OPEN_ONLY = sa.text("done_at IS NULL")


def upgrade() -> None:
    op.create_table(
        "incident_follow_ups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_by_id", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_incident_follow_ups_incident_id_incidents")
        ),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], name=op.f("fk_incident_follow_ups_owner_id_users")),
        sa.ForeignKeyConstraint(["done_by_id"], ["users.id"], name=op.f("fk_incident_follow_ups_done_by_id_users")),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_incident_follow_ups_created_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_follow_ups")),
    )
    op.create_index("ix_incident_follow_ups_incident", "incident_follow_ups", ["incident_id", "id"])
    op.create_index(
        "ix_incident_follow_ups_open_by_owner",
        "incident_follow_ups",
        ["owner_id", "due_date"],
        postgresql_where=_OPEN_ONLY,
        sqlite_where=_OPEN_ONLY,
    )


def downgrade() -> None:
    op.drop_index("ix_incident_follow_ups_open_by_owner", table_name="incident_follow_ups")
    op.drop_index("ix_incident_follow_ups_incident", table_name="incident_follow_ups")
    op.drop_table("incident_follow_ups")
