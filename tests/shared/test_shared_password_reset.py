"""Reset links: signed, an hour, once; and asking for one tells nobody who has an account."""

from __future__ import annotations

import threading
import time

import pytest
from itsdangerous import TimestampSigner
from sqlalchemy import select

from shared.accounts import reset
from shared.accounts import service as accounts
from shared.accounts.models import User
from shared.audit.models import AuditEvent
from shared.db import utcnow
from shared.errors import ValidationFailed
from shared.outbox.models import OutboxMessage

SECRET = "s" * 40
NEW_PASSWORD = "lantern-otter-gravel"


def _reset_with(db, token: str, password: str = NEW_PASSWORD):
    link = reset.read_token(session=db, secret_key=SECRET, token=token)
    accounts.reset_password(session=db, user=link.user, new_password=password, repeated=password)
    db.commit()


def test_a_link_opens_its_account_until_it_is_used(db, users):
    token = reset.make_token(secret_key=SECRET, user=users["member"])
    assert reset.read_token(session=db, secret_key=SECRET, token=token).user == users["member"]
    _reset_with(db, token)
    assert accounts.authenticate(session=db, email="member@example.com", password=NEW_PASSWORD) == users["member"]
    used = reset.read_token(session=db, secret_key=SECRET, token=token)
    assert used.user is None
    assert used.problem == "This link has been used already or is not a link we sent. Ask for a new one."


def test_a_link_stops_working_when_the_password_changes_any_other_way(db, users):
    token = reset.make_token(secret_key=SECRET, user=users["member"])
    accounts.set_password(session=db, actor=users["admin"], user_id=users["member"].id, password=NEW_PASSWORD)
    db.commit()
    assert reset.read_token(session=db, secret_key=SECRET, token=token).user is None


def test_a_link_expires_after_an_hour(db, users, monkeypatch):
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: int(time.time()) - 3601)
    token = reset.make_token(secret_key=SECRET, user=users["member"])
    monkeypatch.undo()
    expired = reset.read_token(session=db, secret_key=SECRET, token=token)
    assert expired.user is None
    assert expired.problem.startswith("This link has expired")


@pytest.mark.parametrize("case", ["tampered", "another key", "disabled account", "garbage"])
def test_a_link_that_is_not_ours_or_for_a_disabled_account_opens_nothing(db, users, case):
    token = reset.make_token(secret_key=SECRET, user=users["member"])
    key = SECRET
    if case == "tampered":
        token = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    elif case == "another key":
        key = "k" * 40
    elif case == "disabled account":
        accounts.set_active(session=db, actor=users["admin"], user_id=users["member"].id, active=False)
        db.commit()
    else:
        token = "not-a-token"
    assert reset.read_token(session=db, secret_key=key, token=token).user is None


def test_a_weak_or_mistyped_new_password_is_refused_and_the_link_still_works(db, users):
    token = reset.make_token(secret_key=SECRET, user=users["member"])
    link = reset.read_token(session=db, secret_key=SECRET, token=token)
    with pytest.raises(ValidationFailed, match=r"This is a very common password\."):
        accounts.reset_password(session=db, user=link.user, new_password="password1234", repeated="password1234")
    with pytest.raises(ValidationFailed, match="The two new passwords differ"):
        accounts.reset_password(session=db, user=link.user, new_password=NEW_PASSWORD, repeated="lantern")
    db.rollback()
    assert reset.read_token(session=db, secret_key=SECRET, token=token).user == users["member"]


def test_asking_for_a_link_queues_the_same_for_any_address(db, users):
    """Looking the account up is the worker's job: the request does the same work for an
    address with an account and one without (tests/notifications: who is mailed)."""
    for email in ("Member@Example.com", "nobody@example.com"):
        accounts.request_password_reset(session=db, email=email)
    db.commit()
    asked = db.scalars(select(OutboxMessage).where(OutboxMessage.topic == "user.password_reset_requested")).all()
    assert [message.payload["email"] for message in asked] == ["member@example.com", "nobody@example.com"]
    assert db.scalar(select(AuditEvent).where(AuditEvent.action == "user.password_reset_requested")) is None


@pytest.mark.parametrize(
    ("hours", "age_hours", "works"),
    [
        (reset.RESET_LINK_HOURS, 0.5, True),
        (reset.RESET_LINK_HOURS, 2, False),
        (72, 2, True),
        (72, 71, True),
        (72, 73, False),
    ],
)
def test_a_link_works_for_the_hours_signed_into_it(db, users, monkeypatch, hours, age_hours, works):
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: int(time.time() - age_hours * 3600))
    token = reset.make_token(secret_key=SECRET, user=users["member"], hours=hours)
    monkeypatch.undo()
    link = reset.read_token(session=db, secret_key=SECRET, token=token)
    assert (link.user == users["member"]) is works
    if not works:
        assert link.problem.startswith("This link has expired: it worked for ")


def test_two_workers_fanning_out_reset_requests_at_once_send_one_mail(db, users, session_factory):
    """Found by QA: three quick requests gave two mails; both worker processes read the time
    before either wrote it. The claim is one conditional UPDATE: the second waits, then finds it."""
    member_id = users["member"].id
    results: list[bool] = []
    with session_factory() as first:
        now = utcnow()
        assert reset.claim_reset_mail(first, first.get(User, member_id), now)

        def second_worker() -> None:
            with session_factory() as second:
                results.append(reset.claim_reset_mail(second, second.get(User, member_id), utcnow()))
                second.commit()

        thread = threading.Thread(target=second_worker)
        thread.start()
        thread.join(0.5)  # waiting on the first's row (or, on SQLite, write) lock
        first.commit()
        thread.join(30)
    assert results == [False]
    later = utcnow() + reset.RESET_MAIL_INTERVAL
    with session_factory() as third:
        assert reset.claim_reset_mail(third, third.get(User, member_id), later)
        third.commit()
