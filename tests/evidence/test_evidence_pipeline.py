"""End to end: the web app streams uploads to S3 (moto's server), a real Celery worker process
on the real Redis runs the pipeline with a real clamd, and the page shows what it decided.

Redis: TEST_EVIDENCE_REDIS_URL, default DB 14 of the local server (this module's own: it
empties only the queue keys of that DB). Runs once per database backend.
"""

from __future__ import annotations

import os
import re
import signal
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from clamd_proxy import ClamdProxy
from flask.testing import FlaskClient
from samples import EICAR, gif_js_polyglot, image_bytes, png_bomb
from servers import (
    S3_TEST_BUCKET,
    CeleryWorker,
    clamd_server,
    delete_prefixed_keys,
    private_redis_prefix,
    redis_url_or_skip,
)
from sqlalchemy import func, select

from shared.audit.models import AuditEvent
from shared.config import Settings
from shared.evidence import events
from shared.evidence.models import Evidence
from shared.metrics import DEFAULT_QUEUE
from shared.outbox.models import OutboxMessage
from web.app import create_app

TEST_REDIS_URL = os.environ.get("TEST_EVIDENCE_REDIS_URL", "redis://127.0.0.1:6379/14")
SECRET_KEY = "x" * 40
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00\x01\x00\x00\x00" + b"\x00" * 200
HTML = b"<!DOCTYPE html><html><head><title>x</title></head><body><script>alert(1)</script></body></html>\n"
WAF_LOG = b"2026-11-29T12:00:01Z 203.0.113.9 GET /search?q=<script>alert(1)</script> HTTP/1.1 403\n"
PROXY_LOG = b"2026-11-29T12:00:02Z upstream answered 502:\n<html><body>\n<h1>502 Bad Gateway</h1>\n</body></html>\n"


@pytest.fixture(scope="module")
def redis_url() -> str:
    return redis_url_or_skip(TEST_REDIS_URL)


@pytest.fixture(scope="module")
def redis_prefix(redis_url) -> Iterator[str]:
    prefix = private_redis_prefix()
    yield prefix
    delete_prefixed_keys(redis_url, prefix)


@pytest.fixture(scope="module")
def clamd(tmp_path_factory) -> Iterator[ClamdProxy]:
    with clamd_server(tmp_path_factory.mktemp("clamd")) as address:
        proxy = ClamdProxy(address)
        yield proxy
        proxy.close()


@pytest.fixture(scope="module")
def settings_env(database_url, s3_endpoint, redis_url, redis_prefix, clamd, tmp_path_factory) -> dict[str, str]:
    return {
        "APP_ENV": "test",
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": redis_url,
        "REDIS_KEY_PREFIX": redis_prefix,
        "STORAGE_BACKEND": "s3",
        "S3_BUCKET": S3_TEST_BUCKET,
        "S3_ENDPOINT_URL": s3_endpoint,
        "S3_KEY_PREFIX": f"t{os.getpid()}-{Path(database_url).name[:12].replace('.', '-')}/",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "SCANNING_ENABLED": "true",
        "CLAMD_ADDRESS": clamd.address,
        "CLAMD_TIMEOUT_SECONDS": "60",
        "TASK_MAX_RETRIES": "2",
        "SECRET_KEY": SECRET_KEY,
        "DATA_DIR": str(tmp_path_factory.mktemp("data")),
    }


@pytest.fixture(scope="module")
def worker(settings_env, tmp_path_factory) -> Iterator[CeleryWorker]:
    started = CeleryWorker(tmp_path_factory.mktemp("worker"), settings_env, queue=DEFAULT_QUEUE)
    try:
        started.wait_until_ready()
        yield started
    finally:
        started.stop()


@pytest.fixture(scope="module")
def settings(settings_env) -> Settings:
    keys = {k: v for k, v in settings_env.items() if not k.startswith("AWS_")}
    return Settings.from_env(keys)


@pytest.fixture(scope="module")
def bucket(s3_endpoint, settings):
    s3 = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")

    class Bucket:
        def keys(self, prefix: str = "") -> list[str]:
            answer = s3.list_objects_v2(Bucket=S3_TEST_BUCKET, Prefix=settings.s3_key_prefix + prefix)
            return [item["Key"].removeprefix(settings.s3_key_prefix) for item in answer.get("Contents", [])]

        def tags(self, key: str) -> dict[str, str]:
            answer = s3.get_object_tagging(Bucket=S3_TEST_BUCKET, Key=settings.s3_key_prefix + key)
            return {tag["Key"]: tag["Value"] for tag in answer["TagSet"]}

    return Bucket()


@pytest.fixture
def app(settings, users, worker):
    app = create_app(settings)
    app.config.update(TESTING=True, WTF_CSRF_ENABLED=False)
    yield app
    app.extensions["db_engine"].dispose()


def client_as(app, user) -> FlaskClient:
    from datetime import timedelta

    from shared.accounts import service as accounts
    from shared.accounts.models import User

    client = app.test_client()
    factory = app.extensions["db_session_factory"]
    with factory() as session:
        token = accounts.start_session(session=session, user=session.get(User, user.id), lifetime=timedelta(hours=1))
        session.commit()
    with client.session_transaction() as cookie:
        cookie["_user_id"] = token
        cookie["_fresh"] = True
    return client


def upload(client: FlaskClient, incident, name: str, data: bytes, content_type: str = "application/octet-stream"):
    import io

    return client.post(
        f"/incidents/{incident.key}/evidence",
        data={"file": (io.BytesIO(data), name, content_type)},
        content_type="multipart/form-data",
        headers={"HX-Request": "true"},
    )


def fetch(url: str):
    """GET a presigned URL of the test's own moto server."""
    assert url.startswith("http://127.0.0.1:"), url
    return urllib.request.urlopen(url, timeout=10)  # noqa: S310 - checked just above


def wait_for(db, predicate, timeout: float = 60, what: str = "the worker"):
    deadline = time.monotonic() + timeout
    while True:
        db.expire_all()
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not finish in {timeout} s")
        time.sleep(0.2)


def decided(db, incident, count: int) -> list[Evidence]:
    def check():
        items = list(db.scalars(select(Evidence).where(Evidence.incident_id == incident.id).order_by(Evidence.id)))
        return items if len(items) == count and all(item.state != "pending" for item in items) else None

    return wait_for(db, check)


def count(db, model, **where) -> int:
    query = select(func.count()).select_from(model)
    for name, value in where.items():
        query = query.where(getattr(model, name) == value)
    return db.scalar(query)


def test_a_png_comes_out_clean_with_a_thumbnail_and_downloads(app, db, users, make_incident, bucket):
    incident = make_incident()
    client = client_as(app, users["member"])
    answer = upload(client, incident, "graph.png", image_bytes("PNG", (640, 480)), "image/png")
    assert answer.status_code == 201
    page = answer.get_data(as_text=True)
    assert "graph.png" in page
    assert "pending" in page
    assert 'hx-trigger="every' in page
    (item,) = decided(db, incident, 1)
    assert item.state == "clean"
    assert item.detected_type == "image/png"
    assert item.storage_key.startswith("evidence/")
    assert item.thumbnail_key.startswith("thumbnails/")
    assert bucket.tags(item.storage_key) == {"scan-status": "clean", "retention": "active", "legal-hold": "false"}
    fragment = client.get(f"/incidents/{incident.key}/evidence", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'alt="Thumbnail of graph.png"' in fragment
    assert "hx-trigger" not in fragment
    thumb = client.get(f"/incidents/{incident.key}/evidence/{item.id}/thumbnail")
    assert thumb.status_code == 200
    assert thumb.data[:4] == b"RIFF"
    assert thumb.mimetype == "image/webp"
    download = client.get(f"/incidents/{incident.key}/evidence/{item.id}/download")
    assert download.status_code == 303
    with fetch(download.location) as fetched:
        assert fetched.read() == image_bytes("PNG", (640, 480))
        assert fetched.headers["Content-Type"] == "image/png"
        assert fetched.headers["Content-Disposition"].startswith('attachment; filename="graph.png"')
    in_order = select(AuditEvent).where(AuditEvent.entity_type == "evidence").order_by(AuditEvent.id)
    actions = [e.action for e in db.scalars(in_order)]
    assert actions == [events.EVIDENCE_UPLOADED, events.EVIDENCE_VERDICT, events.EVIDENCE_DOWNLOADED]


def test_bad_files_are_infected_or_rejected_quarantined_and_never_served(app, db, users, make_incident, bucket):
    incident = make_incident()
    client = client_as(app, users["member"])
    files = [
        ("eicar.txt", EICAR, "infected", "Eicar-Test-Signature"),
        ("photo.png", ELF, "rejected", "not a PNG"),
        ("huge.png", png_bomb(), "rejected", "pixels"),
        ("page.jpg", HTML, "rejected", "not a JPEG"),
        ("page.html", HTML, "rejected", "files ending in .html are not accepted"),
        ("anim.gif", gif_js_polyglot(), "rejected", ""),
    ]
    for name, data, _, _ in files:
        assert upload(client, incident, name, data).status_code == 201
    items = decided(db, incident, len(files))
    for item, (name, _, state, words) in zip(items, files, strict=True):
        assert (item.display_name, item.state) == (name, state), item.reason
        assert words.lower() in (item.reason or "").lower()
        assert item.storage_key.startswith("quarantine/")
        assert item.thumbnail_key is None
        assert bucket.tags(item.storage_key)["scan-status"] == state
        refused = client.get(f"/incidents/{incident.key}/evidence/{item.id}/download")
        assert refused.status_code == 403
        assert item.reason in refused.get_data(as_text=True).replace("&#39;", "'").replace("&#34;", '"')
    page = client.get(f"/incidents/{incident.key}").get_data(as_text=True)
    assert "Cannot be downloaded: virus found: Eicar-Test-Signature" in page


def test_logs_quoting_html_are_clean_text_and_download_as_text_plain(app, db, users, make_incident, bucket):
    """WAF and proxy logs quote attack strings and error pages; libmagic calls them HTML."""
    incident = make_incident()
    client = client_as(app, users["member"])
    files = [("waf.log.txt", WAF_LOG, "text/plain"), ("proxy.log", PROXY_LOG, "text/html")]
    for name, data, declared in files:
        assert upload(client, incident, name, data, declared).status_code == 201
    items = decided(db, incident, len(files))
    for item, (name, data, _) in zip(items, files, strict=True):
        assert (item.display_name, item.state, item.reason) == (name, "clean", None)
        assert item.detected_type == "text/plain"
        assert item.storage_key.startswith("evidence/")
        download = client.get(f"/incidents/{incident.key}/evidence/{item.id}/download")
        assert download.status_code == 303
        with fetch(download.location) as fetched:
            assert fetched.read() == data
            assert fetched.headers["Content-Type"] == "text/plain"
            assert fetched.headers["Content-Disposition"].startswith(f'attachment; filename="{name}"')
    page = client.get(f"/incidents/{incident.key}").get_data(as_text=True)
    assert "Cannot be downloaded" not in page
    assert page.count("<dt>Type</dt><dd>text/plain</dd>") == 2


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("../../../etc/passwd.txt", "passwd.txt"),
        ("invoice\u202etxt.exe.txt", "invoicetxt.exe.txt"),
        ("CON.txt", "_CON.txt"),
        ("a" * 10_000 + ".txt", None),
        # A browser percent-encodes CR and LF in a multipart file name (HTML's form encoding);
        # the raw characters are covered by the service test of `attach`.
        ("notes%0D%0AX-Injected: yes.txt", "notes%0D%0AX-Injected_ yes.txt"),
    ],
    ids=["traversal", "bidi", "con", "10kb", "crlf"],
)
def test_hostile_file_names_are_made_safe(app, db, users, make_incident, bucket, name, shown):
    incident = make_incident()
    client = client_as(app, users["member"])
    assert upload(client, incident, name, b"plain text\n", "text/plain").status_code == 201
    (item,) = decided(db, incident, 1)
    assert item.state == "clean"
    if shown:
        assert item.display_name == shown
    assert len(item.display_name.encode()) <= 255
    assert item.display_name.endswith(".txt")
    assert re.fullmatch(r"evidence/[0-9a-f-]{36}", item.storage_key)
    download = client.get(f"/incidents/{incident.key}/evidence/{item.id}/download")
    assert "\r" not in download.location
    assert "\n" not in download.location
    with fetch(download.location) as fetched:
        disposition = fetched.headers["Content-Disposition"]
        assert fetched.headers.get("X-Injected") is None
    assert disposition.startswith("attachment; filename=")
    assert "\n" not in disposition


def test_an_oversize_upload_is_refused_with_413_and_leaves_nothing(make_app_with, db, users, make_incident, bucket):
    app = make_app_with(UPLOAD_MAX_BYTES="1000")
    incident = make_incident()
    client = client_as(app, users["member"])
    before = bucket.keys()
    # Content-Length says too big: refused before the body is read.
    early = upload(client, incident, "big.txt", b"x" * 200_000)
    assert early.status_code == 413
    assert "upload limit" in early.get_data(as_text=True)
    # Only the streamed bytes show it (the framing allowance): refused mid-stream.
    late = upload(client, incident, "big.txt", b"x" * 2_000)
    assert late.status_code == 413
    assert "Nothing was stored" in late.get_data(as_text=True)
    assert bucket.keys() == before
    assert count(db, Evidence) == 0
    assert count(db, OutboxMessage, topic=events.TOPIC_UPLOADED) == 0
    # The rest of the app keeps its small request limit.
    assert client.post(f"/incidents/{incident.key}/comment", data={"body": "x" * 3_000_000}).status_code == 413


@pytest.fixture
def make_app_with(settings_env, users, worker):
    built = []

    def make(**overrides):
        env = {k: v for k, v in {**settings_env, **overrides}.items() if not k.startswith("AWS_")}
        app = create_app(Settings.from_env(env))
        app.config.update(TESTING=True, WTF_CSRF_ENABLED=False)
        built.append(app)
        return app

    yield make
    for app in built:
        app.extensions["db_engine"].dispose()


def test_tags_are_merged_and_rewritten_on_close_and_legal_hold(app, db, users, make_incident, bucket, monkeypatch):
    from shared.evidence.storage import S3Storage

    web_tag_writes = []
    monkeypatch.setattr(S3Storage, "put_tags", lambda *args, **kw: web_tag_writes.append(args))
    incident = make_incident("resolved")
    member, lead = client_as(app, users["member"]), client_as(app, users["lead"])
    assert upload(member, incident, "graph.png", image_bytes("PNG"), "image/png").status_code == 201
    (item,) = decided(db, incident, 1)
    keys = [item.storage_key, item.thumbnail_key]
    for key in keys:
        assert bucket.tags(key) == {"scan-status": "clean", "retention": "active", "legal-hold": "false"}

    closing = lead.post(
        f"/incidents/{incident.key}/transition", data={"to": "closed", "version": incident.version, "confirm": "1"}
    )
    assert closing.status_code == 302
    wait_for(db, lambda: all(bucket.tags(key)["retention"] == "closed" for key in keys), what="the close re-tag")
    lead.post(f"/incidents/{incident.key}/evidence/legal-hold", data={"on": "1"})
    wait_for(db, lambda: all(bucket.tags(key)["legal-hold"] == "true" for key in keys), what="the hold re-tag")
    for key in keys:
        assert bucket.tags(key) == {"scan-status": "clean", "retention": "closed", "legal-hold": "true"}
    assert web_tag_writes == []  # the web app wrote no tags: the worker did all of it
    assert count(db, AuditEvent, action=events.EVIDENCE_LEGAL_HOLD_CHANGED) == 1


def test_a_worker_killed_mid_scan_still_ends_clean_exactly_once(app, db, users, make_incident, worker, clamd):
    incident = make_incident()
    client = client_as(app, users["member"])
    clamd.mode = "hold"
    try:
        assert upload(client, incident, "notes.txt", b"kill me while scanning\n").status_code == 201
        clamd.wait_for_held()
        (child,) = worker.children()
        os.kill(child, signal.SIGKILL)
    finally:
        clamd.mode = "up"
    (item,) = decided(db, incident, 1)
    assert item.state == "clean"
    assert item.attempts == 2
    assert count(db, AuditEvent, action=events.EVIDENCE_VERDICT) == 1
    assert count(db, OutboxMessage, topic=events.TOPIC_PROCESSED) == 1


def test_clamd_down_retries_then_error_and_a_lead_retry_succeeds(app, db, users, make_incident, clamd, bucket):
    incident = make_incident()
    member, lead = client_as(app, users["member"]), client_as(app, users["lead"])
    clamd.mode = "down"
    try:
        assert upload(member, incident, "notes.txt", b"scan me\n", "text/plain").status_code == 201
        (item,) = decided(db, incident, 1)
    finally:
        clamd.mode = "up"
    assert item.state == "error"
    assert "virus scanner" in item.reason
    assert item.attempts == 3  # the first run and TASK_MAX_RETRIES=2 retries
    assert item.storage_key.startswith("incoming/")
    assert bucket.tags(item.storage_key)["scan-status"] == "error"
    assert member.get(f"/incidents/{incident.key}/evidence/{item.id}/download").status_code == 409
    assert member.post(f"/incidents/{incident.key}/evidence/{item.id}/retry").status_code == 403
    assert lead.post(f"/incidents/{incident.key}/evidence/{item.id}/retry").status_code == 302
    wait_for(db, lambda: db.get(Evidence, item.id).state == "clean", what="the retried scan")
    assert count(db, AuditEvent, action=events.EVIDENCE_RETRIED) == 1
    assert count(db, AuditEvent, action=events.EVIDENCE_VERDICT) == 2  # error, then clean after the retry
