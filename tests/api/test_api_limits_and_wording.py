"""What a QA tester driving /api/v1 with curl, as an alert bridge would, found: limits the
document and the server disagreed on, a chunked body over the limit taken for bad JSON, and
refusals worded for someone else (a page, a search that never ran) or one problem at a time."""

from __future__ import annotations

import http.client
import io
import json
import re
import threading
from pathlib import Path

import pytest
from api_helpers import add_evidence, api_settings, bearer, build_api_app
from sqlalchemy import select
from web_helpers import PASSWORD, sign_in
from werkzeug.serving import make_server

from shared import demo
from shared.accounts import tokens
from shared.accounts.models import User
from shared.incidents import follow_ups

INCIDENTS = "/api/v1/incidents"
PROBLEM = "application/problem+json"
EMAIL_TOO_LONG = "The email address is too long: use at most 254 characters."
README = Path(__file__).resolve().parents[2] / "README.md"
JSON_LIMIT = 2 * 1024 * 1024
TOO_LARGE = "The request body is larger than the 2 MiB limit for JSON requests."


@pytest.fixture
def lead(make_token):
    return bearer(make_token("lead", "write"))


@pytest.fixture
def document(client) -> dict:
    return client.get("/api/v1/openapi.json").get_json()


def _max_lengths(document: dict, schema: str) -> dict[str, int]:
    properties = document["components"]["schemas"][schema]["properties"]
    return {name: spec["maxLength"] for name, spec in properties.items() if "maxLength" in spec}


def _errors(response, status: int = 422) -> dict[str, list[str]]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    return response.get_json()["errors"]


# -- 1. One limit per field, stated by the document and enforced in one set of words --------------


def test_the_document_states_the_limits_the_server_enforces(document):
    incident = {"title": 200, "description": 50_000, "component": 80}
    assert _max_lengths(document, "IncidentCreate") == {**incident, "owner_email": 254}
    assert _max_lengths(document, "IncidentPatch") == incident
    assert _max_lengths(document, "CommentIn") == {"body": 20_000}
    assert _max_lengths(document, "TransitionIn") == {"reason": 20_000, "summary": 20_000}
    assert _max_lengths(document, "UserCreate") == {"email": 254, "name": 120, "password": 1000}
    assert _max_lengths(document, "EndpointIn") == {"url": 2000, "description": 500}


@pytest.mark.parametrize(
    ("field", "sizes", "message"),
    [
        ("title", (201, 300, 10_001), "The title is too long: use at most 200 characters."),
        ("description", (50_001, 100_001), "The description is too long: use at most 50,000 characters."),
        ("component", (81, 150, 201), "The component is too long: use at most 80 characters."),
    ],
)
def test_an_overlong_detail_gets_the_same_message_naming_the_limit_at_any_length(
    client, lead, make_incident, field, sizes, message
):
    incident = make_incident(owner=None)
    url = f"{INCIDENTS}/{incident.key}"
    for size in sizes:
        body = {"title": "Disk full", field: "x" * size}
        assert _errors(client.post(INCIDENTS, json=body, headers=lead))[field] == [message], size
        patched = client.patch(url, json={field: "x" * size}, headers={**lead, "If-Match": "*"})
        assert _errors(patched)[field] == [message], size


def test_an_overlong_comment_reason_or_summary_names_its_limit(client, lead, make_incident):
    incident = make_incident("in_progress", owner=None)
    url = f"{INCIDENTS}/{incident.key}"
    for size in (20_001, 100_001):
        comment = client.post(f"{url}/comments", json={"body": "x" * size}, headers=lead)
        assert _errors(comment)["body"] == [
            f"This comment is {size:,} characters; comments can be up to 20,000. "
            "Attach a long log as a file instead, under Evidence on the incident page."
        ]
        blocked = client.post(f"{url}/transition", json={"to": "blocked", "reason": "x" * size}, headers=lead)
        assert _errors(blocked)["reason"] == ["The reason is too long: use at most 20,000 characters."]
        resolved = client.post(f"{url}/transition", json={"to": "resolved", "summary": "x" * size}, headers=lead)
        assert _errors(resolved)["summary"] == ["The resolution summary is too long: use at most 20,000 characters."]


NAME_TOO_LONG = "The name is too long: use at most 120 characters."
PASSWORD_TOO_LONG = "The password is too long: use at most 1,000 characters."
DESCRIPTION_TOO_LONG = "The description is too long: use at most 500 characters."


def test_a_users_overlong_name_or_password_gets_the_services_message(client, make_token):
    admin = bearer(make_token("admin", "admin"))
    body = {"email": "new@example.com", "name": "n" * 1001, "password": "p" * 1001}
    errors = _errors(client.post("/api/v1/users", json=body, headers=admin))
    assert errors["name"] == [NAME_TOO_LONG]
    assert errors["password"] == [PASSWORD_TOO_LONG]
    body = {"email": "x" * 250 + "@example.com", "name": "Nia", "password": "twelve-chars-ok"}
    assert _errors(client.post("/api/v1/users", json=body, headers=admin))["email"] == [EMAIL_TOO_LONG]


def test_a_users_name_of_exactly_the_limit_is_taken(client, make_token):
    admin = bearer(make_token("admin", "admin"))
    body = {"email": "nia@example.com", "name": "N" * 120, "password": "twelve-chars-ok"}
    created = client.post("/api/v1/users", json=body, headers=admin)
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["name"] == "N" * 120


def test_a_webhooks_overlong_description_gets_the_services_limit_and_a_long_url_names_its_own(client, make_token):
    admin = bearer(make_token("admin", "admin"))
    body = {"url": "https://hooks.example.com/x", "events": ["incident.created"], "description": "d" * 2001}
    errors = _errors(client.post("/api/v1/webhooks", json=body, headers=admin))
    assert errors["description"] == [DESCRIPTION_TOO_LONG]
    body = {"url": "https://hooks.example.com/" + "x" * 2000, "events": ["incident.created"]}
    errors = _errors(client.post("/api/v1/webhooks", json=body, headers=admin))
    assert errors["url"] == ["The URL is too long: use at most 2,000 characters."]


# -- 2. A body over the JSON limit is a 413 naming the limit, however it is sent -----------------


def _big_body() -> bytes:
    return json.dumps({"title": "Disk full", "description": "x" * (JSON_LIMIT + 10)}).encode()


def test_a_body_over_the_limit_is_413_naming_it(client, db, lead):
    answer = client.post(INCIDENTS, data=_big_body(), content_type="application/json", headers=lead)
    assert answer.status_code == 413
    assert answer.get_json()["detail"] == TOO_LARGE


def test_a_chunked_body_over_the_limit_is_413_not_invalid_json(client, db, lead):
    """No Content-Length: the server ends the body (gunicorn sets wsgi.input_terminated)."""

    def send(body: bytes):
        return client.post(
            INCIDENTS,
            input_stream=io.BytesIO(body),
            content_type="application/json",
            headers={**lead, "Transfer-Encoding": "chunked"},
            environ_overrides={"wsgi.input_terminated": True},
        )

    refused = send(_big_body())
    assert refused.status_code == 413
    assert refused.mimetype == PROBLEM
    assert refused.get_json()["detail"] == TOO_LARGE
    # Exactly at the limit is still read whole (and refused for what it says, not its size).
    at_limit = json.dumps({"title": "Disk full", "description": ""}).encode()
    at_limit = at_limit.replace(b'""', b'"' + b"x" * (JSON_LIMIT - len(at_limit)) + b'"')
    assert len(at_limit) == JSON_LIMIT
    assert _errors(send(at_limit))["description"] == ["The description is too long: use at most 50,000 characters."]
    filed = send(json.dumps({"title": "Disk full"}).encode())
    assert filed.status_code == 201


def test_a_chunked_body_over_the_limit_sent_to_a_real_server_is_413(app, db, lead):
    """As curl sends `-H 'Transfer-Encoding: chunked' -d @big.json` to a server that ends the body."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        body = _big_body()
        connection = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=30)
        chunks = (body[start : start + 65536] for start in range(0, len(body), 65536))
        connection.request(
            "POST",
            INCIDENTS,
            body=chunks,
            headers={**lead, "Content-Type": "application/json"},
            encode_chunked=True,
        )
        answer = connection.getresponse()
        assert answer.status == 413
        assert json.loads(answer.read())["detail"] == TOO_LARGE
        connection.close()
    finally:
        server.shutdown()
        thread.join(10)


# -- 3. Refusals worded for the caller, all problems at once -------------------------------------


@pytest.mark.parametrize("body", ["[1]", '"x"', "5", "null", "[]"])
def test_a_body_that_is_not_a_json_object_says_so(client, db, lead, make_incident, body):
    incident = make_incident(owner=None)
    for method, url, headers in (
        ("POST", INCIDENTS, lead),
        ("PATCH", f"{INCIDENTS}/{incident.key}", {**lead, "If-Match": "*"}),
        ("POST", f"{INCIDENTS}/{incident.key}/comments", lead),
    ):
        answer = client.open(url, method=method, data=body, content_type="application/json", headers=headers)
        assert answer.status_code == 400  # as for JSON that does not parse
        assert answer.mimetype == PROBLEM
        assert answer.get_json()["detail"] == "The body must be a JSON object."


@pytest.mark.parametrize(
    ("field", "value", "endpoint"),
    [
        ("status", "closed", "POST /api/v1/incidents/{key}/transition"),
        ("priority", "P1", "POST /api/v1/incidents/{key}/priority"),
        ("owner_id", 3, "POST /api/v1/incidents/{key}/assign"),
        ("owner_email", "lead@example.com", "POST /api/v1/incidents/{key}/assign"),
    ],
)
def test_patching_a_field_another_operation_changes_names_that_operation(
    client, lead, make_incident, field, value, endpoint
):
    incident = make_incident(owner=None)
    answer = client.patch(f"{INCIDENTS}/{incident.key}", json={field: value}, headers={**lead, "If-Match": "*"})
    (message,) = _errors(answer)[field]
    assert endpoint.format(key=incident.key) in message  # the incident's own key, not a literal {key}
    assert message != "Unknown field."


def test_a_stale_if_match_says_which_version_is_current_and_sends_its_etag(client, lead, make_incident):
    incident = make_incident(owner=None)
    url = f"{INCIDENTS}/{incident.key}"
    read = client.get(url, headers=lead).headers["ETag"]
    mine = client.patch(url, json={"title": "Disk full on db-1"}, headers={**lead, "If-Match": read})
    current = mine.headers["ETag"]
    for method, path, body in (
        ("PATCH", url, {"title": "Disk full on db-2"}),
        ("POST", f"{url}/transition", {"to": "in_progress"}),
        ("POST", f"{url}/priority", {"priority": "P1"}),
    ):
        stale = client.open(path, method=method, json=body, headers={**lead, "If-Match": read})
        assert stale.status_code == 412
        assert stale.headers["ETag"] == current
        detail = stale.get_json()["detail"]
        assert detail == (
            f"You changed {incident.key} in another request since version {read.strip(chr(34))} (it is at "
            f"{current.strip(chr(34))} now). What changed: title edited. GET it again, then retry with If-Match: "
            f"{current}."
        )
        assert "someone else" not in detail  # the same token made the change


def test_an_if_match_that_names_no_version_sends_the_current_etag(client, lead, make_incident):
    incident = make_incident(owner=None)
    url = f"{INCIDENTS}/{incident.key}"
    current = client.get(url, headers=lead).headers["ETag"]
    answer = client.patch(url, json={"title": "A"}, headers={**lead, "If-Match": '"seven"'})
    assert answer.status_code == 412
    assert answer.headers["ETag"] == current


def test_a_stale_or_unreadable_if_match_on_a_webhook_sends_the_current_etag_as_for_an_incident(client, make_token):
    admin = bearer(make_token("admin", "admin"))
    body = {"url": "https://93.184.215.14/hook", "events": ["incident.created"]}  # a public address: no DNS
    created = client.post("/api/v1/webhooks", json=body, headers=admin)
    assert created.status_code == 201, created.get_json()
    url = f"/api/v1/webhooks/{created.get_json()['id']}"
    read = created.headers["ETag"]
    current = client.patch(url, json={"description": "paging bridge"}, headers={**admin, "If-Match": read})
    assert current.status_code == 200
    for method, path, sent in (
        ("PATCH", url, {"description": "old"}),
        ("POST", f"{url}/rotate-secret", None),
    ):
        for if_match in (read, ","):  # stale, and naming no version at all
            stale = client.open(path, method=method, json=sent, headers={**admin, "If-Match": if_match})
            assert stale.status_code == 412, (method, if_match)
            assert stale.headers.get("ETag") == current.headers["ETag"], (method, if_match)


def test_an_overlong_owner_email_is_refused_in_words(client, lead, make_incident):
    email = "x" * 250 + "@example.com"
    created = _errors(client.post(INCIDENTS, json={"title": "Disk full", "owner_email": email}, headers=lead))
    assert EMAIL_TOO_LONG in created["owner_email"]
    incident = make_incident(owner=None)
    assigned = client.post(f"{INCIDENTS}/{incident.key}/assign", json={"owner_email": email}, headers=lead)
    assert EMAIL_TOO_LONG in _errors(assigned)["owner_email"]
    assert "Longer than" not in json.dumps(created)
    assert "Longer than" not in assigned.get_data(as_text=True)


def test_too_many_or_overlong_webhook_events_are_refused_in_words(client, make_token):
    admin = bearer(make_token("admin", "admin"))
    url = "https://hooks.example.com/x"
    many = _errors(
        client.post("/api/v1/webhooks", json={"url": url, "events": ["incident.created"] * 21}, headers=admin)
    )
    assert many["events"] == ["Too many events: list at most 20."]
    long = _errors(client.post("/api/v1/webhooks", json={"url": url, "events": ["e" * 61]}, headers=admin))
    assert long["events.0"] == ["The event type is too long: use at most 60 characters."]


def test_a_mistyped_qualifier_is_refused_without_saying_it_was_searched(client, lead):
    refused = client.get(INCIDENTS, query_string={"q": "stauts:open"}, headers=lead)
    assert refused.status_code == 400
    body = refused.get_json()
    assert body["detail"] == "Unknown qualifier 'stauts:' \u2014 did you mean status:?"
    assert body["errors"] == {"q": ["Unknown qualifier 'stauts:' \u2014 did you mean status:?"]}


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"title": 5, "priority": "high"}, {"title", "priority"}),
        ({"title": 5, "component": "c" * 100, "environment": "mars"}, {"title", "component", "environment"}),
        ({"title": "x" * 300, "owner_id": 2.5, "due_date": "2020-01-01"}, {"title", "owner_id", "due_date"}),
        ({"title": "Disk full", "priority": "high", "owner_id": "2"}, {"priority", "owner_id"}),
    ],
)
def test_a_request_gets_every_field_problem_at_once(client, db, lead, body, fields):
    assert set(_errors(client.post(INCIDENTS, json=body, headers=lead))) == fields


def test_a_patch_gets_every_field_problem_at_once(client, lead, make_incident):
    incident = make_incident(owner=None)
    body = {"title": 5, "component": "Not Valid!", "status": "closed"}
    answer = client.patch(f"{INCIDENTS}/{incident.key}", json=body, headers={**lead, "If-Match": "*"})
    assert set(_errors(answer)) == {"title", "component", "status"}


@pytest.mark.parametrize(
    ("path", "query", "named", "meant"),
    [
        (INCIDENTS, "stauts=open", "stauts", "status"),
        (INCIDENTS, "foo=bar", "foo", None),
        (INCIDENTS, "limt=5&status=open", "limt", "limit"),
        ("/api/v1/audit/events", "actr=lead@example.com", "actr", "actor"),
    ],
)
def test_an_unknown_query_parameter_is_a_400_naming_it(client, lead, path, query, named, meant):
    refused = client.get(f"{path}?{query}", headers=lead)
    assert refused.status_code == 400
    assert refused.mimetype == PROBLEM
    body = refused.get_json()
    assert list(body["errors"]) == [named]
    (message,) = body["errors"][named]
    assert f"'{named}'" in message
    assert message in body["detail"]
    if meant:
        assert f"did you mean {meant}?" in message
    else:
        assert "did you mean" not in message


def test_known_query_parameters_and_next_pages_are_still_taken(client, lead, make_incident):
    for n in range(3):
        make_incident(title=f"Disk full {n}", owner=None)
    page = client.get(f"{INCIDENTS}?limit=2&status=open&sort=recent&q=disk", headers=lead)
    assert page.status_code == 200
    following = client.get(page.get_json()["next"], headers=lead)
    assert following.status_code == 200
    assert len(following.get_json()["items"]) == 1
    assert client.get("/api/v1/audit/events?from=2026-01-01&limit=5", headers=lead).status_code == 200


def test_without_a_status_the_api_lists_closed_ones_too_and_says_so(client, lead, make_incident, document):
    make_incident("closed", title="Closed one", owner=None)
    make_incident(title="Open one", owner=None)
    listed = {item["title"] for item in client.get(INCIDENTS, headers=lead).get_json()["items"]}
    assert listed == {"Closed one", "Open one"}
    active = client.get(INCIDENTS, query_string={"q": "-status:closed"}, headers=lead).get_json()["items"]
    assert [item["title"] for item in active] == ["Open one"]
    active = client.get(INCIDENTS, query_string={"status": "open,in_progress,blocked,resolved"}, headers=lead)
    assert [item["title"] for item in active.get_json()["items"]] == ["Open one"]
    said = (
        "Unlike the dashboard, which leaves Closed out unless asked, the API lists every status: "
        "add `-status:closed` to `q` (or `status=open,in_progress,blocked,resolved`) for the active ones."
    )
    assert said in document["paths"][INCIDENTS]["get"]["description"]
    assert said in " ".join(README.read_text().split())
    assert "Filter like the dashboard" not in document["paths"][INCIDENTS]["get"]["description"]


def _readme_patch_example() -> str:
    blocks = re.findall(r"```sh\n(.*?)```", README.read_text(), flags=re.DOTALL)
    return next(block for block in blocks if "-X PATCH" in block)


def test_the_readmes_patch_example_works_as_written_on_a_fresh_install(db, database_url, tmp_path):
    """`make run` seeds the demo data; the example edits its INC-7."""
    assert demo.seed(session=db, password="demo-password-for-tests") is True
    lead = db.scalars(select(User).where(User.email == "lead@example.com")).one()
    _, token = tokens.create_token(session=db, user=lead, name="readme", scope="write")
    db.commit()
    app = build_api_app(api_settings(database_url, tmp_path))
    client = app.test_client()
    headers = bearer(token)

    example = _readme_patch_example()
    patch_line = example[example.index("-X PATCH") :]
    if_match = re.search(r"""If-Match: (\S+?)['"] """, patch_line)
    assert if_match, patch_line
    value = if_match.group(1)
    if value.startswith("$"):  # read as the example reads it, from the headers of `curl -sI`
        assert "curl -sI" in example
        value = client.head(f"{INCIDENTS}/INC-7", headers=headers).headers["ETag"]
    sent = json.loads(re.search(r"-d '([^']*)'", patch_line).group(1))
    answer = client.patch(f"{INCIDENTS}/INC-7", json=sent, headers={**headers, "If-Match": value})
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["title"] == sent["title"]
    app.extensions["db_engine"].dispose()


# -- 4. The same length wording on the pages' forms ----------------------------------------------


def _page_says(response, message: str) -> None:
    assert response.status_code == 422, response.status_code
    assert message in response.get_data(as_text=True)


def test_the_pages_forms_word_an_overlong_value_as_the_api_does(client, db, users):
    sign_in(client, users["admin"])
    user = {"email": "nia@example.com", "name": "Nia", "role": "member", "password": "twelve-chars-ok"}
    _page_says(client.post("/admin/users", data={**user, "name": "N" * 121}), NAME_TOO_LONG)
    _page_says(client.post("/admin/users", data={**user, "email": "x" * 250 + "@example.com"}), EMAIL_TOO_LONG)
    token = client.post("/profile/tokens", data={"name": "t" * 81, "scope": "read"})
    _page_says(token, "The name is too long: use at most 80 characters.")
    hook = {"url": "https://93.184.215.14/hook", "events": "incident.created", "description": "d" * 501}
    _page_says(client.post("/admin/webhooks", data=hook), DESCRIPTION_TOO_LONG)
    password = {"current_password": PASSWORD, "new_password": "p" * 1001, "repeated_password": "p" * 1001}
    _page_says(client.post("/profile/password", data=password), PASSWORD_TOO_LONG)


# -- 5. Every GET refuses a query parameter it does not take --------------------------------------


@pytest.fixture
def every_get(app, db, users, make_incident, make_token) -> list[str]:
    """A URL of each GET operation of /api/v1, on things that exist."""
    incident = make_incident(owner=None)
    item = add_evidence(db, app, incident, users["member"], "a.log", b"disk full\n", state="clean")
    admin = bearer(make_token("admin", "admin"))
    client = app.test_client()
    body = {"url": "https://93.184.215.14/hook", "events": ["incident.created"]}  # a public address: no DNS
    hook = client.post("/api/v1/webhooks", json=body, headers=admin).get_json()["id"]
    follow_up = follow_ups.add_follow_up(session=db, actor=users["member"], incident_id=incident.id, title="Rotate")
    db.commit()
    key = f"{INCIDENTS}/{incident.key}"
    return [
        INCIDENTS,
        key,
        f"{key}/comments",
        f"{key}/follow-ups",
        f"{key}/follow-ups/{follow_up.id}",
        f"{key}/events",
        f"{key}/evidence",
        f"{key}/evidence/{item.id}",
        f"{key}/evidence/{item.id}/download",
        "/api/v1/audit/events",
        "/api/v1/users",
        "/api/v1/webhooks",
        f"/api/v1/webhooks/{hook}",
        f"/api/v1/webhooks/{hook}/deliveries",
        "/api/v1/me",
        "/api/v1/me/follow-ups",
        "/api/v1/follow-ups",
        "/api/v1/insights",
    ]


def test_every_get_operation_is_in_the_list_above(app, every_get):
    """A GET added later is covered by the test below, or this fails."""
    documented = {
        rule.rule for rule in app.url_map.iter_rules() if "GET" in rule.methods and rule.rule.startswith("/api/v1/")
    }
    documented -= {"/api/v1/openapi.json"}  # anyone's, no token: its own test below
    assert len(documented) == len(every_get), sorted(documented)


def test_the_openapi_document_refuses_a_query_parameter_as_every_get_does(client):
    """It answered 200 to ?x=1 while the README says every GET refuses one (found by QA)."""
    assert client.get("/api/v1/openapi.json").status_code == 200
    refused = client.get("/api/v1/openapi.json?x=1")
    assert refused.status_code == 400
    assert refused.mimetype == PROBLEM
    assert refused.get_json()["detail"] == "Unknown query parameter 'x'. This endpoint takes no query parameters."


def test_every_get_refuses_an_unknown_query_parameter_naming_it(client, make_token, every_get):
    admin = bearer(make_token("admin", "admin"))
    for url in every_get:
        assert client.get(url, headers=admin).status_code in (200, 303), url
        refused = client.get(f"{url}?foo=1", headers=admin)
        assert refused.status_code == 400, url
        assert refused.mimetype == PROBLEM
        body = refused.get_json()
        assert body["errors"] == {"foo": ["Unknown query parameter 'foo'."]}, url
        assert body["detail"].startswith("Unknown query parameter 'foo'. This endpoint takes"), url


@pytest.mark.parametrize(
    ("path", "query", "named", "meant", "takes"),
    [
        ("/comments", "limit=5", "limit", None, "This endpoint takes no query parameters."),
        ("", "fields=title", "fields", None, "This endpoint takes no query parameters."),
        ("/events", "actr=me", "actr", None, "This endpoint takes no query parameters."),
        ("?", "stauts=open", "stauts", "status", "This endpoint takes: q, status, priority, owner,"),
    ],
)
def test_an_unknown_parameter_says_what_the_operation_takes(
    client, lead, make_incident, path, query, named, meant, takes
):
    incident = make_incident(owner=None)
    url = f"{INCIDENTS}/{incident.key}{path}" if path != "?" else INCIDENTS
    body = client.get(f"{url}?{query}", headers=lead).get_json()
    assert body["status"] == 400
    (message,) = body["errors"][named]
    assert (f"did you mean {meant}?" in message) == bool(meant)
    assert takes in body["detail"]


def test_a_refused_parameter_still_needs_a_token_first(client, make_incident):
    incident = make_incident(owner=None)
    assert client.get(f"{INCIDENTS}/{incident.key}/comments?foo=1").status_code == 401


def test_known_parameters_and_next_links_still_work_on_the_audit_log(client, lead, make_incident):
    for n in range(3):
        make_incident(title=f"Disk full {n}", owner=None)
    page = client.get("/api/v1/audit/events?limit=1&action=incident.", headers=lead)
    assert page.status_code == 200, page.get_json()
    following = client.get(page.get_json()["next"], headers=lead)
    assert following.status_code == 200, following.get_json()


@pytest.mark.parametrize(
    ("url", "named", "says"),
    [
        (
            "/api/v1/incidents?status=open&status=blocked",
            "status",
            "Give status once: several values go in one, comma-separated (status=open,blocked).",
        ),
        ("/api/v1/incidents?limit=5&limit=50", "limit", "Give limit once (it was given 2 times)."),
        ("/api/v1/audit/events?action=user.&action=incident.", "action", "Give action once: several values go in one"),
        ("/api/v1/insights?days=7&days=30", "days", "Give days once (it was given 2 times)."),
    ],
)
def test_a_parameter_given_twice_is_refused_naming_it(client, make_token, url, named, says):
    """A client library that sends a list as repeated keys (`status=open&status=blocked`) got the
    first value's answer only, the open incidents, as if it were the whole answer."""
    response = client.get(url, headers=bearer(make_token("admin", "admin")))

    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    assert list(response.get_json()["errors"]) == [named]
    assert response.get_json()["errors"][named][0].startswith(says)
