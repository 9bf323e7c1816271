"""Issue 8, "Robustness and security defects" (found by probing a production-mode instance):
each test sends what the probe sent and asserts what a person (or an observer) would see."""

from __future__ import annotations

import io
import logging
import re
from datetime import timedelta
from html import unescape

import pytest
from flask import request
from sqlalchemy import func, select, text
from web_helpers import PASSWORD, sign_in, snapshot

from shared.accounts import service as accounts
from shared.accounts.models import User
from shared.db import utcnow
from shared.incidents.models import Incident
from shared.notifications import webhooks
from web.db import get_session
from web.input_guard import streams_body

SECURITY_HEADERS = ("Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options")


@pytest.fixture
def production_like(make_app):
    """An app that answers an unhandled error with its 500 page, as production does (new: the
    tests add a route to it)."""
    app = make_app(fresh=True)
    app.testing = False
    return app


def _failed_statement(session):
    session.execute(text("SELECT * FROM no_such_table"))


def _failed_flush(session):
    # Two accounts with one email: the unique index refuses the flush (an IntegrityError),
    # and the session then refuses every statement until it is rolled back.
    session.add(User(email="admin@example.com", name="Twin", password_hash="x", role="member", is_active=True))
    session.flush()


@pytest.mark.parametrize("failure", [_failed_statement, _failed_flush], ids=["statement", "flush"])
def test_a_database_error_gets_the_500_page_with_its_headers(production_like, users, failure):
    def broken():
        failure(get_session())

    production_like.add_url_rule("/broken-db", view_func=broken)
    client = production_like.test_client()
    sign_in(client, users["admin"])

    response = client.get("/broken-db")

    assert response.status_code == 500
    assert "Something went wrong on our side" in response.get_data(as_text=True)
    assert "Users" in response.get_data(as_text=True)  # the page still knows who is signed in
    for header in SECURITY_HEADERS:
        assert header in response.headers


def test_with_the_database_gone_a_signed_in_request_still_gets_a_500_page_with_headers(make_app, users):
    app = make_app(fresh=True, database_url="postgresql+psycopg2://nobody@127.0.0.1:1/nowhere")
    app.testing = False

    def broken():
        raise RuntimeError("the database is unreachable")

    app.add_url_rule("/broken", view_func=broken)
    client = app.test_client()
    with client.session_transaction() as cookie:
        cookie["_user_id"] = "a-login-session-that-cannot-be-looked-up"

    response = client.get("/broken")

    assert response.status_code == 500
    assert "Something went wrong on our side" in response.get_data(as_text=True)
    for header in SECURITY_HEADERS:
        assert header in response.headers


# --- Malformed text: NUL bytes and invalid UTF-8 ----------------------------------------

NEW_INCIDENT = {"priority": "P2", "environment": "prod"}


def _incident_count(db) -> int:
    db.expire_all()
    return db.scalar(select(func.count(Incident.id)))


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "multipart/form-data"])
def test_a_nul_byte_in_a_form_is_refused_as_malformed(client, db, users, content_type):
    sign_in(client, users["lead"])
    response = client.post("/incidents/new", data={**NEW_INCIDENT, "title": "Disk\x00 full"}, content_type=content_type)
    assert response.status_code == 400
    assert "The request contained a NUL character" in response.get_data(as_text=True)  # says what, not only "bad"
    assert _incident_count(db) == 0


def test_a_nul_byte_in_a_query_is_named_on_the_page_and_in_the_api(client, users):
    """It used to be werkzeug's "The browser (or proxy) sent a request that this server could
    not understand.", which names nothing; invalid UTF-8 said what it was already."""
    sign_in(client, users["lead"])
    page = client.get("/incidents?q=disk%00full")
    api = client.get("/api/v1/incidents?q=disk%00full")

    assert page.status_code == api.status_code == 400
    assert "The request contained a NUL character" in page.get_data(as_text=True)
    assert api.get_json()["detail"].startswith("The request contained a NUL character")


def test_a_view_that_streams_its_upload_gets_the_body_unread(make_app, users):
    app = make_app(fresh=True)  # gets a route of its own

    @streams_body
    def upload():
        return str(len(request.stream.read()))

    app.add_url_rule("/upload", view_func=upload, methods=["POST"])
    body = {"data": {"file": (io.BytesIO(b"x" * 1000), "big.log")}, "content_type": "multipart/form-data"}
    assert int(app.test_client().post("/upload", **body).get_data(as_text=True)) > 1000


# --- Two admins create the same account at the same moment --------------------------------


def test_an_email_taken_between_the_check_and_the_insert_is_a_422_beside_the_field(client, db, users, monkeypatch):
    sign_in(client, users["admin"])
    # The parallel request's row is committed after this request looked the email up: the
    # look-up finds nothing and the unique index refuses the insert.
    monkeypatch.setattr(accounts, "find_by_email", lambda **_: None)
    data = {"email": "member@example.com", "name": "Twin", "role": "member", "password": "plum-orbit-velvet"}

    response = client.post("/admin/users", data=data)

    assert response.status_code == 422
    assert "member@example.com already has an account." in response.get_data(as_text=True)
    db.expire_all()
    assert db.scalar(select(func.count(User.id)).where(User.email == "member@example.com")) == 1


# --- Sign-in rate limit: what an observer can learn, what counts ---------------------------


def _failed_sign_in(client, email: str, address: str):
    data = {"email": email, "password": "wrong-password"}
    return client.post("/login", data=data, environ_base={"REMOTE_ADDR": address})


def test_a_failed_sign_in_answers_alike_whether_or_not_the_account_was_just_used(make_app, users):
    app = make_app(rate_limit_login="10 per minute")
    # The member signs in from their own address; "other" has not signed in.
    assert (
        app.test_client()
        .post(
            "/login",
            data={"email": "member@example.com", "password": PASSWORD},
            environ_base={"REMOTE_ADDR": "198.51.100.1"},
        )
        .status_code
        == 302
    )
    observer = app.test_client()
    used = _failed_sign_in(observer, "member@example.com", "203.0.113.1")
    unused = _failed_sign_in(observer, "other@example.com", "203.0.113.2")

    assert used.status_code == unused.status_code == 401
    leaked = {name: (used.headers.get(name), unused.headers.get(name)) for name, _ in used.headers}
    limit_headers = ("x-ratelimit", "retry-after")
    assert {
        name: pair for name, pair in leaked.items() if name.lower().startswith(limit_headers) and len(set(pair)) > 1
    } == {}


def test_successful_sign_ins_do_not_count_toward_the_account_limit(make_app, users):
    app = make_app(rate_limit_login="3 per minute")
    for n in range(3):  # the member signs in on three devices
        device = app.test_client()
        response = device.post(
            "/login",
            data={"email": "member@example.com", "password": PASSWORD},
            environ_base={"REMOTE_ADDR": f"198.51.100.{n}"},
        )
        assert response.status_code == 302
    # ...and a typo on a fourth still gets "wrong password", not "too many attempts".
    assert _failed_sign_in(app.test_client(), "member@example.com", "198.51.100.9").status_code == 401


def test_a_team_behind_one_address_signs_in_without_being_locked_out(make_app, users):
    """Found by QA: successful sign-ins counted toward the per-address limit, so a team behind
    one NAT or VPN address signing in at the start of a major incident got 429s."""
    app = make_app(rate_limit_login="3 per minute")
    for who in ("member", "other", "lead", "admin", "member"):
        response = app.test_client().post(
            "/login",
            data={"email": users[who].email, "password": PASSWORD},
            environ_base={"REMOTE_ADDR": "203.0.113.50"},
        )
        assert response.status_code == 302, who
    # Guesses from that address are still limited.
    statuses = [_failed_sign_in(app.test_client(), "nobody@example.com", "203.0.113.50").status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]


# --- Bounded text ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "to", "field"), [("in_progress", "blocked", "reason"), ("in_progress", "resolved", "resolution")]
)
def test_an_over_long_reason_is_refused_beside_its_field_like_a_comment(
    client, db, users, make_incident, status, to, field
):
    incident = make_incident(status)
    sign_in(client, users["member"])
    before = snapshot(db)
    response = client.post(
        f"/incidents/{incident.key}/transition", data={"to": to, "reason": "x" * 20_001, "version": incident.version}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    what = "resolution summary" if field == "resolution" else "reason"
    assert f"The {what} is too long: use at most 20,000 characters." in html
    assert 'aria-invalid="true"' in html
    assert snapshot(db) == before


# --- Control and bidi characters -----------------------------------------------------------

HIDDEN = {
    "bidi override": ("invoice\u202egnp.exe", "U+202E RIGHT-TO-LEFT OVERRIDE"),
    "bell and escape": ("Disk full\x07\x1b[31m", "U+0007"),
    "only bidi marks": ("\u2067\u2069\u200f", "U+2067 RIGHT-TO-LEFT ISOLATE"),
}


def _error_beside(html: str, field: str) -> str:
    match = re.search(rf'<p class="field-error" id="{field}-error">([^<]*)</p>', html)
    assert match, f"no error beside {field}"
    return unescape(match.group(1))


@pytest.mark.parametrize("case", HIDDEN)
@pytest.mark.parametrize("field", ["title", "description"])
def test_invisible_characters_in_a_new_incident_are_refused_beside_the_field(client, db, users, case, field):
    value, named = HIDDEN[case]
    sign_in(client, users["lead"])
    data = {**NEW_INCIDENT, "title": "Disk full", field: value}
    response = client.post("/incidents/new", data=data)
    assert response.status_code == 422
    message = _error_beside(response.get_data(as_text=True), field)
    assert "invisible control, format or text-direction characters" in message
    assert named in message
    assert _incident_count(db) == 0


def test_a_pasted_title_with_tabs_and_a_line_break_is_saved_on_one_line(client, db, users):
    """Found by QA: a title copied from a log line or a spreadsheet cell carries tabs and a
    trailing line break; refusing it ("U+0009 ... retype it") made people retype by hand."""
    sign_in(client, users["lead"])
    data = {**NEW_INCIDENT, "title": "Disk full\ton db-1 \t (prod)\r\n", "component": "\trds\n"}
    response = client.post("/incidents/new", data=data)
    assert response.status_code == 302
    db.expire_all()
    assert db.execute(select(Incident.title, Incident.component)).one() == ("Disk full on db-1 (prod)", "rds")


def test_a_description_keeps_its_line_breaks_and_tabs(client, db, users):
    sign_in(client, users["lead"])
    description = "Steps:\r\n1. ssh db-1\n\tdf -h\n"
    response = client.post("/incidents/new", data={**NEW_INCIDENT, "title": "Disk full", "description": description})
    assert response.status_code == 302
    db.expire_all()
    assert db.scalar(select(Incident.description)) == description


def test_an_edit_with_a_bidi_title_is_refused_beside_the_field(client, db, users, make_incident):
    incident = make_incident("open")
    sign_in(client, users["lead"])
    data = {"title": "invoice\u202egnp.exe", "environment": "prod", "version": incident.version}
    response = client.post(f"/incidents/{incident.key}/edit", data=data)
    assert response.status_code == 422
    assert "U+202E" in _error_beside(response.get_data(as_text=True), "title")
    db.expire_all()
    assert db.get(Incident, incident.id).title == incident.title


@pytest.mark.parametrize("component", ["rds\u202e", "rds\x1b"])
def test_a_component_with_hidden_characters_is_refused(client, db, users, component):
    sign_in(client, users["lead"])
    response = client.post("/incidents/new", data={**NEW_INCIDENT, "title": "Disk full", "component": component})
    assert response.status_code == 422
    assert _error_beside(response.get_data(as_text=True), "component")


def test_a_user_name_with_hidden_characters_is_refused_beside_the_field(client, db, users):
    sign_in(client, users["admin"])
    data = {"email": "new@example.com", "name": "Ada\u202e nimdA", "role": "member", "password": "plum-orbit-velvet"}
    response = client.post("/admin/users", data=data)
    assert response.status_code == 422
    assert "U+202E" in _error_beside(response.get_data(as_text=True), "name")
    db.expire_all()
    assert db.scalar(select(func.count(User.id)).where(User.email == "new@example.com")) == 0


INVALID_UTF8 = "not valid UTF-8"


def _urlencoded(body: bytes) -> dict:
    return {"data": body, "content_type": "application/x-www-form-urlencoded"}


def _multipart(title: bytes) -> dict:
    boundary = "b0undary"
    parts = [(b"priority", b"P2"), (b"environment", b"prod"), (b"title", title)]
    body = b"".join(
        b"--"
        + boundary.encode()
        + b'\r\nContent-Disposition: form-data; name="'
        + name
        + b'"\r\n\r\n'
        + value
        + b"\r\n"
        for name, value in parts
    )
    return {
        "data": body + b"--" + boundary.encode() + b"--\r\n",
        "content_type": f"multipart/form-data; boundary={boundary}",
    }


@pytest.mark.parametrize(
    "request_",
    [
        pytest.param(_urlencoded(b"priority=P2&environment=prod&title=caf%E9"), id="percent-encoded latin-1"),
        pytest.param(_urlencoded(b"priority=P2&environment=prod&title=caf\xe9"), id="raw latin-1 body"),
        pytest.param(_multipart(b"caf\xe9 \xff"), id="multipart field"),
    ],
)
def test_invalid_utf8_in_a_form_is_refused_with_a_message(client, db, users, request_):
    sign_in(client, users["lead"])
    response = client.post("/incidents/new", **request_)
    assert response.status_code == 400
    assert INVALID_UTF8 in response.get_data(as_text=True)
    assert _incident_count(db) == 0


def test_invalid_utf8_in_a_query_is_refused_with_a_message(client, users):
    sign_in(client, users["member"])
    response = client.get("/?q=caf%E9")
    assert response.status_code == 400
    assert INVALID_UTF8 in response.get_data(as_text=True)


def test_valid_non_ascii_text_still_goes_through(client, db, users):
    sign_in(client, users["lead"])
    assert client.get("/?q=caf%C3%A9").status_code == 200
    response = client.post(
        "/incidents/new", data={**NEW_INCIDENT, "title": "Café — naïve 数据库"}, content_type="multipart/form-data"
    )
    assert response.status_code == 302
    assert _incident_count(db) == 1


def test_invalid_utf8_is_explained_even_with_csrf_protection_on(csrf_app, users):
    client = csrf_app.test_client()
    sign_in(client, users["lead"])
    response = client.post("/incidents/new", **_urlencoded(b"title=caf\xe9"))
    assert response.status_code == 400
    assert INVALID_UTF8 in response.get_data(as_text=True)


# --- Logs ----------------------------------------------------------------------------------


def test_a_newline_in_the_path_cannot_forge_a_development_log_line(make_app, users):
    app = make_app()  # APP_ENV=test -> the readable text format
    (handler,) = logging.getLogger().handlers
    buffer = io.StringIO()
    handler.setStream(buffer)

    app.test_client().get("/nothing%0A12:00:00 INFO  POST /admin/users 302 user_id=1%1B[2K")

    lines = buffer.getvalue().splitlines()
    assert len(lines) == 1, lines
    assert "/nothing\\n12:00:00 INFO" in lines[0]
    assert "\x1b" not in lines[0]


# --- Every write form carries the version it was drawn from --------------------------------

WRITES = {
    "transition": ("/incidents/{key}/transition", {"to": "in_progress"}),
    "row transition": ("/incidents/{key}/transition", {"to": "in_progress", "from_row": "1"}),
    "assign": ("/incidents/{key}/assign", {"owner": "{other_id}"}),
    "priority": ("/incidents/{key}/priority", {"priority": "P1"}),
    "edit": ("/incidents/{key}/edit", {"title": "Someone else's idea", "environment": "prod"}),
}
OUT_OF_DATE = "This form is out of date: reload the page and try again."


@pytest.mark.parametrize("write", WRITES)
def test_a_write_without_its_version_is_refused_and_changes_nothing(client, db, users, make_incident, write):
    incident = make_incident("open")
    sign_in(client, users["lead"])
    path, data = WRITES[write]
    world = {"key": incident.key, "other_id": str(users["other"].id)}
    before = snapshot(db)

    response = client.post(path.format(**world), data={k: v.format(**world) for k, v in data.items()})

    assert response.status_code == 422
    assert OUT_OF_DATE in unescape(response.get_data(as_text=True))
    assert snapshot(db) == before


@pytest.mark.parametrize("path", ["/", "/incidents/{key}", "/incidents/{key}/edit"])
def test_every_incident_write_form_on_the_page_carries_the_version(client, users, make_incident, path):
    incident = make_incident("resolved")
    sign_in(client, users["lead"])
    html = client.get(path.format(key=incident.key)).get_data(as_text=True)
    forms = re.findall(r"<form\b[^>]*>.*?</form>", html, re.S)
    writes = [
        form
        for form in forms
        if 'method="post"' in form
        and re.search(r"/(transition|assign|priority|edit)\"|<form method=\"post\" novalidate", form)
    ]
    assert writes
    for form in writes:
        assert f'name="version" value="{incident.version}"' in form, form[:200]


def test_comments_and_reasons_refuse_hidden_characters_but_keep_line_breaks(client, db, users, make_incident):
    incident = make_incident("in_progress")
    sign_in(client, users["member"])
    before = snapshot(db)
    comment = client.post(f"/incidents/{incident.key}/comments", data={"body": "see invoice\u202egnp.exe"})
    assert comment.status_code == 422
    assert "U+202E" in comment.get_data(as_text=True)
    reason = client.post(
        f"/incidents/{incident.key}/transition",
        data={"to": "blocked", "reason": "vendor\x1b[2J", "version": incident.version},
    )
    assert reason.status_code == 422
    assert "U+001B" in reason.get_data(as_text=True)
    assert snapshot(db) == before

    ok = client.post(f"/incidents/{incident.key}/comments", data={"body": "Line one\r\n\tindented"})
    assert ok.status_code == 302


# --- Numbers typed with digits int() does not read ------------------------------------------

# Found by QA: str.isdigit() says yes to "²", int() refuses it: the token form answered 500.
SUPERSCRIPT_TWO = "\u00b2"


def test_a_superscript_digit_as_a_token_expiry_is_refused_beside_the_field(client, db, users):
    sign_in(client, users["member"])
    response = client.post("/profile/tokens", data={"name": "ci", "scope": "read", "expires_days": SUPERSCRIPT_TWO})
    assert response.status_code == 422
    assert "Enter a number of days" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "request_",
    [
        ("get", "/incidents/" + SUPERSCRIPT_TWO, {}, 404),
        ("get", "/?q=owner:" + SUPERSCRIPT_TWO, {}, 200),
        ("post", "/incidents/{key}/transition", {"to": "in_progress", "seen_event": SUPERSCRIPT_TWO}, 409),
    ],
    ids=["incident-ref", "owner-qualifier", "seen-event"],
)
def test_superscript_digits_elsewhere_are_no_500(client, users, make_incident, request_):
    method, path, data, expected = request_
    incident = make_incident("open")
    sign_in(client, users["lead"])
    if "version" not in data and method == "post":
        data = {**data, "version": incident.version - 1}  # stale: the refusal reads seen_event
    response = getattr(client, method)(path.format(key=incident.key), data=data or None)
    assert response.status_code == expected


def test_a_retry_after_of_superscript_digits_is_unreadable_not_an_error():
    assert webhooks.parse_retry_after(SUPERSCRIPT_TWO, now=utcnow()) is None
    assert webhooks.parse_retry_after(" 120 ", now=utcnow()) == timedelta(seconds=120)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/incidents/{key}/evidence/999999999999999999999999999999"),
        ("get", "/incidents/{key}/evidence/9223372036854775808/download"),
        ("post", "/views/9223372036854775808/delete"),
        ("post", "/profile/tokens/9223372036854775808/revoke"),
        ("get", "/admin/webhooks/9223372036854775808"),
        ("get", "/api/v1/webhooks/9223372036854775808"),
    ],
)
def test_an_id_past_the_integer_columns_is_no_such_row_not_a_500(client, users, make_incident, method, path):
    """Found by a security probe: OverflowError in the database driver (a 500) on ids past 2**63."""
    incident = make_incident("open")
    sign_in(client, users["admin"])
    assert getattr(client, method)(path.format(key=incident.key)).status_code == 404
