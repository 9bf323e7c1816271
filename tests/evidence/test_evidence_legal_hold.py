"""Legal holds are S3 Object Lock legal holds where the bucket has Object Lock (prod): the
pipeline function and the retag in-process against moto's server, on both databases.

A held version cannot be deleted (by the orphan sweep, an operator, a deploy role, or the
lifecycle rule that purges noncurrent versions) until the worker lifts the hold. The
`legal-hold` tag is written as before; a bucket without Object Lock (dev, staging) gets only it.
"""

from __future__ import annotations

import io
import os

import boto3
import pytest
from botocore.exceptions import ClientError
from samples import image_bytes
from servers import S3_TEST_BUCKET
from sqlalchemy import select

from shared.accounts.models import User
from shared.evidence import service as evidence_service
from shared.evidence import tags
from shared.evidence.models import Evidence
from shared.evidence.storage import S3Storage, StorageError, new_key, rekey
from shared.outbox.models import OutboxMessage
from worker.processing.pipeline import RetryLater, Runtime, process_evidence, retag_incident

LOCKED_BUCKET = f"evidence-locked-{os.getpid()}"


@pytest.fixture(scope="module")
def s3(s3_endpoint):
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    # Object Lock without a default retention: a version is locked by its legal hold alone, so
    # the tests can show a delete refused while held and allowed once the hold is lifted.
    client.create_bucket(Bucket=LOCKED_BUCKET, ObjectLockEnabledForBucket=True)
    return client


@pytest.fixture
def storage(s3, s3_endpoint) -> S3Storage:
    return S3Storage(
        bucket=LOCKED_BUCKET, key_prefix=f"t-{os.urandom(4).hex()}/", endpoint_url=s3_endpoint, region="us-east-1"
    )


@pytest.fixture
def runtime(session_factory, storage) -> Runtime:
    return Runtime(session_factory=session_factory, storage=storage, scanner=None, max_attempts=3)


def attach(db, users, incident, storage) -> Evidence:
    stored = storage.put(new_key(tags.PREFIX_INCOMING), io.BytesIO(image_bytes("PNG")))
    item = evidence_service.attach(
        session=db, incident_id=incident.id, actor=users["member"], stored=stored, file_name="graph.png"
    )
    db.commit()
    return item


def processed(db, runtime, item) -> Evidence:
    assert process_evidence(runtime, item.id, final_attempt=False) == "not_scanned"
    db.expire_all()
    item = db.get(Evidence, item.id)
    assert item.storage_key.startswith(tags.PREFIX_EVIDENCE)
    assert item.thumbnail_key
    return item


def hold(db, users, incident, *, on: bool) -> None:
    evidence_service.set_legal_hold(session=db, incident_id=incident.id, actor=users["lead"], on=on)
    db.commit()


def versions(s3, storage, key) -> list[str]:
    full = storage.key_prefix + key
    answer = s3.list_object_versions(Bucket=storage.bucket, Prefix=full)
    return [item["VersionId"] for item in answer.get("Versions", []) if item["Key"] == full]


def holds(s3, storage, key) -> list[str]:
    """The legal-hold status of each version of `key` ("OFF" where none was ever set)."""
    full = storage.key_prefix + key
    return [
        s3.get_object_legal_hold(Bucket=storage.bucket, Key=full, VersionId=version)["LegalHold"].get("Status", "OFF")
        for version in versions(s3, storage, key)
    ]


def delete_version(s3, storage, key, version) -> None:
    s3.delete_object(Bucket=storage.bucket, Key=storage.key_prefix + key, VersionId=version)


def test_a_legal_hold_holds_every_object_of_the_incident_until_it_is_lifted(
    db, users, make_incident, s3, storage, runtime
):
    incident = make_incident()
    item = processed(db, runtime, attach(db, users, incident, storage))
    keys = (item.storage_key, item.thumbnail_key)
    assert [holds(s3, storage, key) for key in keys] == [["OFF"], ["OFF"]]

    hold(db, users, incident, on=True)
    assert retag_incident(runtime, incident.id) == 2
    for key in keys:
        assert holds(s3, storage, key) == ["ON"]
        assert storage.get_tags(key)[tags.TAG_LEGAL_HOLD] == tags.LEGAL_HOLD_ON
        (version,) = versions(s3, storage, key)
        with pytest.raises(ClientError) as refused:
            delete_version(s3, storage, key, version)
        assert refused.value.response["Error"]["Code"] == "AccessDenied"
        assert storage.exists(key)

    hold(db, users, incident, on=False)
    assert retag_incident(runtime, incident.id) == 2
    for key in keys:
        assert holds(s3, storage, key) == ["OFF"]
        assert storage.get_tags(key)[tags.TAG_LEGAL_HOLD] == tags.LEGAL_HOLD_OFF
        (version,) = versions(s3, storage, key)
        delete_version(s3, storage, key, version)
        assert not storage.exists(key)


def test_a_deleted_held_object_keeps_its_version_until_the_hold_is_lifted(
    db, users, make_incident, s3, storage, runtime
):
    incident = make_incident()
    item = processed(db, runtime, attach(db, users, incident, storage))
    hold(db, users, incident, on=True)
    retag_incident(runtime, incident.id)
    # An operator (or the orphan sweep) deletes it: a delete marker hides the held version, which
    # the noncurrent-version lifecycle rule could otherwise purge once its retention ended.
    storage.delete(item.storage_key)
    assert not storage.exists(item.storage_key)
    (version,) = versions(s3, storage, item.storage_key)
    with pytest.raises(ClientError, match="AccessDenied"):
        delete_version(s3, storage, item.storage_key, version)

    hold(db, users, incident, on=False)
    assert retag_incident(runtime, incident.id) == 1  # the thumbnail; the file has only its old version
    assert holds(s3, storage, item.storage_key) == ["OFF"]  # lifted under the delete marker too
    delete_version(s3, storage, item.storage_key, version)
    assert versions(s3, storage, item.storage_key) == []


def test_a_file_attached_after_the_hold_is_held_where_the_pipeline_puts_it(
    db, users, make_incident, s3, storage, runtime
):
    incident = make_incident()
    processed(db, runtime, attach(db, users, incident, storage))
    hold(db, users, incident, on=True)
    retag_incident(runtime, incident.id)

    late = attach(db, users, incident, storage)
    assert late.legal_hold  # joined the incident's hold on upload
    late = processed(db, runtime, late)
    for key in (late.storage_key, late.thumbnail_key):
        assert holds(s3, storage, key) == ["ON"]
        assert storage.get_tags(key)[tags.TAG_LEGAL_HOLD] == tags.LEGAL_HOLD_ON
    # The upload's own version in incoming/ (under the move's delete marker) is not held: the
    # moved copy is, and a lift of the incident's keys would never reach incoming/.
    assert holds(s3, storage, rekey(late.storage_key, tags.PREFIX_INCOMING)) == ["OFF"]


def test_a_hold_set_while_the_file_is_being_placed_reaches_the_placed_file(
    db, users, make_incident, s3, storage, runtime, session_factory, monkeypatch
):
    incident = make_incident()
    item = attach(db, users, incident, storage)
    incoming = item.storage_key
    move = storage.move

    def hold_then_move(source, destination, *, tags=None):
        # A lead puts the incident on hold after the pipeline read the file's hold, and the
        # retag runs at once: it still finds the file under incoming/ (the verdict is not in).
        with session_factory() as session, session.begin():
            lead = session.get_one(User, users["lead"].id)
            evidence_service.set_legal_hold(session=session, incident_id=incident.id, actor=lead, on=True)
        assert retag_incident(runtime, incident.id) == 1
        assert holds(s3, storage, incoming) == ["ON"]
        move(source, destination, tags=tags)

    monkeypatch.setattr(storage, "move", hold_then_move)
    item = processed(db, runtime, item)
    for key in (item.storage_key, item.thumbnail_key):
        assert holds(s3, storage, key) == ["ON"]
        assert storage.get_tags(key)[tags.TAG_LEGAL_HOLD] == tags.LEGAL_HOLD_ON
    assert holds(s3, storage, incoming) == ["OFF"]


def test_a_placed_file_the_worker_could_not_hold_gets_a_queued_retag(
    db, users, make_incident, s3, storage, runtime, session_factory, monkeypatch
):
    """The hold came while the file was placed, and S3 refused the catch-up: the verdict is in, so
    a retry of the task would do nothing; a retag of the incident is queued instead."""
    incident = make_incident()
    item = attach(db, users, incident, storage)
    move, set_legal_hold = storage.move, storage.set_legal_hold
    refused: list[str] = []

    def hold_then_move(source, destination, *, tags=None):
        with session_factory() as session, session.begin():
            lead = session.get_one(User, users["lead"].id)
            evidence_service.set_legal_hold(session=session, incident_id=incident.id, actor=lead, on=True)
        monkeypatch.setattr(storage, "set_legal_hold", refuse_once)
        move(source, destination, tags=tags)

    def refuse_once(key, on):
        if on and not refused:  # the catch-up's hold of the placed file
            refused.append(key)
            raise StorageError("AccessDenied (as S3 may answer for a moment)")
        return set_legal_hold(key, on)

    monkeypatch.setattr(storage, "move", hold_then_move)
    item = processed(db, runtime, item)
    assert refused
    queued = db.scalars(
        select(OutboxMessage).where(OutboxMessage.topic == "evidence.legal_hold_changed").order_by(OutboxMessage.id)
    ).all()
    assert [message.payload["incident_id"] for message in queued] == [incident.id, incident.id]  # the hold, the retag
    assert retag_incident(runtime, incident.id) == 2  # what the queued message runs
    for key in (item.storage_key, item.thumbnail_key):
        assert holds(s3, storage, key) == ["ON"]


def test_a_bucket_without_object_lock_gets_the_tag_only(db, users, make_incident, s3_endpoint, session_factory):
    storage = S3Storage(
        bucket=S3_TEST_BUCKET, key_prefix=f"t-{os.urandom(4).hex()}/", endpoint_url=s3_endpoint, region="us-east-1"
    )
    runtime = Runtime(session_factory=session_factory, storage=storage, scanner=None, max_attempts=3)
    incident = make_incident()
    item = processed(db, runtime, attach(db, users, incident, storage))
    hold(db, users, incident, on=True)
    assert retag_incident(runtime, incident.id) == 2
    assert storage.object_lock_enabled() is False
    for key in (item.storage_key, item.thumbnail_key):
        assert storage.get_tags(key)[tags.TAG_LEGAL_HOLD] == tags.LEGAL_HOLD_ON
    hold(db, users, incident, on=False)
    assert retag_incident(runtime, incident.id) == 2
    assert storage.get_tags(item.storage_key)[tags.TAG_LEGAL_HOLD] == tags.LEGAL_HOLD_OFF


@pytest.mark.parametrize("code", ["AccessDenied", "SlowDown"])
def test_a_refused_or_throttled_hold_change_is_retried(
    db, users, make_incident, s3, storage, runtime, monkeypatch, code
):
    incident = make_incident()
    item = processed(db, runtime, attach(db, users, incident, storage))
    hold(db, users, incident, on=True)
    put_hold = storage.client.put_object_legal_hold

    def refused(**_kwargs):
        raise ClientError({"Error": {"Code": code, "Message": "no"}}, "PutObjectLegalHold")

    monkeypatch.setattr(storage.client, "put_object_legal_hold", refused)
    with pytest.raises(RetryLater, match=code):
        retag_incident(runtime, incident.id)
    monkeypatch.setattr(storage.client, "put_object_legal_hold", put_hold)
    assert retag_incident(runtime, incident.id) == 2  # the task's retry
    assert holds(s3, storage, item.storage_key) == ["ON"]


def test_the_retag_task_retries_storage_trouble():
    from worker.tasks.evidence import retag

    assert RetryLater in retag.autoretry_for


def test_an_unanswered_object_lock_question_is_asked_again(s3, storage, monkeypatch):
    ask = storage.client.get_object_lock_configuration

    def refused(**_kwargs):
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "GetObjectLockConfiguration")

    monkeypatch.setattr(storage.client, "get_object_lock_configuration", refused)
    key = new_key(tags.PREFIX_EVIDENCE)
    storage.put(key, io.BytesIO(b"x"))
    with pytest.raises(StorageError, match="AccessDenied"):
        storage.set_legal_hold(key, True)
    monkeypatch.setattr(storage.client, "get_object_lock_configuration", ask)
    storage.set_legal_hold(key, True)
    assert holds(s3, storage, key) == ["ON"]
