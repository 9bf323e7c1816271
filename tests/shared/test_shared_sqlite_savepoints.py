"""A savepoint on the embedded default (SQLite) nests in the session's transaction: a write made
in one after nothing but reads is undone by the transaction's ROLLBACK, as on PostgreSQL. (pysqlite
began no transaction before the SAVEPOINT, whose RELEASE then committed: a team view refused
for its name after the write was kept, found by QA.)"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.accounts.models import User
from shared.incidents.saved_views import SavedView


def test_a_write_in_a_savepoint_after_reads_is_undone_by_the_rollback(db, users, session_factory):
    lead_id = users["lead"].id
    with session_factory() as session:
        session.get(User, lead_id)  # reads only, so far
        with session.begin_nested():
            session.add(SavedView(owner_id=lead_id, name="Kept by mistake", query="", team=False))
            session.flush()
        session.rollback()

    with Session(db.get_bind()) as other:
        assert other.scalars(select(SavedView.name).where(SavedView.owner_id == lead_id)).all() == []


def test_a_write_in_a_savepoint_is_kept_by_the_commit(db, users, session_factory):
    lead_id = users["lead"].id
    with session_factory() as session:
        session.get(User, lead_id)
        with session.begin_nested():
            session.add(SavedView(owner_id=lead_id, name="Kept", query="", team=False))
            session.flush()
        session.commit()

    with Session(db.get_bind()) as other:
        assert other.scalars(select(SavedView.name).where(SavedView.owner_id == lead_id)).all() == ["Kept"]
