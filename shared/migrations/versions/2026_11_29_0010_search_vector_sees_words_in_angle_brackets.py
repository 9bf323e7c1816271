"""search vector: words between angle brackets are words, not markup (PostgreSQL only)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29 20:45:00

PostgreSQL's text-search parser reads `<...>` as an XML tag and drops it, so a title such as
"Error <NullPointerException> in billing" or "<script>alert(1)</script>" was not found by its
own words once search went through the full-text index alone (0009). The document is now built
from the text with `<` and `>` turned into spaces. This rewrites the incidents table once.
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def _vector(clean: bool) -> str:
    def field(name: str) -> str:
        value = f"coalesce({name}, '')"
        return f"translate({value}, '<>', '  ')" if clean else value

    return (
        f"setweight(to_tsvector('english', {field('title')}), 'A') || "
        f"setweight(to_tsvector('english', {field('description')}), 'B') || "
        f"setweight(to_tsvector('english', {field('component')}), 'C')"
    )


def _rebuild(clean: bool) -> None:
    op.execute("ALTER TABLE incidents DROP COLUMN search_vector")  # drops its GIN index too
    op.execute(f"ALTER TABLE incidents ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ({_vector(clean)}) STORED")
    op.execute("CREATE INDEX ix_incidents_search_vector ON incidents USING gin (search_vector)")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    _rebuild(clean=True)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    _rebuild(clean=False)
