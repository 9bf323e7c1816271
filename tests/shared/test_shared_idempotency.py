"""Filing once per Idempotency-Key: repeats, a repeat racing the first, expiry, misuse."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from shared.accounts.models import User
from shared.db import clock_at, utcnow
from shared.errors import ValidationFailed
from shared.incidents import idempotency
from shared.incidents import service as incidents
from shared.incidents.models import Incident

DETAILS = {"title": "Checkout returns 502", "priority": "P1", "component": "checkout"}


def _file(session, actor, key, details=DETAILS):
    return idempotency.file_once(
        session=session,
        actor=actor,
        key=key,
        details=details,
        file=lambda: incidents.create_incident(session=session, actor=actor, **details),
    )


def _incidents(session) -> int:
    return session.scalar(select(func.count(Incident.id)))


def test_a_repeat_gets_the_first_incident_and_records_nothing_new(db, users, counts):
    first = _file(db, users["member"], "alert-7f3a")
    db.commit()
    events, messages = counts()

    again = _file(db, users["member"], "alert-7f3a", details=dict(reversed(DETAILS.items())))
    db.commit()

    assert (first.replayed, again.replayed) == (False, True)
    assert again.incident.id == first.incident.id
    assert _incidents(db) == 1
    assert counts() == (events, messages)  # no second "created" event, mail or webhook


def test_the_same_key_with_other_details_is_refused_naming_the_key(db, users):
    _file(db, users["member"], "alert-7f3a")
    db.commit()
    with pytest.raises(ValidationFailed) as refused:
        _file(db, users["member"], "alert-7f3a", details={**DETAILS, "priority": "P2"})
    db.rollback()
    message = refused.value.field_errors[idempotency.HEADER]
    assert "for an incident with other details" in message
    assert "Use a new key for a new request." in message
    assert _incidents(db) == 1


def test_keys_belong_to_their_sender(db, users):
    mine = _file(db, users["member"], "shared-key")
    theirs = _file(db, users["other"], "shared-key")
    db.commit()
    assert mine.incident.id != theirs.incident.id
    assert not theirs.replayed


def test_a_refused_filing_leaves_the_key_free_for_the_corrected_request(db, users):
    with pytest.raises(ValidationFailed):
        _file(db, users["member"], "retry-me", details={**DETAILS, "title": ""})
    db.rollback()
    filed = _file(db, users["member"], "retry-me")
    db.commit()
    assert not filed.replayed
    assert filed.incident.title == DETAILS["title"]


def test_a_key_is_remembered_for_a_day_then_files_anew(db, users):
    with clock_at(utcnow() - idempotency.KEY_LIFETIME - timedelta(minutes=1)):
        old = _file(db, users["member"], "daily-report")
        db.commit()
    new = _file(db, users["member"], "daily-report")
    db.commit()
    assert not new.replayed
    assert new.incident.id != old.incident.id
    assert db.scalar(select(func.count(idempotency.IdempotencyKey.id))) == 1  # the expired one went


@pytest.mark.parametrize(
    ("key", "words"),
    [
        ("", "is empty"),
        ("x" * 256, "256 characters long; keep it to 255"),
        ("two words", "visible ASCII"),
        ("clé", "visible ASCII"),
        ("line\nbreak", "visible ASCII"),
    ],
)
def test_a_key_that_cannot_travel_in_a_header_is_refused(db, users, key, words):
    with pytest.raises(ValidationFailed) as refused:
        _file(db, users["member"], key)
    assert words in refused.value.field_errors[idempotency.HEADER]
    db.rollback()
    assert _incidents(db) == 0


def test_a_repeat_sent_while_the_first_is_still_filing_waits_and_gets_its_incident(db, users, session_factory):
    """Two deliveries of one alert at once: the second's claim waits on the first's (PostgreSQL
    holds the key's index entry; SQLite allows one writer), then answers with its incident."""
    member_id = users["member"].id
    answers: list[tuple[int, bool]] = []
    errors: list[BaseException] = []
    with session_factory() as first:
        filed = _file(first, first.get(User, member_id), "alert-race")

        def second_delivery() -> None:
            try:
                with session_factory() as second:
                    again = _file(second, second.get(User, member_id), "alert-race")
                    second.commit()
                    answers.append((again.incident.id, again.replayed))
            except BaseException as error:  # reported below, not lost in the thread
                errors.append(error)

        thread = threading.Thread(target=second_delivery)
        thread.start()
        thread.join(0.5)  # waiting on the first's claim
        first.commit()
        thread.join(30)
    assert not errors, errors
    assert answers == [(filed.incident.id, True)]
    assert _incidents(db) == 1


def _comment(session, actor, incident, key, body="Rolling back deploy 4821 now."):
    return idempotency.comment_once(
        session=session,
        actor=actor,
        key=key,
        details={"incident_id": incident.id, "body": body},
        comment=lambda: incidents.add_comment(session=session, incident_id=incident.id, actor=actor, body=body),
    )


def test_a_comment_sent_again_with_its_key_is_posted_once(db, users, make_incident, counts):
    incident = make_incident()
    first = _comment(db, users["member"], incident, "comment-form-1")
    db.commit()
    before = counts()
    again = _comment(db, users["member"], incident, "comment-form-1")
    db.commit()
    assert (first.replayed, again.replayed) == (False, True)
    assert again.comment.id == first.comment.id
    assert counts() == before


def test_a_key_used_for_an_incident_is_refused_for_a_comment(db, users, make_incident):
    incident = make_incident()
    _file(db, users["member"], "one-key")
    db.commit()
    with pytest.raises(ValidationFailed) as refused:
        _comment(db, users["member"], incident, "one-key")
    assert "for an incident with other details" in refused.value.field_errors[idempotency.HEADER]
