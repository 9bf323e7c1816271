"""The embedded SQLite database file: only its owner may read it (it holds password hashes and
every incident), like the secret key and the mail folder beside it."""

from __future__ import annotations

import stat

from sqlalchemy import text

from shared.db import make_engine


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_database_file_and_its_journal_are_readable_by_their_owner_only(tmp_path):
    """Found by QA: `make run` made incident-tracker.db -rw-r--r--."""
    path = tmp_path / "data" / "incident-tracker.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE t (x INTEGER)"))
            connection.execute(text("INSERT INTO t VALUES (1)"))
            wal = path.with_name(path.name + "-wal")
            assert wal.exists()  # WAL mode: the journal holds the rows too
            assert _mode(wal) == 0o600
    finally:
        engine.dispose()
    assert _mode(path) == 0o600


def test_an_existing_world_readable_database_file_is_tightened(tmp_path):
    path = tmp_path / "incident-tracker.db"
    path.touch(mode=0o644)
    path.chmod(0o644)
    make_engine(f"sqlite:///{path}").dispose()
    assert _mode(path) == 0o600
