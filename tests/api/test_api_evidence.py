"""Evidence through the API on the embedded default (local disk storage, no worker running: the
verdict is recorded through the service, as the worker would). The full pipeline with S3, clamd
and a worker is in test_api_evidence_pipeline.py."""

from __future__ import annotations

import hashlib
import io

import pytest
from api_helpers import add_evidence, bearer, stored_files
from web_helpers import snapshot

from shared.evidence import service as evidence_service
from shared.evidence.models import EvidenceState
from shared.evidence.service import Verdict
from web.evidence.views import MULTIPART_SLACK

LOG = b"2026-11-29T03:12:09Z ERROR disk full on /var/lib/postgresql\n"


@pytest.fixture
def member(make_token):
    return bearer(make_token("member", "write"))


@pytest.fixture
def lead(make_token):
    return bearer(make_token("lead", "write"))


def upload(client, incident, headers, *files: tuple[str, bytes]):
    parts = [(io.BytesIO(data), name, "text/plain") for name, data in files]
    return client.post(
        f"/api/v1/incidents/{incident.key}/evidence",
        data={"file": parts},
        content_type="multipart/form-data",
        headers=headers,
    )


def problem_of(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/problem+json"
    return response.get_json()


class UnreadableBody(io.RawIOBase):
    """A request body of `size` bytes that fails the test if anything reads it."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size, self.position = size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        self.position = {0: 0, 1: self.position, 2: self.size}[whence] + offset
        return self.position

    def tell(self) -> int:
        return self.position

    def readinto(self, buffer) -> int:
        raise AssertionError("the body was read")


def test_an_upload_is_pending_then_downloads_with_its_bytes_and_original_name(client, db, make_incident, member):
    incident = make_incident()
    name = "résumé of the outage.log"

    answer = upload(client, incident, member, (name, LOG))

    assert answer.status_code == 201, answer.get_data(as_text=True)
    (item,) = answer.get_json()
    assert (item["name"], item["state"], item["size"]) == (name, "pending", len(LOG))
    assert item["sha256"] == hashlib.sha256(LOG).hexdigest()
    assert item["download_url"] is None
    assert item["uploader"]["email"] == "member@example.com"
    url = f"/api/v1/incidents/{incident.key}/evidence"
    assert [e["id"] for e in client.get(url, headers=member).get_json()] == [item["id"]]
    pending = problem_of(client.get(f"{url}/{item['id']}/download", headers=member), 409)
    assert "still being checked" in pending["detail"]

    evidence_service.record_verdict(
        session=db, evidence_id=item["id"], verdict=Verdict(EvidenceState.CLEAN, detected_type="text/plain")
    )
    db.commit()
    metadata = client.get(f"{url}/{item['id']}", headers=member).get_json()
    assert metadata["state"] == "clean"
    assert metadata["detected_type"] == "text/plain"
    assert metadata["download_url"].endswith(f"{url}/{item['id']}/download")

    head = client.head(metadata["download_url"], headers=member)
    assert (head.status_code, head.data, head.headers["Content-Length"]) == (200, b"", str(len(LOG)))
    download = client.get(metadata["download_url"], headers=member)

    assert download.status_code == 200
    assert download.data == LOG
    assert download.mimetype == "text/plain"
    assert download.headers["Content-Disposition"] == (
        "attachment; filename=\"resume of the outage.log\"; filename*=UTF-8''r%C3%A9sum%C3%A9%20of%20the%20outage.log"
    )
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.headers["Content-Security-Policy"] == "sandbox"
    trail = client.get(f"/api/v1/incidents/{incident.key}/events", headers=member).get_json()
    custody = [(e["action"], e["actor"] and e["actor"]["email"]) for e in trail if e["action"].startswith("evidence")]
    assert custody == [
        ("evidence.uploaded", "member@example.com"),
        ("evidence.verdict", None),
        ("evidence.downloaded", "member@example.com"),
    ]


def test_an_infected_file_is_refused_with_the_virus_name_and_never_served(
    client, db, app, users, make_incident, member
):
    incident = make_incident()
    eicar = b"(the bytes do not matter here: the verdict is recorded as the worker would)"
    why = "virus found: Eicar-Test-Signature"
    item = add_evidence(db, app, incident, users["member"], "eicar.txt", eicar, state="infected", reason=why)
    url = f"/api/v1/incidents/{incident.key}/evidence/{item.id}"

    refused = problem_of(client.get(f"{url}/download", headers=member), 403)

    assert refused["detail"] == "eicar.txt cannot be downloaded: virus found: Eicar-Test-Signature."
    metadata = client.get(url, headers=member).get_json()
    assert (metadata["state"], metadata["reason"], metadata["download_url"]) == (
        "infected",
        "virus found: Eicar-Test-Signature",
        None,
    )


def test_several_files_in_one_upload_each_become_evidence(client, make_incident, member, app):
    incident = make_incident()

    answer = upload(client, incident, member, ("a.log", b"first\n"), ("b.log", b"second\n"))

    assert answer.status_code == 201
    assert [(e["name"], e["size"]) for e in answer.get_json()] == [("a.log", 6), ("b.log", 7)]
    assert len([key for key in stored_files(app) if key.startswith("incoming/")]) == 2


def test_a_body_declared_over_the_limit_is_413_before_a_byte_is_read(make_app, db, make_incident, make_token):
    app = make_app(upload_max_bytes=1000)
    client = app.test_client()
    incident = make_incident()
    member = bearer(make_token("member", "write"))
    before = snapshot(db)

    answer = client.post(
        f"/api/v1/incidents/{incident.key}/evidence",
        input_stream=UnreadableBody(1000 + MULTIPART_SLACK + 1),
        headers={**member, "Content-Type": "multipart/form-data; boundary=b"},
    )

    body = problem_of(answer, 413)
    # The request as a whole, not "the file": which file is too large is not known yet.
    assert body["errors"]["file"][0] == (
        "This upload is 65.0 KB, over the upload limit of 1000 bytes"
        " for one file or for several sent together. Nothing was stored."
    )
    assert snapshot(db) == before
    assert stored_files(app) == []


def test_a_file_found_too_large_while_streaming_is_413_and_nothing_of_the_upload_stays(
    make_app, db, make_incident, make_token
):
    app = make_app(upload_max_bytes=1000)
    client = app.test_client()
    incident = make_incident()
    member = bearer(make_token("member", "write"))
    before = snapshot(db)

    answer = upload(client, incident, member, ("ok.log", b"x" * 500), ("big.log", b"y" * 5000))

    assert problem_of(answer, 413)["detail"] == (
        "“big.log” is larger than the upload limit of 1000 bytes per file. Nothing was stored."
    )
    assert snapshot(db) == before, "the first file's row stayed without the rest of its upload"
    assert stored_files(app) == [], "an object stayed in storage without its row"


@pytest.mark.parametrize(
    ("kind", "status", "field"),
    [("json", 415, None), ("no file", 422, "file"), ("file as text", 422, "file"), ("no boundary", 400, None)],
)
def test_an_upload_that_is_not_a_file_is_refused_and_stores_nothing(
    client, db, app, make_incident, member, kind, status, field
):
    incident = make_incident()
    url = f"/api/v1/incidents/{incident.key}/evidence"
    before = snapshot(db)
    if kind == "json":
        answer = client.post(url, json={"file": "ZGlzayBmdWxs"}, headers=member)
    elif kind == "no boundary":
        answer = client.post(url, data=b"--x--", headers={**member, "Content-Type": "multipart/form-data"})
    else:
        data = {"note": "no file here"} if kind == "no file" else {"file": "disk full"}
        answer = client.post(url, data=data, content_type="multipart/form-data", headers=member)

    body = problem_of(answer, status)
    if field:
        assert field in body["errors"], body
    assert snapshot(db) == before
    assert stored_files(app) == []


def test_upload_to_an_unknown_incident_is_404_and_stores_nothing(client, app, member):
    answer = client.post(
        "/api/v1/incidents/INC-999/evidence",
        data={"file": (io.BytesIO(LOG), "a.log")},
        content_type="multipart/form-data",
        headers=member,
    )
    problem_of(answer, 404)
    assert stored_files(app) == []


def test_the_session_cookie_uploads_only_with_the_csrf_header(client, db, app, users, make_incident):
    from web_helpers import csrf_token_from, sign_in

    incident = make_incident()
    sign_in(client, users["member"])
    refused = upload(client, incident, {}, ("a.log", LOG))
    assert "X-CSRFToken" in problem_of(refused, 401)["detail"]
    assert stored_files(app) == []
    token = csrf_token_from(client.get("/profile").get_data(as_text=True))
    assert upload(client, incident, {"X-CSRFToken": token}, ("a.log", LOG)).status_code == 201


def test_a_lead_puts_an_incidents_evidence_on_legal_hold_and_new_uploads_join_it(
    client, db, app, users, make_incident, lead, member
):
    incident = make_incident()
    add_evidence(db, app, incident, users["member"], "a.log", LOG, state="clean")
    url = f"/api/v1/incidents/{incident.key}/evidence"

    held = client.post(f"{url}/legal-hold", json={"legal_hold": True}, headers=lead)

    assert held.status_code == 200
    assert (held.get_json()["changed"], [e["legal_hold"] for e in held.get_json()["items"]]) == (1, [True])
    again = client.post(f"{url}/legal-hold", json={"legal_hold": True}, headers=lead).get_json()
    assert again["changed"] == 0
    (joined,) = upload(client, incident, member, ("later.log", LOG)).get_json()
    assert joined["legal_hold"] is True
    refused = problem_of(client.post(f"{url}/legal-hold", json={"legal_hold": False}, headers=member), 403)
    assert "lead or an admin" in refused["detail"]
    lifted = client.post(f"{url}/legal-hold", json={"legal_hold": False}, headers=lead).get_json()
    assert [e["legal_hold"] for e in lifted["items"]] == [False, False]
    missing = problem_of(client.post(f"{url}/legal-hold", json={"on": True}, headers=lead), 422)
    assert "legal_hold" in missing["errors"]


def test_a_lead_retries_a_file_in_error_and_only_such_a_file(client, db, app, users, make_incident, lead):
    incident = make_incident()
    item = add_evidence(db, app, incident, users["member"], "a.log", LOG, state="error", reason="clamd unreachable")
    url = f"/api/v1/incidents/{incident.key}/evidence/{item.id}/retry"

    retried = client.post(url, headers=lead)

    assert retried.status_code == 200
    assert (retried.get_json()["state"], retried.get_json()["reason"]) == ("pending", None)
    again = problem_of(client.post(url, headers=lead), 409)
    assert "only a file in error can be retried" in again["detail"]


def test_evidence_of_another_incident_is_not_found_under_this_one(client, db, app, users, make_incident, member):
    mine, other = make_incident(), make_incident(title="Another")
    item = add_evidence(db, app, other, users["member"], "a.log", LOG, state="clean")
    for suffix in ("", "/download"):
        problem_of(client.get(f"/api/v1/incidents/{mine.key}/evidence/{item.id}{suffix}", headers=member), 404)


def test_the_openapi_document_describes_the_evidence_operations(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    base = "/api/v1/incidents/{key}/evidence"
    assert {base, base + "/{evidence_id}", base + "/{evidence_id}/download", base + "/legal-hold"} <= set(spec["paths"])
    upload_op = spec["paths"][base]["post"]
    assert upload_op["requestBody"]["content"]["multipart/form-data"]["schema"]["required"] == ["file"]
    assert {"413", "415", "422"} <= set(upload_op["responses"])
    download_op = spec["paths"][base + "/{evidence_id}/download"]["get"]
    assert {"200", "303", "403", "409"} <= set(download_op["responses"])
    assert "state" in spec["components"]["schemas"]["EvidenceOut"]["properties"]
