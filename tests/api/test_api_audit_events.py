"""GET /api/v1/audit/events: the whole audit trail for leads' and admins' tokens, filtered like
the /audit page, paged with `next` and Link, exported with format=csv; members refused with a
problem; a filter value that matches nothing known named under its parameter."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from api_helpers import bearer
from web_helpers import sign_in

from shared.accounts import service as accounts
from shared.audit import service as audit
from shared.db import utcnow
from shared.incidents import service as incidents
from web.csv_export import AUDIT_COLUMNS

EVENTS = "/api/v1/audit/events"
PROBLEM = "application/problem+json"


@pytest.fixture
def trail(db, users, make_incident):
    """The users' creation (by no user), an incident's life, a comment and a role change."""
    incident = make_incident("in_progress", reporter="lead", title="Disk full on db-1")
    incidents.add_comment(session=db, incident_id=incident.id, actor=users["member"], body="Seen it.")
    accounts.change_role(session=db, actor=users["admin"], user_id=users["other"].id, role="lead")
    db.commit()
    return incident


@pytest.mark.parametrize(
    ("who", "scope", "status"),
    [
        ("member", "read", 403),
        ("member", "write", 403),
        ("lead", "read", 200),
        ("lead", "write", 200),
        ("admin", "read", 200),
        ("admin", "admin", 200),
    ],
)
def test_leads_and_admins_tokens_read_the_trail_members_get_a_problem(client, make_token, trail, who, scope, status):
    headers = bearer(make_token(who, scope))
    for query in ("", "?format=csv"):
        response = client.get(EVENTS + query, headers=headers)
        assert response.status_code == status
        if status == 403:
            assert response.mimetype == PROBLEM
            assert response.get_json()["detail"] == "Only leads and admins can read the audit log."


def test_without_a_token_it_is_401(client, trail):
    response = client.get(EVENTS)
    assert response.status_code == 401
    assert response.mimetype == PROBLEM


def test_a_signed_in_lead_reads_it_with_the_csrf_header_too(client, users, trail):
    sign_in(client, users["lead"])
    page = client.get("/").get_data(as_text=True)
    token = page.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
    assert client.get(EVENTS).status_code == 401  # the cookie alone proves nothing
    assert client.get(EVENTS, headers={"X-CSRFToken": token}).status_code == 200


def test_each_event_says_who_when_what_and_where(client, make_token, users, trail):
    body = client.get(EVENTS, headers=bearer(make_token("lead", "read"))).get_json()
    assert body["items"][0]["action"] == "api_token.created"  # the token this test made, just now
    newest, comment = body["items"][1], body["items"][2]
    assert newest["action"] == "user.role_changed"
    assert newest["actor"] == {"id": users["admin"].id, "email": "admin@example.com", "name": "Ada Admin"}
    assert (newest["entity_type"], newest["entity_id"], newest["incident"]) == ("user", users["other"].id, None)
    assert newest["data"] == {"email": "other@example.com", "from": "member", "to": "lead"}
    assert newest["occurred_at"].endswith("+00:00")
    assert len(newest["hash"]) == len(newest["prev_hash"]) == 64
    assert comment["action"] == "incident.commented"
    assert (comment["incident"], comment["incident_id"]) == (trail.key, trail.id)
    assert body["items"][-1]["actor"] is None  # the seeded users were created by no one
    assert body["next"] is None


@pytest.mark.parametrize(
    ("query", "actions"),
    [
        ({"action": "user."}, {"user.created", "user.role_changed"}),
        ({"action": "user.*,incident.commented"}, {"user.created", "user.role_changed", "incident.commented"}),
        ({"actor": "member@example.com"}, {"incident.commented"}),
        ({"actor": "system"}, {"user.created"}),
        ({"entity_type": "user"}, {"user.created", "user.role_changed", "api_token.created"}),
        (
            {"incident": "INC-1"},
            {"incident.created", "incident.assigned", "incident.status_changed", "incident.commented"},
        ),
        ({"from": "2000-01-01", "to": "2000-12-31"}, set()),
    ],
    ids=["family", "several", "actor", "system", "entity-type", "incident", "window"],
)
def test_filters_narrow_the_list(client, make_token, trail, query, actions):
    response = client.get(EVENTS, query_string=query, headers=bearer(make_token("admin", "read")))
    assert response.status_code == 200
    assert {item["action"] for item in response.get_json()["items"]} == actions


def test_pages_follow_next_and_link_and_keep_the_filters(client, db, users, make_token, trail):
    headers = bearer(make_token("lead", "read"))
    url = f"{EVENTS}?action=incident.&limit=3"
    seen, pages = [], 0
    while url:
        response = client.get(url, headers=headers)
        body = response.get_json()
        seen.extend(item["id"] for item in body["items"])
        pages += 1
        if body["next"]:
            assert response.headers["Link"] == f'<{body["next"]}>; rel="next"'
            assert "action=incident." in body["next"]
            assert "limit=3" in body["next"]
            # An event appended meanwhile is newer than every page: it never shifts one.
            incidents.add_comment(session=db, incident_id=trail.id, actor=users["lead"], body="Still looking.")
            db.commit()
        else:
            assert "Link" not in response.headers
        url = body["next"]
    assert pages == 2
    assert len(seen) == len(set(seen)) == 4  # created, assigned, moved to In Progress, commented
    assert seen == sorted(seen, reverse=True)


def test_format_csv_is_the_filtered_trail_formula_safe(client, db, users, make_token, trail):
    user = accounts.create_user(
        session=db,
        actor=users["admin"],
        email="x@example.com",
        name="@SUM(1+1)",
        role="member",
        password="long-enough-pass-1",
    )
    db.flush()
    incidents.create_incident(session=db, actor=user, title="-2+3 replicas down")
    db.commit()
    headers = bearer(make_token("lead", "read"))
    response = client.get(EVENTS, query_string={"format": "csv", "action": "user.,incident.created"}, headers=headers)
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == f'attachment; filename="audit-events-{utcnow():%Y-%m-%d}.csv"'
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == list(AUDIT_COLUMNS)
    assert [row[5] for row in rows[1:4]] == ["incident.created", "user.created", "user.role_changed"]
    assert rows[1][3:5] == ["x@example.com", "'@SUM(1+1)"]  # a formula in a name is text
    assert '"title":"-2+3 replicas down"' in rows[1][10]  # the data, as hashed, in one JSON cell
    assert rows[2][3:5] == ["admin@example.com", "Ada Admin"]
    assert rows[-1][3:5] == ["system", "System"]  # the seeded users were created by no one
    assert {row[5] for row in rows[1:]} == {"user.created", "user.role_changed", "incident.created"}


@pytest.mark.parametrize(
    ("query", "parameter", "words"),
    [
        ({"action": "usr."}, "action", "Unknown action 'usr.'"),
        ({"actor": "nobody@example.com"}, "actor", "No user with the email 'nobody@example.com'"),
        ({"entity_type": "comment"}, "entity_type", "Unknown entity type 'comment'"),
        ({"entity_id": "7"}, "entity_id", "Give entity_type with entity_id"),
        ({"incident": "INC-999"}, "incident", "No incident INC-999"),
        ({"from": "31/12/2026"}, "from", "'31/12/2026' is not a date or a time"),
        ({"to": "2026-02-30"}, "to", "is not a date or a time"),
        ({"tz": "Mars/Olympus_Mons"}, "tz", "Unknown time zone 'Mars/Olympus_Mons'"),
    ],
)
def test_a_filter_that_matches_nothing_known_is_a_400_naming_its_parameter(
    client, make_token, trail, query, parameter, words
):
    # (A bad cursor is a 422, as on the incident list: test_api_audit_errors.py.)
    for extra in ({}, {"format": "csv"}):
        response = client.get(EVENTS, query_string={**query, **extra}, headers=bearer(make_token("lead", "read")))
        assert response.status_code == 400
        assert response.mimetype == PROBLEM
        problem = response.get_json()
        assert list(problem["errors"]) == [parameter]
        assert words in problem["errors"][parameter][0]
        assert problem["detail"].startswith(f"{parameter}: ")


@pytest.mark.parametrize("limit", ["0", "201", "ten"])
def test_a_limit_out_of_range_is_a_422_naming_it(client, make_token, trail, limit):
    response = client.get(EVENTS, query_string={"limit": limit}, headers=bearer(make_token("lead", "read")))
    assert response.status_code == 422
    assert "limit" in response.get_json()["errors"]


def test_the_openapi_document_describes_the_operation(client):
    document = client.get("/api/v1/openapi.json").get_json()
    operation = document["paths"][EVENTS]["get"]
    assert operation["operationId"] == "list_audit_events"
    assert operation["tags"] == ["Audit"]
    names = {parameter["name"] for parameter in operation["parameters"]}
    assert {
        "action",
        "actor",
        "entity_type",
        "entity_id",
        "incident",
        "from",
        "to",
        "limit",
        "cursor",
        "format",
    } <= names
    ok = operation["responses"]["200"]
    assert ok["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/AuditEventPage"}
    assert ok["content"]["text/csv"]["schema"]["type"] == "string"
    assert {"Link", "Content-Disposition"} <= set(ok["headers"])
    assert {"400", "401", "403", "422"} <= set(operation["responses"])


def test_from_and_to_are_read_in_the_zone_given(client, db, users, make_token):
    """07:35 to 07:36 in Los Angeles is the event at 15:35:30 UTC; without `tz` the same times
    are UTC, as before."""
    audit.append(
        session=db,
        actor_id=users["admin"].id,
        action="user.disabled",
        entity_type="user",
        entity_id=users["other"].id,
        data={"email": "other@example.com"},
        occurred_at=datetime(2026, 12, 1, 15, 35, 30, tzinfo=UTC),
    )
    db.commit()
    window = {"action": "user.disabled", "from": "2026-12-01T07:35", "to": "2026-12-01T07:36"}
    token = bearer(make_token("lead", "read"))

    there = client.get(EVENTS, query_string={**window, "tz": "America/Los_Angeles"}, headers=token)
    in_utc = client.get(EVENTS, query_string=window, headers=token)

    assert there.status_code == 200, there.get_data(as_text=True)
    assert [item["occurred_at"][:19] for item in there.get_json()["items"]] == ["2026-12-01T15:35:30"]
    assert in_utc.get_json()["items"] == []
