"""api tokens, hashed login-session ids

Revision ID: 0006
Revises: 0007
Create Date: 2026-11-29 17:00:00

`api_tokens` holds personal API tokens by the SHA-256 of their bearer value. Login sessions
were keyed by the raw cookie value; they are now keyed by its SHA-256, and the rows already
there are rewritten the same way, so nobody is signed out by the upgrade. The downgrade cannot
recover raw values from digests: it ends every session instead.
"""

import hashlib

from alembic import op
import sqlalchemy as sa


revision = "0006"
down_revision = "0007"
branch_labels = None
depends_on = None

_sessions = sa.table("login_sessions", sa.column("id", sa.String(64)))


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("scope", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_api_tokens_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("digest", name=op.f("uq_api_tokens_digest")),
    )
    op.create_index(op.f("ix_api_tokens_user_id"), "api_tokens", ["user_id"], unique=False)
    connection = op.get_bind()
    for (raw,) in connection.execute(sa.select(_sessions.c.id)).all():
        digest = hashlib.sha256(raw.encode()).hexdigest()
        connection.execute(_sessions.update().where(_sessions.c.id == raw).values(id=digest))


def downgrade() -> None:
    op.execute(_sessions.delete())
    op.drop_index(op.f("ix_api_tokens_user_id"), table_name="api_tokens")
    op.drop_table("api_tokens")
