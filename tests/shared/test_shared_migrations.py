"""Alembic migrations on both backends: up, down, up again; they match the models; PostgreSQL
gets its search columns and an audit table that refuses UPDATE and DELETE."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError

from shared import migrate
from shared.db import Base, make_engine

APP_TABLES = {table.name for table in Base.metadata.sorted_tables}


def head() -> str:
    return ScriptDirectory.from_config(migrate.alembic_config("sqlite://")).get_current_head()


def tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_up_down_and_up_again(temporary_database_url):
    url = temporary_database_url()
    migrate.upgrade(url)
    assert migrate.current_revision(url) == head()
    assert tables(url) >= APP_TABLES

    migrate.downgrade(url, "base")
    assert migrate.current_revision(url) is None
    assert not APP_TABLES & tables(url)

    migrate.upgrade(url)
    migrate.upgrade(url)  # already at head: nothing to do, nothing breaks
    assert migrate.current_revision(url) == head()
    assert tables(url) >= APP_TABLES
    if url.startswith("postgresql"):
        assert_audit_is_append_only(url)


def test_the_migrated_schema_matches_the_models(engine):
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"include_object": migrate.include_object, "compare_type": True}
        )
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


@pytest.mark.postgres_only
def test_postgresql_gets_search_indexes_and_the_trigram_extension(engine):
    with engine.connect() as connection:
        indexes = {name for (name,) in connection.execute(text("SELECT indexname FROM pg_indexes"))}
        extensions = {name for (name,) in connection.execute(text("SELECT extname FROM pg_extension"))}
    assert {"ix_incidents_search_vector", "ix_incidents_title_trgm", "ix_incidents_key_trgm"} <= indexes
    assert "pg_trgm" in extensions


def assert_audit_is_append_only(url: str) -> None:
    """The trigger came back with the round trip: UPDATE and DELETE are refused, by name."""
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO audit_events (occurred_at, action, entity_type, entity_id, data, prev_hash, hash)"
                    " VALUES (now(), 'test.event', 'test', 1, '{}', :zero, :one)"
                ),
                {"zero": "0" * 64, "one": "1" * 64},
            )
        for statement in ("UPDATE audit_events SET action = 'forged'", "DELETE FROM audit_events"):
            with pytest.raises(DBAPIError, match="audit_events is append-only"), engine.begin() as connection:
                connection.execute(text(statement))
        with engine.connect() as connection:
            assert connection.execute(text("SELECT action FROM audit_events")).scalars().all() == ["test.event"]
    finally:
        engine.dispose()


def test_autogenerate_against_a_freshly_migrated_database_proposes_nothing(temporary_database_url):
    """What `flask db revision -m ...` compares: with the PostgreSQL-only search objects filtered
    out by env.py's include_object, a database at head and the models agree exactly."""
    from alembic.autogenerate import produce_migrations

    url = temporary_database_url()
    migrate.upgrade(url)
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"include_object": migrate.include_object, "compare_type": True}
            )
            assert produce_migrations(context, Base.metadata).upgrade_ops.is_empty()
    finally:
        engine.dispose()


def test_db_revision_writes_an_empty_revision_against_a_database_at_head(temporary_database_url, tmp_path):
    url = temporary_database_url()
    migrate.upgrade(url)
    versions = tmp_path / "versions"
    versions.mkdir()
    config = migrate.alembic_config(url)
    config.set_main_option("path_separator", "os")
    config.set_main_option(
        "version_locations", os.pathsep.join([str(migrate.MIGRATIONS_DIR / "versions"), str(versions)])
    )
    from alembic import command

    script = command.revision(config, message="nothing new", autogenerate=True, version_path=str(versions))
    text_ = Path(script.path).read_text()
    assert script.down_revision == head()
    assert "op." not in text_.split("def upgrade")[1].split("def downgrade")[0]  # nothing proposed
