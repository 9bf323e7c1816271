"""Two tabs (or a script) sending the same first write at once, found by a security probe: 10
parallel "Save view" posts of one name, or of a first email preference, gave some 500s ("UNIQUE
constraint failed"). The one that comes second is answered as if it had come second: the view's
name is refused in words, the preference is simply set."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from shared.accounts.models import User
from shared.errors import ValidationFailed
from shared.incidents import saved_views
from shared.incidents.saved_views import SavedView
from shared.notifications import service as notifications
from shared.notifications.models import NotificationPreference

pytestmark = pytest.mark.postgres_only

# Someone in this test's database waiting for another transaction (a unique index's key).
WAITING = text(
    "SELECT count(*) FROM pg_locks WHERE locktype = 'transactionid' AND NOT granted"
    " AND database IS NULL AND pid IN (SELECT pid FROM pg_stat_activity WHERE datname = current_database())"
)


def _second_while_first_is_open(db, session_factory, first_write: Callable, second_write: Callable) -> object:
    """`first_write` in one transaction, left open; `second_write` in another, which waits on the
    unique index for the first; then the first commits. What the second answered."""
    first, second = session_factory(), session_factory()
    outcome: dict[str, object] = {}

    def race() -> None:
        try:
            outcome["answer"] = second_write(second)
            second.commit()
        except ValidationFailed as error:
            second.rollback()
            outcome["answer"] = error
        except Exception as error:  # what a request would turn into a 500
            second.rollback()
            outcome["answer"] = error

    try:
        first_write(first)
        racer = threading.Thread(target=race)
        racer.start()
        with db.get_bind().connect() as watcher:
            while racer.is_alive() and not watcher.execute(WAITING).scalar_one():
                racer.join(0.05)  # until the second waits on the first's row
        first.commit()
        racer.join(30)
    finally:
        first.close()
        second.close()
    return outcome["answer"]


def test_one_name_saved_twice_at_once_keeps_one_view_and_refuses_the_other_in_words(db, users, session_factory):
    lead_id = users["lead"].id

    def save(session: Session):
        return saved_views.save_view(session=session, actor=session.get(User, lead_id), name="raceview", query="")

    answer = _second_while_first_is_open(db, session_factory, save, save)

    assert isinstance(answer, ValidationFailed), answer
    assert answer.field_errors["name"].startswith("You already have a view named “raceview”")
    assert db.scalars(select(SavedView.name).where(SavedView.owner_id == lead_id)).all() == ["raceview"]


def test_a_first_email_preference_sent_twice_at_once_is_set_not_a_server_error(db, users, session_factory):
    member_id = users["member"].id

    def choose(preference: str) -> Callable:
        return lambda session: notifications.set_email_preference(
            session=session, user=session.get(User, member_id), preference=preference
        )

    answer = _second_while_first_is_open(db, session_factory, choose("all"), choose("p1_p2"))

    assert not isinstance(answer, Exception), answer
    stored = db.scalars(select(NotificationPreference.email).where(NotificationPreference.user_id == member_id))
    assert stored.all() == ["p1_p2"]  # the later choice, as if the two had come one after the other
