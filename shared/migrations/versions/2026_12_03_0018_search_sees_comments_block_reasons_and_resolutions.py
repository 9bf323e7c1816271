"""search: comments, block reasons and resolution summaries are searched too (PostgreSQL only)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 09:00:00

A change ticket named only in a comment or a resolution summary ("CHG-4411") found nothing:
the search vector held title, description and component. The incident's vector now also holds
the block reason and the resolution summary, at weight D (below title A, description B and
component C, so a ranking by ts_rank puts them last). This rewrites the incidents table once,
as 0010 did.

Every field is read with `-`, `.`, `/` and `@` as spaces, besides `<` and `>` (0010): the parser
read "CHG-4411" as the word "chg" and the number "-4411", "db-1.internal" and "lee@example.com"
as single host and email tokens, while the search box splits what is typed into words at every
such character ("chg", "4411"): none of them was found by what was typed. Read as spaces, the
document holds the same words the query asks for.

Comments get a vector of their own (a generated column, like the incident's, with the same
angle-bracket fix as 0010) and a GIN index: the search tests each word against the incident's
vector or any one of its comments' (shared/incidents/search.py). A redacted comment's body is
already the redaction notice; its vector is empty all the same, so neither its old words nor
the notice ("redacted") find the incident.
"""

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


# Read as spaces: `<...>` would be an XML tag and dropped (0010); the rest split what the
# parser keeps whole (a signed number, a host, an email, a path) where the query splits words.
_SEPARATORS = "<>-./@"


def _clean(name: str, separators: str = _SEPARATORS) -> str:
    return f"translate(coalesce({name}, ''), '{separators}', '{' ' * len(separators)}')"


def _incident_vector(discussion: bool) -> str:
    """The incident's document: with the discussion fields (this revision) or as 0010 left it."""
    fields = [("title", "A"), ("description", "B"), ("component", "C")]
    if discussion:
        fields += [("blocked_reason", "D"), ("resolution_summary", "D")]
    separators = _SEPARATORS if discussion else "<>"
    return " || ".join(
        f"setweight(to_tsvector('english', {_clean(name, separators)}), '{weight}')" for name, weight in fields
    )


_COMMENT_VECTOR = f"CASE WHEN redacted_at IS NULL THEN to_tsvector('english', {_clean('body')}) ELSE ''::tsvector END"


def _rebuild_incident_vector(discussion: bool) -> None:
    op.execute("ALTER TABLE incidents DROP COLUMN search_vector")  # drops its GIN index too
    op.execute(
        "ALTER TABLE incidents ADD COLUMN search_vector tsvector"
        f" GENERATED ALWAYS AS ({_incident_vector(discussion)}) STORED"
    )
    op.execute("CREATE INDEX ix_incidents_search_vector ON incidents USING gin (search_vector)")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    _rebuild_incident_vector(discussion=True)
    op.execute(
        "ALTER TABLE incident_comments ADD COLUMN search_vector tsvector"
        f" GENERATED ALWAYS AS ({_COMMENT_VECTOR}) STORED"
    )
    op.execute("CREATE INDEX ix_incident_comments_search_vector ON incident_comments USING gin (search_vector)")
    op.execute("ANALYZE incident_comments")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE incident_comments DROP COLUMN search_vector")  # and its index
    _rebuild_incident_vector(discussion=False)
