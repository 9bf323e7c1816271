"""The pipeline function in-process (no Celery): scanning off, the redelivery cap, a lost object,
a duplicate run, and re-tagging, on local storage and both databases."""

from __future__ import annotations

import io

import pytest
from samples import image_bytes
from sqlalchemy import func, select

from shared.audit.models import AuditEvent
from shared.evidence import events
from shared.evidence import service as evidence_service
from shared.evidence.models import Evidence
from shared.evidence.storage import LocalStorage, new_key
from shared.outbox.models import OutboxMessage
from worker.processing.pipeline import RetryLater, Runtime, process_evidence, retag_incident


@pytest.fixture
def storage(tmp_path) -> LocalStorage:
    return LocalStorage(tmp_path / "evidence")


@pytest.fixture
def runtime(session_factory, storage) -> Runtime:
    return Runtime(session_factory=session_factory, storage=storage, scanner=None, max_attempts=3)


def attach(db, users, incident, storage, name="graph.png", data=None) -> Evidence:
    stored = storage.put(new_key("incoming/"), io.BytesIO(data if data is not None else image_bytes("PNG")))
    item = evidence_service.attach(
        session=db, incident_id=incident.id, actor=users["member"], stored=stored, file_name=name
    )
    db.commit()
    return item


def verdicts(db) -> int:
    return db.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == events.EVIDENCE_VERDICT))


def test_scanning_off_gives_not_scanned_with_a_thumbnail_and_a_second_run_does_nothing(
    db, users, make_incident, storage, runtime
):
    item = attach(db, users, make_incident(), storage)
    assert process_evidence(runtime, item.id, final_attempt=False) == "not_scanned"
    assert process_evidence(runtime, item.id, final_attempt=False) == "already-decided"
    db.expire_all()
    item = db.get(Evidence, item.id)
    assert item.state == "not_scanned"
    assert item.thumbnail_key
    assert item.storage_key.startswith("evidence/")
    assert storage.get_tags(item.storage_key) == {
        "scan-status": "not-scanned",
        "retention": "active",
        "legal-hold": "false",
    }
    # The thumbnail carries the same scan status: the bucket policy serves only objects tagged
    # clean or not-scanned, thumbnails included (terraform/modules/evidence_bucket).
    assert storage.get_tags(item.thumbnail_key) == storage.get_tags(item.storage_key)
    assert verdicts(db) == 1
    assert (
        db.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.topic == events.TOPIC_PROCESSED))
        == 1
    )


def test_a_file_redelivered_past_the_cap_goes_to_error(db, users, make_incident, storage, runtime):
    item = attach(db, users, make_incident(), storage)
    db.execute(Evidence.__table__.update().values(attempts=runtime.max_attempts))
    db.commit()
    assert process_evidence(runtime, item.id, final_attempt=False) == "error"
    db.expire_all()
    assert "gave up after 3 attempts" in db.get(Evidence, item.id).reason


def test_a_lost_object_is_an_error_not_a_retry_loop(db, users, make_incident, storage, runtime):
    item = attach(db, users, make_incident(), storage)
    storage.delete(item.storage_key)
    assert process_evidence(runtime, item.id, final_attempt=False) == "error"


def test_storage_trouble_is_retried_until_the_last_attempt(db, users, make_incident, storage, runtime, monkeypatch):
    from shared.evidence.storage import StorageError

    item = attach(db, users, make_incident(), storage)

    def broken(*_args, **_kwargs):
        raise StorageError("disk unplugged")

    monkeypatch.setattr(LocalStorage, "exists", broken)
    with pytest.raises(RetryLater):
        process_evidence(runtime, item.id, final_attempt=False)
    assert process_evidence(runtime, item.id, final_attempt=True) == "error"


def test_retag_follows_close_and_hold(db, users, make_incident, storage, runtime):
    incident = make_incident("closed")
    item = attach(db, users, incident, storage)
    process_evidence(runtime, item.id, final_attempt=False)
    db.expire_all()
    item = db.get(Evidence, item.id)
    assert storage.get_tags(item.storage_key)["retention"] == "closed"  # placed with the incident's class
    evidence_service.set_legal_hold(session=db, incident_id=incident.id, actor=users["lead"], on=True)
    db.commit()
    assert retag_incident(runtime, incident.id) == 2  # the file and its thumbnail
    for key in (item.storage_key, item.thumbnail_key):
        assert storage.get_tags(key) == {"scan-status": "not-scanned", "retention": "closed", "legal-hold": "true"}


def test_a_check_that_fails_unexpectedly_is_retried_then_ends_in_error_not_pending(
    db, users, make_incident, storage, runtime, monkeypatch
):
    """An error nobody foresaw (here the ImportError a half-deployed release raised in QA) failed
    the task: Celery acknowledged the message and the file stayed `pending` for ever, which
    neither Retry (only for `error`) nor a download could get out of. Now each attempt but the
    last asks for a retry, and the last records `error`, which a lead can retry."""
    from worker.tasks import evidence as tasks

    item = attach(db, users, make_incident(), storage)

    def broken(*_args, **_kwargs):
        raise ImportError("cannot import name 'day_start' from 'shared.incidents.insights'")

    monkeypatch.setattr(tasks, "runtime_for", lambda _settings: runtime)
    monkeypatch.setattr(tasks.pipeline, "process_evidence", broken)
    # Called directly, as Celery's autoretry would call it: a retry request raises the reason.
    with pytest.raises(RetryLater, match="the check failed unexpectedly: ImportError"):
        tasks.process.run(item.id)
    db.expire_all()
    assert db.get(Evidence, item.id).state == "pending"

    tasks.process.push_request(retries=tasks.process.max_retries)  # the last attempt
    try:
        assert tasks.process.run(item.id) == "error"
    finally:
        tasks.process.pop_request()
    db.expire_all()
    item = db.get(Evidence, item.id)
    assert (item.state, item.reason) == ("error", "the check failed unexpectedly (see the worker's log)")
    assert verdicts(db) == 1
    assert evidence_service.retry(session=db, evidence_id=item.id, actor=users["lead"]).state == "pending"
