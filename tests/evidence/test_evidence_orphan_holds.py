"""The orphan sweep and S3 Object Lock legal holds, against moto's server on both databases.

An orphan belongs to no incident, so no hold may keep it: the sweep lifts the legal hold on every
version of an object no evidence row needs, then deletes it, and its versions go with the
noncurrent-version lifecycle rule (after any Object Lock retention). Before, the sweep's plain
delete hid a held version under a delete marker, out of every later listing, held for ever.
An object whose hold S3 refuses to lift is kept, named once in the log, and the sweep goes on.
"""

from __future__ import annotations

import io
import logging
import os
from datetime import timedelta

import boto3
import pytest
from botocore.exceptions import ClientError

from shared.db import utcnow
from shared.evidence import orphans, tags
from shared.evidence import service as evidence
from shared.evidence.models import EvidenceState
from shared.evidence.service import Verdict
from shared.evidence.storage import S3Storage, StoredObject, new_key, rekey

HOUR = timedelta(hours=1)
LOCKED_BUCKET = f"orphans-locked-{os.getpid()}"
RETAINED_BUCKET = f"orphans-retained-{os.getpid()}"


@pytest.fixture(scope="module")
def s3(s3_endpoint):
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    # pytest may set this module's fixture up twice in one worker (its tests split around other
    # files): the buckets are this process's already, and a retained one cannot be configured
    # again once it holds locked versions ("Bucket needs to be empty"). Each test has its own prefix.
    if RETAINED_BUCKET in {bucket["Name"] for bucket in client.list_buckets()["Buckets"]}:
        return client
    # Object Lock without a default retention: a version is locked by its legal hold alone.
    client.create_bucket(Bucket=LOCKED_BUCKET, ObjectLockEnabledForBucket=True)
    # And as prod may run it: every new version under a COMPLIANCE retention for a day.
    client.create_bucket(Bucket=RETAINED_BUCKET, ObjectLockEnabledForBucket=True)
    client.put_object_lock_configuration(
        Bucket=RETAINED_BUCKET,
        ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled",
            "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 1}},
        },
    )
    return client


def _storage(bucket: str, endpoint: str) -> S3Storage:
    return S3Storage(bucket=bucket, key_prefix=f"t-{os.urandom(4).hex()}/", endpoint_url=endpoint, region="us-east-1")


@pytest.fixture
def storage(s3, s3_endpoint) -> S3Storage:
    return _storage(LOCKED_BUCKET, s3_endpoint)


def _put_held(storage: S3Storage, key: str) -> str:
    storage.put(key, io.BytesIO(b"bytes of " + key.encode()))
    storage.set_legal_hold(key, True)
    return key


def _listed(storage: S3Storage) -> set[str]:
    return {item.key for prefix in orphans.SWEPT_PREFIXES for item in storage.list_objects(prefix)}


def _versions(s3, storage: S3Storage, key: str) -> list[str]:
    full = storage.key_prefix + key
    answer = s3.list_object_versions(Bucket=storage.bucket, Prefix=full)
    return [item["VersionId"] for item in answer.get("Versions", []) if item["Key"] == full]


def _holds(s3, storage: S3Storage, key: str) -> list[str]:
    full = storage.key_prefix + key
    return [
        s3.get_object_legal_hold(Bucket=storage.bucket, Key=full, VersionId=version)["LegalHold"].get("Status", "OFF")
        for version in _versions(s3, storage, key)
    ]


def _purge(s3, storage: S3Storage, key: str) -> None:
    """What the noncurrent-version lifecycle rule does to each version of `key` in time."""
    for version in _versions(s3, storage, key):
        s3.delete_object(Bucket=storage.bucket, Key=storage.key_prefix + key, VersionId=version)


def _sweep(db, storage: S3Storage) -> orphans.SweepReport:
    return orphans.sweep(session=db, storage=storage, grace=HOUR, now=utcnow() + 2 * HOUR)


def test_held_orphans_are_released_and_deleted_and_the_incident_s_own_file_stays_held(
    db, users, make_incident, s3, storage
):
    # An incident on hold; its file was held while pending (in incoming/) and where it was placed.
    # A killed move left the upload behind in incoming/, still held, and a killed run whose
    # verdict another run overruled left a held copy in quarantine/. No row needs either.
    incident = make_incident()
    upload = _put_held(storage, new_key(tags.PREFIX_INCOMING))
    item = evidence.attach(
        session=db,
        incident_id=incident.id,
        actor=users["member"],
        stored=StoredObject(key=upload, size=1, sha256="0" * 64),
        file_name="log.txt",
        declared_type="text/plain",
    )
    db.commit()
    placed = _put_held(storage, rekey(upload, tags.PREFIX_EVIDENCE))
    stray_copy = _put_held(storage, rekey(upload, tags.PREFIX_QUARANTINE))
    evidence.record_verdict(
        session=db, evidence_id=item.id, verdict=Verdict(EvidenceState.CLEAN, storage_key=placed, thumbnail_key=None)
    )
    db.commit()

    report = _sweep(db, storage)

    assert sorted(report.deleted) == sorted([upload, stray_copy])
    assert _listed(storage) == {placed}
    for orphan in (upload, stray_copy):
        assert _holds(s3, storage, orphan) == ["OFF"]  # nothing keeps the hidden version any more
        _purge(s3, storage, orphan)  # so the lifecycle rule can take it
        assert _versions(s3, storage, orphan) == []
    assert _holds(s3, storage, placed) == ["ON"]  # the incident's evidence keeps its hold
    assert report.kept == {}


def test_a_held_orphan_under_retention_is_released_and_deleted_and_its_version_waits_out_the_retention(
    db, s3, s3_endpoint
):
    storage = _storage(RETAINED_BUCKET, s3_endpoint)
    orphan = _put_held(storage, new_key(tags.PREFIX_EVIDENCE))

    report = _sweep(db, storage)

    assert report.deleted == [orphan]
    assert _listed(storage) == set()
    assert _holds(s3, storage, orphan) == ["OFF"]
    # The COMPLIANCE retention still protects the version: the noncurrent-version rule removes it
    # once the retention has run out, as it would any other deleted object's.
    with pytest.raises(ClientError, match="AccessDenied"):
        _purge(s3, storage, orphan)
    assert report.kept == {}


def test_an_orphan_whose_hold_s3_will_not_lift_is_kept_and_logged_once_and_the_rest_are_swept(
    db, s3, storage, monkeypatch, caplog
):
    refused = _put_held(storage, new_key(tags.PREFIX_EVIDENCE))
    swept = _put_held(storage, new_key(tags.PREFIX_THUMBNAILS))
    lift = storage.client.put_object_legal_hold

    def access_denied_for_one(**kwargs):
        if kwargs["Key"] == storage.key_prefix + refused:
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}, "PutObjectLegalHold")
        return lift(**kwargs)

    monkeypatch.setattr(storage.client, "put_object_legal_hold", access_denied_for_one)
    caplog.set_level(logging.WARNING, logger=orphans.__name__)

    report = _sweep(db, storage)

    assert report.deleted == [swept]
    assert list(report.kept) == [refused]
    assert "AccessDenied" in report.kept[refused]
    assert _listed(storage) == {refused}  # left as it was, for the next sweep to try again
    assert _holds(s3, storage, refused) == ["ON"]
    assert _holds(s3, storage, swept) == ["OFF"]
    about_refused = [record.getMessage() for record in caplog.records if refused in record.getMessage()]
    assert len(about_refused) == 1, about_refused
    assert "AccessDenied" in about_refused[0]
