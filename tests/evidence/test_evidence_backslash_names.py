"""Found by a security probe: backslashes in an upload's file name were dropped, not read as
path separators. `C:\\Users\\me\\report.txt` (old Internet Explorer sends the whole path) was
stored as "C_Usersmereport.txt", and `a\\b.txt` as "ab.txt": werkzeug reads the quoted name as
an RFC 9110 quoted-string, where a backslash escapes the next character, but browsers send
backslashes as they are (the HTML Standard escapes only the quote, CR and LF, as %22, %0D, %0A).
The page's upload and the API's read the same multipart parser; both are checked."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest

from shared.accounts import service as accounts
from shared.accounts import tokens
from shared.accounts.models import User
from shared.config import Settings
from shared.evidence.models import Evidence
from web.app import create_app
from web.evidence.multipart import MultipartReader

# name the browser sent -> name shown and offered on download
NAMES = [
    (r"C:\Users\me\report.txt", "report.txt"),
    (r"a\b.txt", "b.txt"),  # a backslash is a path separator wherever it is, as a slash is
    (r"\\fileserver\share\incident notes.log", "incident notes.log"),
    ("plain.txt", "plain.txt"),
]


@pytest.fixture
def app(database_url, users, tmp_path):
    settings = Settings(app_env="test", database_url=database_url, secret_key="x" * 40, data_dir=str(tmp_path))
    app = create_app(settings)
    app.config.update(TESTING=True, WTF_CSRF_ENABLED=False)
    yield app
    app.extensions["db_engine"].dispose()


def signed_in(app, user):
    client = app.test_client()
    with app.extensions["db_session_factory"]() as session:
        token = accounts.start_session(session=session, user=session.get(User, user.id), lifetime=timedelta(hours=1))
        session.commit()
    with client.session_transaction() as cookie:
        cookie["_user_id"] = token
        cookie["_fresh"] = True
    return client


def file_field(name: str) -> dict:
    # werkzeug's test client writes the name into filename="..." as it is, as browsers do.
    return {"file": (io.BytesIO(b"slow query log\n"), name, "text/plain")}


@pytest.mark.parametrize(("sent", "shown"), NAMES)
def test_a_file_uploaded_on_the_incident_page_keeps_the_last_part_of_its_path(
    app, db, users, make_incident, sent, shown
):
    incident = make_incident()
    client = signed_in(app, users["member"])

    answer = client.post(
        f"/incidents/{incident.key}/evidence", data=file_field(sent), content_type="multipart/form-data"
    )

    assert answer.status_code == 302
    assert db.query(Evidence).one().display_name == shown
    assert shown in client.get(f"/incidents/{incident.key}").get_data(as_text=True)


@pytest.mark.parametrize(("sent", "shown"), NAMES)
def test_a_file_uploaded_through_the_api_keeps_the_last_part_of_its_path(app, db, users, make_incident, sent, shown):
    incident = make_incident()
    _, secret = tokens.create_token(session=db, user=users["member"], name="ci", scope="write", expires_days=None)
    db.commit()

    answer = app.test_client().post(
        f"/api/v1/incidents/{incident.key}/evidence",
        data=file_field(sent),
        content_type="multipart/form-data",
        headers={"Authorization": f"Bearer {secret}"},
    )

    assert answer.status_code == 201, answer.get_data(as_text=True)
    assert [item["name"] for item in answer.get_json()] == [shown]


def test_the_reader_gives_the_name_as_the_browser_sent_it():
    """What Chromium and Firefox send: backslashes as they are, a quote as %22. A client that
    escapes RFC-style (`\\"`) still gets its quote, and a `filename*` is decoded."""
    headers = [
        r'name="file"; filename="C:\Users\me\report.txt"',
        r'name="file"; filename="notes\"',  # a Linux file named notes\ (the quote ends the name)
        'name="file"; filename="say %22hi%22.txt"',
        r'name="file"; filename="say \"hi\".txt"',
        'name="file"; filename="resume.txt"; filename*=UTF-8\'\'r%C3%A9sum%C3%A9.txt',
    ]
    body = (
        b"".join(f"--b\r\nContent-Disposition: form-data; {header}\r\n\r\nx\r\n".encode() for header in headers)
        + b"--b--\r\n"
    )

    names = [part[1].filename for part in MultipartReader(io.BytesIO(body), b"b").parts()]

    assert names == [r"C:\Users\me\report.txt", "notes\\", 'say "hi".txt', 'say "hi".txt', "résumé.txt"]
