"""webhook endpoints: a unique digest of the URL, so one URL cannot be added twice at once

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 02:00:00

The service refused a URL that another endpoint had, by looking it up first; two requests at
once (a double click on Add, two admins) both saw nothing and both inserted. A unique index
now decides. Stored URLs keep the spelling they were given, so the index is on the sha256 of
the URL as the receiver gets it (shared.notifications.service.url_digest). Endpoints that
already share a URL (saved before the look-up existed) keep working: the oldest gets the
digest, the later ones NULL, which the index allows any number of.
"""

import sqlalchemy as sa
from alembic import op

from shared.notifications.service import url_digest

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_endpoints", schema=None) as batch_op:
        batch_op.add_column(sa.Column("url_digest", sa.String(length=64), nullable=True))
    connection = op.get_bind()
    seen: set[str] = set()
    for endpoint_id, url in connection.execute(sa.text("SELECT id, url FROM webhook_endpoints ORDER BY id")):
        digest = url_digest(url)
        if digest in seen:
            continue
        seen.add(digest)
        connection.execute(
            sa.text("UPDATE webhook_endpoints SET url_digest = :digest WHERE id = :id"),
            {"digest": digest, "id": endpoint_id},
        )
    with op.batch_alter_table("webhook_endpoints", schema=None) as batch_op:
        batch_op.create_index("uq_webhook_endpoints_url_digest", ["url_digest"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("webhook_endpoints", schema=None) as batch_op:
        batch_op.drop_index("uq_webhook_endpoints_url_digest")
        batch_op.drop_column("url_digest")
