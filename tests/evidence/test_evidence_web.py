"""The evidence pages on the embedded default (local disk, folder broker), no worker running:
the verdict is recorded through the service, or by the worker's pipeline function called
in-process, as the worker would."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from flask import request
from sqlalchemy import select

from shared.accounts import service as accounts
from shared.accounts.models import User
from shared.config import Settings
from shared.evidence import service as evidence_service
from shared.evidence.models import Evidence, EvidenceState
from shared.evidence.service import Verdict
from shared.evidence.storage import LocalStorage, rekey
from shared.outbox.models import OutboxMessage
from web.app import create_app
from worker.processing.pipeline import Runtime, process_evidence


@pytest.fixture
def make_app(database_url, users, tmp_path):
    built = []

    def make(*, csrf: bool = False, **overrides):
        settings = Settings(
            app_env="test", database_url=database_url, secret_key="x" * 40, data_dir=str(tmp_path), **overrides
        )
        app = create_app(settings)
        app.config.update(TESTING=True, WTF_CSRF_ENABLED=csrf)
        built.append(app)
        return app

    yield make
    for app in built:
        app.extensions["db_engine"].dispose()


def client_as(app, user):
    client = app.test_client()
    with app.extensions["db_session_factory"]() as session:
        token = accounts.start_session(session=session, user=session.get(User, user.id), lifetime=timedelta(hours=1))
        session.commit()
    with client.session_transaction() as cookie:
        cookie["_user_id"] = token
        cookie["_fresh"] = True
    return client


def post_file(client, incident, name, data, **extra):
    fields = {**extra, "file": (io.BytesIO(data), name, "text/plain")}
    return client.post(f"/incidents/{incident.key}/evidence", data=fields, content_type="multipart/form-data")


def check_as_the_worker(app, tmp_path, item) -> str:
    """The worker's pipeline function on the uploaded file (scanning off); the state it ends in."""
    runtime = Runtime(
        session_factory=app.extensions["db_session_factory"],
        storage=LocalStorage(tmp_path / "evidence"),
        scanner=None,
        max_attempts=3,
    )
    return process_evidence(runtime, item.id, final_attempt=True)


def test_the_incident_page_offers_attach_evidence(make_app, users, make_incident):
    incident = make_incident()
    page = client_as(make_app(), users["member"]).get(f"/incidents/{incident.key}").get_data(as_text=True)
    assert re.search(r'<label for="evidence-files">Attach evidence</label>', page)
    assert 'type="file" id="evidence-files" name="file" multiple' in page
    assert "evidence.js" in page
    assert "<script>" not in page


def test_an_upload_without_its_csrf_token_is_refused(make_app, users, make_incident, db, tmp_path):
    incident = make_incident()
    app = make_app(csrf=True)
    client = client_as(app, users["member"])
    assert post_file(client, incident, "a.txt", b"hello").status_code == 400
    page = client.get(f"/incidents/{incident.key}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert post_file(client, incident, "a.txt", b"hello", csrf_token=token).status_code == 302
    answer = client.post(
        f"/incidents/{incident.key}/evidence",
        data={"file": (io.BytesIO(b"hi"), "b.txt", "text/plain")},
        content_type="multipart/form-data",
        headers={"X-CSRFToken": token, "HX-Request": "true"},
    )
    assert answer.status_code == 201
    assert db.query(Evidence).count() == 2
    # Each upload wrote one message for the pipeline into the outbox, in its own transaction.
    topics = db.scalars(select(OutboxMessage.topic).where(OutboxMessage.topic == "evidence.uploaded")).all()
    assert len(topics) == 2


def test_a_clean_local_file_is_streamed_with_safe_headers(make_app, users, make_incident, db, tmp_path):
    incident = make_incident()
    app = make_app()
    client = client_as(app, users["member"])
    assert post_file(client, incident, "Bericht über Ausfall.txt", b"plain text\n").status_code == 302
    item = db.query(Evidence).one()
    assert item.state == "pending"
    assert client.get(f"/incidents/{incident.key}/evidence/{item.id}/download").status_code == 409
    storage = LocalStorage(tmp_path / "evidence")
    assert storage.get_tags(item.storage_key) == {}  # the web app writes no tags
    final = rekey(item.storage_key, "evidence/")
    storage.move(item.storage_key, final)
    verdict = Verdict(EvidenceState.NOT_SCANNED, detected_type="text/plain", storage_key=final)
    evidence_service.record_verdict(session=db, evidence_id=item.id, verdict=verdict)
    db.commit()
    page = client.get(f"/incidents/{incident.key}").get_data(as_text=True)
    assert "not scanned" in page
    assert item.sha256 in page
    assert "Copy" in page
    answer = client.get(f"/incidents/{incident.key}/evidence/{item.id}/download")
    assert answer.status_code == 200
    assert answer.data == b"plain text\n"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["Content-Security-Policy"] == "sandbox"
    assert answer.headers["Content-Disposition"] == (
        "attachment; filename=\"Bericht uber Ausfall.txt\"; filename*=UTF-8''Bericht%20%C3%BCber%20Ausfall.txt"
    )
    assert answer.mimetype == "text/plain"
    timeline = client.get(f"/incidents/{incident.key}").get_data(as_text=True)
    for words in ("uploaded", "checked", "downloaded"):
        assert f"{words} “Bericht über Ausfall.txt” (11 bytes, SHA-256 {item.sha256})" in timeline, words
    assert "checked “Bericht über Ausfall.txt” (11 bytes, SHA-256 " in timeline
    assert f"SHA-256 {item.sha256}): not scanned" in timeline  # chain of custody on each event


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("waf.log.txt", b"GET /search?q=<script>alert(1)</script> HTTP/1.1 403\n"),
        ("proxy.log", b"upstream answered 502:\n<html><body>\n<h1>Bad Gateway</h1>\n</body></html>\n"),
    ],
    ids=["waf-log", "proxy-log"],
)
def test_a_log_quoting_html_is_kept_as_text_and_streamed_as_text_plain(
    make_app, users, make_incident, db, tmp_path, name, data
):
    incident = make_incident()
    app = make_app()
    client = client_as(app, users["member"])
    assert post_file(client, incident, name, data).status_code == 302
    item = db.query(Evidence).one()
    assert check_as_the_worker(app, tmp_path, item) == "not_scanned"
    db.refresh(item)
    assert (item.reason, item.detected_type) == (None, "text/plain")
    answer = client.get(f"/incidents/{incident.key}/evidence/{item.id}/download")
    assert answer.status_code == 200
    assert answer.data == data
    assert answer.mimetype == "text/plain"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["Content-Security-Policy"] == "sandbox"
    assert answer.headers["Content-Disposition"].startswith(f'attachment; filename="{name}"')


def test_an_html_page_is_still_refused_and_never_served(make_app, users, make_incident, db, tmp_path):
    incident = make_incident()
    app = make_app()
    client = client_as(app, users["member"])
    assert post_file(client, incident, "page.html", b"<!DOCTYPE html><html><body>hi</body></html>").status_code == 302
    item = db.query(Evidence).one()
    assert check_as_the_worker(app, tmp_path, item) == "rejected"
    db.refresh(item)
    assert "files ending in .html are not accepted" in item.reason
    assert item.storage_key.startswith("quarantine/")
    assert client.get(f"/incidents/{incident.key}/evidence/{item.id}/download").status_code == 403


def test_a_member_sees_no_hold_or_retry_controls(make_app, users, make_incident, db):
    incident = make_incident()
    app = make_app()
    member, lead = client_as(app, users["member"]), client_as(app, users["lead"])
    post_file(member, incident, "a.txt", b"x")
    item = db.query(Evidence).one()
    evidence_service.record_verdict(session=db, evidence_id=item.id, verdict=Verdict(EvidenceState.ERROR, "clamd down"))
    db.commit()
    member_page = member.get(f"/incidents/{incident.key}").get_data(as_text=True)
    lead_page = lead.get(f"/incidents/{incident.key}").get_data(as_text=True)
    assert "legal hold" not in member_page
    assert "Retry a.txt" not in member_page
    assert "Put evidence on legal hold" in lead_page
    assert "Retry a.txt" in lead_page
    assert "Could not be checked: clamd down" in member_page
    assert member.post(f"/incidents/{incident.key}/evidence/legal-hold", data={"on": "1"}).status_code == 403


def test_readyz_checks_the_broker_and_the_storage(make_app):
    answer = make_app().test_client().get("/readyz")
    assert answer.status_code == 200
    assert answer.json == {"status": "ok", "database": "ok", "schema": "ok", "broker": "ok", "storage": "ok"}
    down = make_app(celery_broker_url="redis://127.0.0.1:1/0", broker_publish_timeout_seconds=0.5)
    answer = down.test_client().get("/readyz")
    assert answer.status_code == 503
    assert answer.json["broker"] != "ok"


def test_uploads_have_their_own_limit_above_the_apps_request_limit(make_app, users, make_incident, db, tmp_path):
    incident = make_incident()
    client = client_as(make_app(upload_max_bytes=4 * 1024 * 1024), users["member"])
    data = b"log line\n" * 400_000  # 3.6 MB: over the 2 MiB every other request may send
    assert post_file(client, incident, "big.log", data).status_code == 302
    item = db.query(Evidence).one()
    assert item.size == len(data)
    assert (tmp_path / "evidence" / item.storage_key).stat().st_size == len(data)
    assert not list((tmp_path / "evidence" / ".partial").iterdir())  # nothing half-written left


def test_web_memory_does_not_grow_with_the_file_size(make_app, users, make_incident, db, tmp_path):
    import tracemalloc

    incident = make_incident()
    client = client_as(make_app(upload_max_bytes=64 * 1024 * 1024), users["member"])
    source = tmp_path / "big.csv"
    with source.open("wb") as out:
        for _ in range(40):
            out.write(b"0123456789abcdef," * 61681 + b"\n")  # ~1 MiB a line, 40 MiB in all
    tracemalloc.start()
    try:
        with source.open("rb") as handle:
            answer = client.post(
                f"/incidents/{incident.key}/evidence",
                data={"file": (handle, "big.csv", "text/csv")},
                content_type="multipart/form-data",
            )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert answer.status_code == 302
    assert db.query(Evidence).one().size == source.stat().st_size
    assert peak < 12 * 1024 * 1024, f"peak {peak / 2**20:.1f} MiB for a {source.stat().st_size / 2**20:.0f} MiB upload"


def test_an_upload_is_accepted_quickly_when_the_broker_is_down(make_app, users, make_incident, db):
    import time

    from shared.outbox.models import OutboxMessage

    incident = make_incident()
    app = make_app(celery_broker_url="redis://127.0.0.1:1/0", broker_publish_timeout_seconds=0.5)
    client = client_as(app, users["member"])
    started = time.monotonic()
    assert post_file(client, incident, "a.txt", b"hello").status_code == 302
    assert time.monotonic() - started < 5
    item = db.query(Evidence).one()
    assert item.state == "pending"
    # The message stays in the outbox, unpublished, for the relay's sweep to send later.
    message = db.query(OutboxMessage).filter_by(topic="evidence.uploaded").one()
    assert message.payload["evidence_id"] == item.id
    assert message.published_at is None


def test_an_upload_whose_body_a_hook_read_first_still_attaches_the_file(make_app, users, make_incident, db):
    """A before-request hook that reads the body (werkzeug caches it; the raw stream is then
    spent) must not turn an upload into "Choose a file to attach"."""
    incident = make_incident()
    app = make_app()
    app.before_request(lambda: request.get_data(cache=True) and None)
    answer = post_file(client_as(app, users["member"]), incident, "read-first.log", b"disk full\n")
    assert answer.status_code == 302
    assert [e.display_name for e in db.query(Evidence)] == ["read-first.log"]


# -- the form's upload without JavaScript: several files in one request -----------------------

LIMIT = 100_000  # "97.7 KB": the framing allowance (64 KiB) then lets two files under it through


def post_files(client, incident, *files, htmx=False):
    fields = {"file": [(io.BytesIO(data), name, kind) for name, data, kind in files]}
    headers = {"HX-Request": "true"} if htmx else {}
    return client.post(
        f"/incidents/{incident.key}/evidence", data=fields, content_type="multipart/form-data", headers=headers
    )


def stored_objects(tmp_path) -> list[str]:
    root = tmp_path / "evidence"
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()) if root.exists() else []


def nothing_kept(db, tmp_path) -> bool:
    uploaded = select(OutboxMessage.id).where(OutboxMessage.topic == "evidence.uploaded")
    return db.query(Evidence).count() == 0 and not db.scalars(uploaded).all() and stored_objects(tmp_path) == []


@pytest.mark.parametrize("htmx", [False, True], ids=["form", "fragment"])
def test_a_file_over_the_limit_refuses_the_whole_upload_and_names_the_file(
    make_app, users, make_incident, db, tmp_path, htmx
):
    from samples import image_bytes

    incident = make_incident()
    client = client_as(make_app(upload_max_bytes=LIMIT), users["member"])
    png = ("screenshot.png", image_bytes("PNG"), "image/png")
    answer = post_files(client, incident, png, ("huge.log", b"x" * (LIMIT + 1), "text/plain"), htmx=htmx)
    assert answer.status_code == 413
    text = answer.get_data(as_text=True)
    assert "“huge.log” is larger than the upload limit of 97.7 KB per file. Nothing was stored." in text
    assert nothing_kept(db, tmp_path), "the small PNG was kept although the page says nothing was stored"
    # Believing the message and sending the PNG again attaches it once.
    assert post_files(client, incident, png).status_code == 302
    assert [item.display_name for item in db.query(Evidence)] == ["screenshot.png"]


def test_files_each_under_the_limit_are_refused_only_by_the_total_and_the_message_says_so(
    make_app, users, make_incident, db, tmp_path
):
    incident = make_incident()
    client = client_as(make_app(upload_max_bytes=LIMIT), users["member"])
    each = b"log line\n" * 10_000  # 90,000 bytes: under the limit per file, 180 KB together
    answer = post_files(client, incident, ("a.log", each, "text/plain"), ("b.log", each, "text/plain"))
    assert answer.status_code == 413
    text = answer.get_data(as_text=True)
    # The request's size (the files and their framing), then the limit it is over.
    total = r"This upload is 176\.\d KB, over the upload limit of 97\.7 KB for one file or for several sent together\."
    assert re.search(total, text)
    assert "per file" not in text
    assert "Nothing was stored." in text
    assert nothing_kept(db, tmp_path)
    # Two files each under the limit whose request stays within it are both kept.
    small = b"log line\n" * 4_000
    kept = post_files(client, incident, ("a.log", small, "text/plain"), ("b.log", small, "text/plain"))
    assert kept.status_code == 302
    assert sorted(item.display_name for item in db.query(Evidence)) == ["a.log", "b.log"]


def test_a_body_without_a_length_past_the_total_is_refused_naming_the_total(
    make_app, users, make_incident, db, tmp_path
):
    incident = make_incident()
    client = client_as(make_app(upload_max_bytes=LIMIT), users["member"])
    boundary = "b0undary"
    parts = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        f"Content-Type: text/plain\r\n\r\n".encode()
        + b"z" * 90_000
        + b"\r\n"
        for name in ("a.log", "b.log")
    )
    answer = client.post(
        f"/incidents/{incident.key}/evidence",
        input_stream=io.BytesIO(parts + f"--{boundary}--\r\n".encode()),
        content_type=f"multipart/form-data; boundary={boundary}",
        headers={"Transfer-Encoding": "chunked"},  # no Content-Length: read until the server's end of input
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert answer.status_code == 413
    text = answer.get_data(as_text=True)
    assert "This upload is over the upload limit of 97.7 KB for one file or for several sent together." in text
    assert nothing_kept(db, tmp_path)
