"""The orphan sweep: evidence objects no evidence row needs go once past the grace period.

Against both backends (a real moto server over HTTP, and local disk), on SQLite and PostgreSQL.
Found by `make faults` (S3 answering 500): an upload whose row could not be committed and whose
clean-up delete failed too left its object behind for ever.
"""

from __future__ import annotations

import io
import os
from datetime import timedelta
from pathlib import Path

import pytest
from servers import S3_TEST_BUCKET

from shared.config import Settings
from shared.db import utcnow
from shared.evidence import orphans, tags
from shared.evidence import service as evidence
from shared.evidence.models import EvidenceState
from shared.evidence.service import Verdict
from shared.evidence.storage import LocalStorage, S3Storage, StoredObject, new_key, rekey
from worker.celery_app import ORPHAN_SWEEP_TASK, make_celery
from worker.celery_app import app as worker_app

HOUR = timedelta(hours=1)


@pytest.fixture(params=["s3", "local"])
def storage(request: pytest.FixtureRequest, tmp_path: Path):
    if request.param == "local":
        return LocalStorage(tmp_path / "evidence")
    endpoint = request.getfixturevalue("s3_endpoint")
    return S3Storage(bucket=S3_TEST_BUCKET, key_prefix=f"t-{os.urandom(4).hex()}/", endpoint_url=endpoint,
                     region="us-east-1", chunk_bytes=5 * 1024 * 1024)  # fmt: skip


def _put(storage, key: str) -> str:
    storage.put(key, io.BytesIO(b"bytes of " + key.encode()))
    return key


def _attach(db, users, incident, key: str):
    item = evidence.attach(
        session=db,
        incident_id=incident.id,
        actor=users["member"],
        stored=StoredObject(key=key, size=1, sha256="0" * 64),
        file_name="log.txt",
        declared_type="text/plain",
    )
    db.commit()
    return item


def _listed(storage) -> set[str]:
    return {item.key for prefix in orphans.SWEPT_PREFIXES for item in storage.list_objects(prefix)}


def test_objects_no_row_needs_are_deleted_past_the_grace_and_the_rest_kept(storage, db, users, make_incident):
    incident = make_incident()
    orphan = _put(storage, new_key(tags.PREFIX_INCOMING))  # its row never committed
    pending = _attach(db, users, incident, _put(storage, new_key(tags.PREFIX_INCOMING)))
    moving_copy = _put(storage, rekey(pending.storage_key, tags.PREFIX_EVIDENCE))  # the worker is moving it
    clean = _attach(db, users, incident, _put(storage, new_key(tags.PREFIX_INCOMING)))
    final_key = _put(storage, rekey(clean.storage_key, tags.PREFIX_EVIDENCE))
    thumbnail = _put(storage, rekey(clean.storage_key, tags.PREFIX_THUMBNAILS))
    left_behind = clean.storage_key  # a killed move: copied to evidence/, never deleted from incoming/
    evidence.record_verdict(
        session=db,
        evidence_id=clean.id,
        verdict=Verdict(EvidenceState.CLEAN, storage_key=final_key, thumbnail_key=thumbnail),
    )
    db.commit()
    every = {orphan, pending.storage_key, moving_copy, left_behind, final_key, thumbnail}
    assert _listed(storage) == every

    # Within the grace period nothing goes, however unneeded.
    report = orphans.sweep(session=db, storage=storage, grace=HOUR)
    assert report.deleted == []
    assert _listed(storage) == every

    report = orphans.sweep(session=db, storage=storage, grace=HOUR, now=utcnow() + 2 * HOUR)
    assert sorted(report.deleted) == sorted([orphan, left_behind])
    assert _listed(storage) == {pending.storage_key, moving_copy, final_key, thumbnail}
    assert storage.exists(final_key)
    assert storage.exists(thumbnail)
    assert storage.exists(pending.storage_key)


def test_the_beat_sweeps_orphans_at_the_configured_interval():
    import worker.tasks.evidence  # noqa: F401 - registers the task, as the worker's imports do

    schedule = make_celery(Settings(orphan_sweep_interval_seconds=15)).conf.beat_schedule
    entry = next(entry for entry in schedule.values() if entry["task"] == ORPHAN_SWEEP_TASK)
    assert entry["schedule"] == 15.0
    assert ORPHAN_SWEEP_TASK in worker_app.tasks
    default = make_celery(Settings()).conf.beat_schedule
    assert next(e for e in default.values() if e["task"] == ORPHAN_SWEEP_TASK)["schedule"] == 3600.0
