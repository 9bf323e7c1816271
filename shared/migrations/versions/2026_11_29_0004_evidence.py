"""evidence: files attached to incidents, processed by the worker

Revision ID: 0004
Revises: 0002
Create Date: 2026-11-29 17:00:00

One row per upload. `storage_key` is a server-made UUID key (never the user's file name);
`state` starts `pending` and is changed once by the worker (compare-and-set). The list on
the incident page reads (incident_id, created_at).
"""

from alembic import op
import sqlalchemy as sa


revision = "0004"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "evidence",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("incident_id", sa.Integer(), sa.ForeignKey("incidents.id"), nullable=False),
        sa.Column("uploader_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("display_name", sa.String(300), nullable=False),
        sa.Column("storage_key", sa.String(120), nullable=False, unique=True),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("declared_extension", sa.String(20), nullable=False),
        sa.Column("declared_type", sa.String(120), nullable=False),
        sa.Column("detected_type", sa.String(120), nullable=True),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("reason", sa.String(500), nullable=True),
        sa.Column("thumbnail_key", sa.String(120), nullable=True),
        sa.Column("legal_hold", sa.Boolean(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_evidence_incident_created", "evidence", ["incident_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_evidence_incident_created", table_name="evidence")
    op.drop_table("evidence")
