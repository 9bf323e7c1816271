"""title words, for typo-tolerant search (PostgreSQL only)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 19:30:00

A search whose words match nothing is retried as a typo. Matching every title by trigram word
similarity read every candidate title (13 % of them share the trigrams of "certficate") and
grew with the table. Instead the misspelt word is looked up among the distinct words of all
titles (a few thousand, trigram-indexed) and the search runs again with the words it is
close to, through the full-text index like any other search. A statement-level trigger keeps
the word list current (one INSERT ... ON CONFLICT DO NOTHING per statement, bulk loads too);
words are never removed: a stale word only suggests a spelling that then matches nothing.
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# The words of a title as the typo lookup sees them: lower case, unstemmed (the 'simple'
# configuration), at least four characters (shorter words are not corrected); `<` and `>` are
# spaces, as in the search vector (0010), so a word in angle brackets is still a word.
_WORDS_OF_NEW_TITLES = """
    INSERT INTO incident_title_words (word)
    SELECT DISTINCT word FROM new_rows, unnest(tsvector_to_array(to_tsvector('simple', translate(new_rows.title, '<>', '  ')))) AS word
    WHERE length(word) >= 4
    ON CONFLICT DO NOTHING
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE TABLE incident_title_words (word text PRIMARY KEY)")
    op.execute("CREATE INDEX ix_incident_title_words_trgm ON incident_title_words USING gin (word gin_trgm_ops)")
    op.execute(
        f"""
        CREATE FUNCTION incident_title_words_add() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          {_WORDS_OF_NEW_TITLES};
          RETURN NULL;
        END $$
        """
    )
    for event in ("INSERT", "UPDATE"):
        op.execute(
            f"""
            CREATE TRIGGER incident_title_words_on_{event.lower()} AFTER {event} ON incidents
            REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
            EXECUTE FUNCTION incident_title_words_add()
            """
        )
    op.execute(_WORDS_OF_NEW_TITLES.replace("new_rows", "incidents"))
    op.execute("ANALYZE incident_title_words")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS incident_title_words_on_insert ON incidents")
    op.execute("DROP TRIGGER IF EXISTS incident_title_words_on_update ON incidents")
    op.execute("DROP FUNCTION IF EXISTS incident_title_words_add()")
    op.execute("DROP TABLE IF EXISTS incident_title_words")
