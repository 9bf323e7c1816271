"""Issue 2, "Security (each with a test)": CSRF, password hashing, login rate limit and its
single answer, cookie flags, server-side session ends, headers, escaping, GET safety,
health endpoints, request logs and what they must never contain."""

from __future__ import annotations

import io
import json
import logging
import re
import secrets
from datetime import timedelta

import pytest
from sqlalchemy import text, update
from web_helpers import PASSWORD, csrf_token_from, login, parse, sign_in, snapshot, tags

from shared import migrate
from shared.accounts import service as accounts
from shared.accounts.models import LoginSession, User
from shared.db import make_engine, utcnow
from shared.incidents import service as incidents
from web.logs import JsonFormatter

SESSION_COOKIE = "it_session"


# --- CSRF -------------------------------------------------------------------------------

# form -> (path, data); every form the app has, posted by an admin (who may use all of them).
FORMS = {
    "sign in": ("/login", {"email": "admin@example.com", "password": PASSWORD}),
    "sign out": ("/logout", {}),
    "new incident": ("/incidents/new", {"title": "Disk full", "priority": "P2", "environment": "prod"}),
    "transition": ("/incidents/{key}/transition", {"to": "in_progress"}),
    "assign": ("/incidents/{key}/assign", {"owner": "{admin_id}"}),
    "priority": ("/incidents/{key}/priority", {"priority": "P1"}),
    "comment": ("/incidents/{key}/comments", {"body": "Looking at it."}),
    "watch": ("/incidents/{key}/watch", {"watching": "0"}),
    "edit": ("/incidents/{key}/edit", {"title": "Disk full on db-1", "environment": "prod"}),
    "create user": ("/admin/users", {"email": "n@example.com", "role": "member", "password": "plum-orbit-velvet"}),
    "change role": ("/admin/users/{member_id}/role", {"role": "lead"}),
    "disable user": ("/admin/users/{member_id}/active", {"active": "0"}),
}


@pytest.fixture
def csrf_world(users, make_incident):
    incident = make_incident("open")
    return {"key": incident.key, "admin_id": users["admin"].id, "member_id": users["member"].id}


@pytest.mark.parametrize("form", FORMS)
def test_post_without_csrf_token_is_refused_and_changes_nothing(csrf_app, db, users, csrf_world, form):
    client = csrf_app.test_client()
    if form != "sign in":
        sign_in(client, users["admin"])
    path, data = FORMS[form]
    before = snapshot(db)

    response = client.post(path.format(**csrf_world), data={k: v.format(**csrf_world) for k, v in data.items()})

    assert response.status_code == 400
    said = response.get_data(as_text=True)
    assert "CSRF token is missing" in said
    assert "reload it and try again." in said  # what to do, not only what went wrong
    assert snapshot(db) == before


def test_post_with_a_forged_csrf_token_is_refused(csrf_app, db, users, csrf_world):
    client = csrf_app.test_client()
    sign_in(client, users["admin"])
    before = snapshot(db)
    response = client.post(
        f"/incidents/{csrf_world['key']}/transition", data={"to": "in_progress", "csrf_token": "forged"}
    )
    assert response.status_code == 400
    assert snapshot(db) == before


def test_a_csrf_token_from_before_signing_in_or_out_forges_nothing(csrf_app, db, users, csrf_world):
    """Found by a security probe: the CSRF token outlived sign-out and sign-in, so a token read
    off a shared terminal's page (or its sign-in page) forged writes as whoever signed in next."""
    client = csrf_app.test_client()
    anonymous = csrf_token_from(client.get("/login").get_data(as_text=True))
    login(client, users["member"].email)  # with the sign-in page's token
    members = csrf_token_from(client.get("/").get_data(as_text=True))
    assert members != anonymous
    client.post("/logout", data={"csrf_token": members})
    login(client, users["lead"].email)
    key = csrf_world["key"]
    before = snapshot(db)
    for stale in (anonymous, members):
        forged = client.post(f"/incidents/{key}/priority", data={"csrf_token": stale, "priority": "P1", "version": "1"})
        assert forged.status_code == 400
        api = client.post(f"/api/v1/incidents/{key}/comments", json={"body": "forged"}, headers={"X-CSRFToken": stale})
        assert api.status_code == 401
    assert snapshot(db) == before


def form_version(html: str) -> str:
    return re.search(r'name="version" value="(\d+)"', html).group(1)


def test_the_token_on_the_page_lets_the_form_through(csrf_app, db, users, csrf_world):
    client = csrf_app.test_client()
    login(client, users["admin"].email)  # scrapes the sign-in form's token
    page = client.get(f"/incidents/{csrf_world['key']}").get_data(as_text=True)
    response = client.post(
        f"/incidents/{csrf_world['key']}/transition",
        data={"to": "in_progress", "csrf_token": csrf_token_from(page), "version": form_version(page)},
    )
    assert response.status_code == 302
    assert "In Progress" in client.get(response.headers["Location"]).get_data(as_text=True)


# --- Passwords and signing in -------------------------------------------------------------


def test_passwords_are_stored_as_argon2id(client, db, users):
    sign_in(client, users["admin"])
    client.post(
        "/admin/users",
        data={"email": "fresh@example.com", "name": "Fresh", "role": "member", "password": "copper-lantern-meadow!"},
    )
    db.expire_all()
    hashes = {user.email: user.password_hash for user in db.query(User).all()}
    assert "fresh@example.com" in hashes
    for email, stored in hashes.items():
        assert stored.startswith("$argon2id$"), email
        assert "copper-lantern-meadow!" not in stored
        assert PASSWORD not in stored


def test_login_is_rate_limited(make_app, users):
    app = make_app(rate_limit_login="3 per minute")
    client = app.test_client()
    for _ in range(3):
        assert (
            client.post("/login", data={"email": "member@example.com", "password": "wrong-password"}).status_code == 401
        )
    limited = client.post("/login", data={"email": "member@example.com", "password": PASSWORD})
    assert limited.status_code == 429
    assert "Too many attempts" in limited.get_data(as_text=True)
    assert 1 <= int(limited.headers["Retry-After"]) <= 61  # the rest of the moving minute, rounded up
    assert client.get("/").status_code == 302  # the right password did not get through either
    assert client.get("/login").status_code == 200  # reading the form is not limited


def test_a_refused_sign_in_is_the_sign_in_page_again_with_the_email_kept(make_app, users):
    """Found by QA: the 429 was the generic error page, without the form, the typed email lost
    and "Back to incidents" as the only way on, for someone the limit had kept out."""
    app = make_app(rate_limit_login="2 per minute")
    client = app.test_client()
    for _ in range(2):
        client.post("/login", data={"email": "member@example.com", "password": "wrong-password"})
    limited = client.post("/login", data={"email": "member@example.com", "password": PASSWORD})
    assert limited.status_code == 429
    page = parse(limited.get_data(as_text=True))
    assert [h.text for h in page.find_all("h1")] == ["Sign in"]
    wait = limited.headers["Retry-After"]
    assert page.find("p", class_="error").text == f"Too many attempts. Wait {wait} seconds and try again."
    assert page.find("input", name="email").attrs["value"] == "member@example.com"
    assert page.find("input", name="password").attrs.get("value", "") == ""
    assert "Back to incidents" not in limited.get_data(as_text=True)


@pytest.mark.parametrize(
    ("next_", "lands_on"),
    [
        ("/incidents/new", "/incidents/new"),
        ("/?q=status:open", "/?q=status:open"),
        ("//evil.example/", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),  # a path on this host that is no page: the dashboard
        ("javascript:alert(1)", "/"),
        ("/\nevil", "/"),  # a control character would break the Location header (was a 500)
        ("/\r\nSet-Cookie: x=1", "/"),
        ("/\tevil", "/"),
        ("/incidents/\u202enew", "/"),  # a bidi override hides where the link really goes
        # A form's address (a comment sent after the session ended): the page it was sent from,
        # not a 405 for a GET of it.
        ("/incidents/INC-7/comments", "/incidents/INC-7"),
        ("/incidents/INC-7/follow-ups/3/done", "/incidents/INC-7"),
        ("/profile/tokens/3/revoke", "/profile"),
        ("/admin/users/5/role", "/admin/users"),
        ("/views/2/delete", "/"),
    ],
)
def test_sign_in_returns_to_the_page_asked_for_but_never_to_another_site(client, users, next_, lands_on):
    response = client.post(
        "/login", query_string={"next": next_}, data={"email": users["member"].email, "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == lands_on


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize(("next_", "lands_on"), [("/incidents/new", "/incidents/new"), ("//evil.example/", "/")])
def test_a_sign_in_page_used_after_signing_in_elsewhere_still_returns_to_next(client, users, method, next_, lands_on):
    """Found by QA: the sign-in page of a tab whose session had expired, submitted after signing
    in in another tab, went to the dashboard and lost the way back to the New incident draft."""
    sign_in(client, users["member"])
    data = {"email": users["member"].email, "password": PASSWORD} if method == "post" else None
    response = getattr(client, method)("/login", query_string={"next": next_}, data=data)
    assert response.status_code == 302
    assert response.headers["Location"] == lands_on


def test_production_argon2id_parameters_are_used_by_the_web_forms(client, db, users, real_password_hashing):
    sign_in(client, users["admin"])
    client.post(
        "/admin/users",
        data={"email": "real@example.com", "name": "Real", "role": "member", "password": "real-argon-lantern"},
    )
    db.expire_all()
    stored = db.query(User).filter_by(email="real@example.com").one().password_hash
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    login(client.application.test_client(), "real@example.com", "real-argon-lantern")


def _attempt(client, email: str, address: str, **headers):
    data = {"email": email, "password": "wrong-password"}
    return client.post("/login", data=data, environ_base={"REMOTE_ADDR": address}, headers=headers).status_code


def test_login_limit_per_account_holds_across_addresses(make_app, users):
    client = make_app(rate_limit_login="3 per minute").test_client()
    assert [_attempt(client, "member@example.com", f"203.0.113.{n}") for n in range(1, 5)] == [401, 401, 401, 429]
    assert _attempt(client, "other@example.com", "203.0.113.9") == 401  # another account is not locked


def test_login_limit_per_address_holds_across_accounts(make_app, users):
    client = make_app(rate_limit_login="3 per minute").test_client()
    emails = ["member@example.com", "other@example.com", "lead@example.com", "admin@example.com"]
    assert [_attempt(client, email, "203.0.113.7") for email in emails] == [401, 401, 401, 429]


def test_behind_a_trusted_proxy_each_client_address_has_its_own_limit(make_app, users):
    client = make_app(rate_limit_login="3 per minute", trusted_proxies=1).test_client()
    emails = ["member@example.com", "other@example.com", "lead@example.com"]
    # Every request arrives from the load balancer's address; X-Forwarded-For names the client.
    for email in emails:
        assert _attempt(client, email, "10.0.0.5", **{"X-Forwarded-For": "198.51.100.1"}) == 401
    assert _attempt(client, "admin@example.com", "10.0.0.5", **{"X-Forwarded-For": "198.51.100.1"}) == 429
    assert _attempt(client, "admin@example.com", "10.0.0.5", **{"X-Forwarded-For": "198.51.100.2"}) == 401


def _normalised(body: str, email: str) -> str:
    body = re.sub(r'(name="csrf-token" content=|name="csrf_token"[^>]*value=)"[^"]*"', r'\1"…"', body)
    return body.replace(email, "EMAIL")


def test_unknown_user_wrong_password_and_disabled_user_get_the_same_answer(client, db, users):
    accounts.set_active(session=db, actor=None, user_id=users["other"].id, active=False)
    db.commit()
    attempts = {
        "unknown user": ("nobody@example.com", PASSWORD),
        "wrong password": ("member@example.com", "not-the-password"),
        "disabled user": ("other@example.com", PASSWORD),
    }
    answers = {}
    for case, (email, password) in attempts.items():
        response = client.post("/login", data={"email": email, "password": password})
        answers[case] = (response.status_code, _normalised(response.get_data(as_text=True), email))
    assert answers["unknown user"][0] == 401
    assert "Email or password is incorrect." in answers["unknown user"][1]
    assert answers["unknown user"] == answers["wrong password"] == answers["disabled user"]
    assert client.get("/").status_code == 302  # none of them is signed in


def _set_cookie(response, name: str) -> str:
    # A sign-in sets the device cookie too (tests/web/test_web_login_lockout.py).
    (cookie,) = [value for value in response.headers.getlist("Set-Cookie") if value.startswith(f"{name}=")]
    return cookie


def test_session_cookie_is_httponly_and_samesite_lax_but_not_secure_in_test(client, users):
    response = login(client, users["member"].email)
    cookie = _set_cookie(response, SESSION_COOKIE)
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain http in development and tests


@pytest.mark.postgres_only
def test_production_cookie_is_secure_and_hsts_is_sent(make_app, users):
    # Production as deployed: CSRF on, https only, rate limits in Redis (production requires REDIS_URL;
    # DB 11 and a key prefix of this test's own keep the limiter's counts away from other runs
    # on the shared server, xdist workers included).
    app = make_app(
        csrf=True,
        app_env="production",
        redis_url="redis://127.0.0.1:6379/11",
        redis_key_prefix=f"test-{secrets.token_hex(6)}:",
    )
    assert app.config["SETTINGS"].is_production
    assert app.config["SESSION_COOKIE_SECURE"] is True
    client = app.test_client()
    https = "https://localhost"
    form = client.get("/login", base_url=https)
    assert form.headers["Strict-Transport-Security"].startswith("max-age=")
    response = client.post(
        "/login",
        data={
            "email": users["member"].email,
            "password": PASSWORD,
            "csrf_token": csrf_token_from(form.get_data(as_text=True)),
        },
        headers={"Referer": f"{https}/login"},  # sent same-origin under Referrer-Policy: same-origin
        base_url=https,
    )
    assert response.status_code == 302
    cookie = _set_cookie(response, SESSION_COOKIE)
    assert "Secure" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert client.get("/", base_url=https).status_code == 200


# --- Sessions end on the server -----------------------------------------------------------


def test_a_cookie_replayed_after_logout_is_signed_out(app, users):
    client = app.test_client()
    login(client, users["member"].email)
    stolen = client.get_cookie(SESSION_COOKIE).value
    assert client.get("/").status_code == 200
    assert client.post("/logout").status_code == 302
    assert client.get("/").status_code == 302

    replay = app.test_client()
    replay.set_cookie(SESSION_COOKIE, stolen)
    response = replay.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_an_expired_login_session_is_signed_out(client, db, users):
    token = sign_in(client, users["member"])
    assert client.get("/").status_code == 200
    db.execute(
        update(LoginSession)
        .where(LoginSession.id == accounts.token_digest(token))
        .values(expires_at=utcnow() - timedelta(seconds=1))
    )
    db.commit()
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_sign_in_ignores_the_case_and_spaces_of_the_email(client, users):
    login(client, "  Member@Example.COM ")
    assert "Mo Member" in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize(
    ("change", "data"),
    [("active", {"active": "0", "confirm": "1"}), ("role", {"role": "lead", "confirm": "1"})],
    ids=["disable", "role-change"],
)
def test_disable_and_role_change_sign_the_user_out_at_their_next_request(app, users, change, data):
    member, admin = app.test_client(), app.test_client()
    login(member, users["member"].email)
    sign_in(admin, users["admin"])
    assert member.get("/").status_code == 200

    assert admin.post(f"/admin/users/{users['member'].id}/{change}", data=data).status_code == 302

    response = member.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    if change == "role":  # signing in again brings the new rights
        login(member, users["member"].email)
        assert "lead" in member.get("/").get_data(as_text=True)
    else:
        assert member.post("/login", data={"email": users["member"].email, "password": PASSWORD}).status_code == 401


# --- Headers and escaping -----------------------------------------------------------------


@pytest.mark.parametrize("path", ["/login", "/", "/healthz"])
def test_security_headers(client, users, path):
    sign_in(client, users["member"])
    headers = client.get(path).headers
    csp = headers["Content-Security-Policy"]
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"]
    assert "Strict-Transport-Security" not in headers  # only in production (plain http otherwise)


SCRIPT_TITLE = "<script>alert(1)</script>"
HOSTILE_MARKDOWN = """**bold move**

<script>alert(2)</script>

<img src=x onerror=alert(3)>

[click me](javascript:alert(4))

<a href="javascript:alert(5)">raw link</a>

[fine link](https://example.com/runbook)
"""


def _assert_no_active_content(html: str) -> None:
    # Hostile markup may show as text; what matters is which elements the browser builds.
    elements = tags(html)
    scripts = [attrs for tag, attrs in elements if tag == "script"]
    assert all(attrs.get("src", "").startswith("/static/") for attrs in scripts), scripts
    assert not [attrs for tag, attrs in elements if tag == "img"]
    assert not [(tag, attrs) for tag, attrs in elements if any(name.startswith("on") for name in attrs)]
    hrefs = [attrs.get("href") or "" for tag, attrs in elements if tag == "a"]
    assert not [href for href in hrefs if href.strip().lower().startswith("javascript:")]


def test_a_script_title_renders_as_text(client, users, make_incident):
    incident = make_incident("open", title=SCRIPT_TITLE)
    sign_in(client, users["member"])
    for path in ("/", f"/incidents/{incident.key}", "/?q=alert"):
        html = client.get(path).get_data(as_text=True)
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, path
        assert SCRIPT_TITLE not in html, path


def test_markdown_description_and_comments_are_sanitised(client, db, users, make_incident):
    incident = make_incident("open", description=HOSTILE_MARKDOWN)
    incidents.add_comment(session=db, incident_id=incident.id, actor=users["other"], body=HOSTILE_MARKDOWN)
    db.commit()
    sign_in(client, users["member"])
    html = client.get(f"/incidents/{incident.key}").get_data(as_text=True)
    assert html.count("<strong>bold move</strong>") == 2  # Markdown still renders
    assert 'href="https://example.com/runbook"' in html
    _assert_no_active_content(html)


# --- GET is safe; health ------------------------------------------------------------------


def test_get_never_changes_state(client, db, users, make_incident):
    incident = make_incident("in_progress")
    sign_in(client, users["admin"])
    key = incident.key
    paths = [
        "/",
        "/?q=status:open+priority:p1+owner:me+disk&sort=recent&page=2",
        "/?status=closed&to=closed",
        f"/incidents/{key}",
        f"/incidents/{key}?to=closed&reason=x",
        "/incidents/new?title=Sneaky",
        f"/incidents/{key}/edit?title=Sneaky",
        "/admin/users?role=admin",
        "/healthz",
        "/readyz",
        "/login",
        # POST-only routes must not act on a GET (a link or an <img> could trigger one).
        f"/incidents/{key}/transition?to=resolved&reason=x",
        f"/incidents/{key}/assign?owner=",
        f"/incidents/{key}/priority?priority=P1",
        f"/incidents/{key}/comments?body=hi",
        f"/incidents/{key}/watch?watching=0",
        f"/admin/users/{users['member'].id}/role?role=admin",
        f"/admin/users/{users['member'].id}/active?active=0",
        "/logout",
    ]
    before = snapshot(db)
    answers = {path: client.get(path).status_code for path in paths}
    assert snapshot(db) == before
    assert {path: status for path, status in answers.items() if status not in (200, 302, 303)} == {}
    assert answers["/logout"] == 303  # to the dashboard: a GET signs nobody out
    assert client.get("/").status_code == 200  # still signed in


@pytest.mark.parametrize(
    ("address", "page"),
    [
        ("/profile/tokens", "/profile"),  # the page that showed a new token, opened again
        ("/incidents/{key}/due-date", "/incidents/{key}"),  # a refused due date, drawn at its form's address
        ("/incidents/{key}/transition", "/incidents/{key}"),
        ("/admin/users/{member}/role", "/admin/users"),
        ("/views", "/"),
    ],
)
def test_a_form_address_opened_again_goes_to_its_page(client, users, make_incident, address, page):
    """A refused form is drawn at the address it was posted to; opened again (the address bar,
    a bookmark, the history) it answered "Something went wrong" with a 405 (found in QA)."""
    key = make_incident().key
    sign_in(client, users["admin"])
    answer = client.get(address.format(key=key, member=users["member"].id))
    assert answer.status_code == 303
    assert answer.headers["Location"] == page.format(key=key)
    assert client.get(answer.headers["Location"]).status_code == 200


def test_an_api_form_address_is_still_a_405_problem(client, make_incident):
    answer = client.get(f"/api/v1/incidents/{make_incident().key}/transition")
    assert answer.status_code == 405
    assert answer.mimetype == "application/problem+json"


def test_healthz_and_readyz(client, users):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert (ready.get_json()["database"], ready.get_json()["schema"]) == ("ok", "ok")


@pytest.mark.parametrize("revision", [None, "0011"], ids=["never-migrated", "migration-skipped"])
def test_readyz_is_503_on_a_schema_this_release_cannot_run_on(make_app, temporary_database_url, revision):
    """Found by QA: /readyz said ready on a database never migrated, while signing in and the
    API were 500s: a deploy that skipped its migration would have passed its health checks."""
    url = temporary_database_url()
    if revision:
        migrate.upgrade(url, revision)
    client = make_app(database_url=url).test_client()
    response = client.get("/readyz")
    assert response.status_code == 503
    said = response.get_json()["schema"]
    if revision:
        assert said.startswith(f"the database schema is at revision {revision}, this release needs ")
    else:
        assert said.startswith("the database has no schema yet")
    assert said.endswith("run `flask --app web db upgrade` (on AWS: the migrate task)")

    migrate.upgrade(url)
    assert client.get("/readyz").status_code == 200


def test_readyz_is_ok_on_a_schema_a_newer_release_migrated(make_app, temporary_database_url):
    """A rollback runs older code on a newer schema (expand/contract): that is ready."""
    url = temporary_database_url()
    migrate.upgrade(url)
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    assert make_app(database_url=url).test_client().get("/readyz").status_code == 200


def test_readyz_is_503_when_the_database_is_unreachable(make_app):
    app = make_app(database_url="postgresql+psycopg2://nobody@127.0.0.1:1/nowhere")
    client = app.test_client()
    assert client.get("/healthz").status_code == 200  # alive, just not ready
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["status"] == "unavailable"


# --- Logs ---------------------------------------------------------------------------------


@pytest.fixture
def log_stream():
    """Point the app's stdout log handler at a buffer; yields a function reading the lines."""
    buffers: list[io.StringIO] = []

    def capture() -> io.StringIO:
        (handler,) = logging.getLogger().handlers
        buffer = io.StringIO()
        handler.setStream(buffer)
        buffers.append(buffer)
        return buffer

    return capture


def _request_lines(buffer: io.StringIO) -> list[dict]:
    entries = [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]
    return [entry for entry in entries if entry["logger"] == "incident_tracker.request"]


def test_production_log_format_is_one_json_line_per_request(make_app, users, log_stream):
    app = make_app(log_format="json")
    (handler,) = logging.getLogger().handlers
    assert isinstance(handler.formatter, JsonFormatter)
    buffer = log_stream()
    client = app.test_client()

    client.get("/login")
    login(client, users["member"].email)  # GET /login + POST /login
    client.get("/", headers={"X-Request-ID": "trace-0123456789"})
    client.get("/incidents/INC-999")

    lines = _request_lines(buffer)
    assert [(line["method"], line["path"], line["status"]) for line in lines] == [
        ("GET", "/login", 200),
        ("GET", "/login", 200),
        ("POST", "/login", 302),
        ("GET", "/", 200),
        ("GET", "/incidents/INC-999", 404),
    ]
    for line in lines:
        assert {"time", "request_id", "user_id", "method", "path", "status", "duration_ms"} <= line.keys()
        assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", line["time"])
        assert isinstance(line["duration_ms"], int | float)
        assert line["duration_ms"] >= 0
        assert line["request_id"]
    # The sign-in answer is already the member's: the user id is who the response went to.
    assert [line["user_id"] for line in lines] == [None, None] + [users["member"].id] * 3
    assert lines[3]["request_id"] == "trace-0123456789"  # a caller's trace id is carried through
    assert len({line["request_id"] for line in lines}) == len(lines)


@pytest.mark.parametrize("incoming", ['x"}{"status": 200}', "short", "a" * 65, "spaces are not ok"])
def test_an_unsafe_request_id_is_replaced_not_echoed(make_app, users, log_stream, incoming):
    app = make_app(log_format="json")
    buffer = log_stream()
    response = app.test_client().get("/healthz", headers={"X-Request-ID": incoming})
    (line,) = _request_lines(buffer)
    assert line["request_id"] != incoming
    assert re.fullmatch(r"[0-9a-f]{32}", line["request_id"])
    assert response.headers["X-Request-ID"] == line["request_id"]


def test_an_unhandled_error_is_still_one_request_line_plus_the_error(make_app, users, log_stream):
    app = make_app(fresh=True, log_format="json")  # gets a route of its own
    app.testing = False  # answer with a 500 as production does, instead of raising into the test

    def broken():
        raise RuntimeError("the database driver fell over")

    app.add_url_rule("/broken", view_func=broken)
    buffer = log_stream()
    response = app.test_client().get("/broken")
    assert response.status_code == 500
    assert "Content-Security-Policy" in response.headers
    entries = [json.loads(line) for line in buffer.getvalue().splitlines()]
    (request_line,) = [entry for entry in entries if entry["logger"] == "incident_tracker.request"]
    assert (request_line["path"], request_line["status"]) == ("/broken", 500)
    errors = [entry for entry in entries if entry["level"] == "ERROR"]
    assert errors
    assert "the database driver fell over" in errors[0]["exception"]


def test_development_log_lines_are_readable_text(make_app, users, log_stream):
    app = make_app()  # APP_ENV=test, LOG_FORMAT unset -> text
    buffer = log_stream()
    app.test_client().get("/healthz")
    (line,) = [line for line in buffer.getvalue().splitlines() if "/healthz" in line]
    assert "GET /healthz 200" in line
    assert not line.lstrip().startswith("{")


def test_passwords_and_session_ids_never_reach_the_logs(make_app, db, users, log_stream, caplog):
    secret = "Zebra-Distinctive-Passw0rd-4711"
    accounts.create_user(session=db, actor=None, email="zed@example.com", name="Zed", role="member", password=secret)
    db.commit()
    app = make_app(log_format="json", log_level="DEBUG")
    buffer = log_stream()
    caplog.set_level(logging.DEBUG)
    client = app.test_client()

    client.post("/login", data={"email": "zed@example.com", "password": secret + "-typo"})
    client.post("/login", data={"email": "zed@example.com", "password": secret})
    token = client.get_cookie(SESSION_COOKIE).value
    client.get("/")
    sign_in(client, users["admin"])
    client.post("/admin/users", data={"email": "yan@example.com", "role": "member", "password": secret, "name": "Yan"})

    logged = buffer.getvalue() + caplog.text
    assert "/login" in logged  # the requests were logged...
    assert secret not in logged  # ...without the password, typed right or wrong
    assert token not in logged


def test_a_refused_link_request_is_its_page_again(make_app, users, tmp_path):
    app = make_app(rate_limit_login="1 per minute", mail_dir=str(tmp_path / "mail"))
    client = app.test_client()
    client.post("/password/forgot", data={"email": "member@example.com"})
    limited = client.post("/password/forgot", data={"email": "member@example.com"})
    assert limited.status_code == 429
    page = parse(limited.get_data(as_text=True))
    assert [h.text for h in page.find_all("h1")] == ["Forgot your password?"]
    assert page.find("p", class_="error").text.startswith("Too many attempts. Wait ")
    assert page.find("input", name="email").attrs["value"] == "member@example.com"


@pytest.mark.parametrize(
    ("referer", "returns_to"),
    [
        ("http://localhost/?q=status:open", "/?q=status:open"),  # the dashboard view the row was on
        ("http://localhost/follow-ups?cursor=abc", "/follow-ups?cursor=abc"),
        ("https://evil.example/?q=x", "/incidents/{key}"),  # not this site's: the form's own page
        (None, "/incidents/{key}"),
    ],
)
def test_a_form_sent_after_the_session_ended_signs_in_back_to_the_page_it_was_sent_from(
    client, users, make_incident, referer, returns_to
):
    """Found by QA: a row's move sent after the session ended signed in to the incident's page,
    not to the filtered dashboard it was sent from (the form's address was all `next` held)."""
    incident = make_incident("open")
    headers = {"Referer": referer} if referer else {}
    refused = client.post(f"/incidents/{incident.key}/transition", data={"to": "in_progress"}, headers=headers)
    assert refused.status_code == 302
    assert refused.headers["Location"].startswith("/login?next=")
    signed_in = client.post(refused.headers["Location"], data={"email": users["member"].email, "password": PASSWORD})
    assert signed_in.headers["Location"] == returns_to.format(key=incident.key)


def test_a_page_asked_for_without_a_session_is_still_where_sign_in_returns(client, users, make_incident):
    incident = make_incident("open")
    refused = client.get(f"/incidents/{incident.key}?tab=timeline")
    assert refused.status_code == 302
    signed_in = client.post(refused.headers["Location"], data={"email": users["member"].email, "password": PASSWORD})
    assert signed_in.headers["Location"] == f"/incidents/{incident.key}?tab=timeline"
