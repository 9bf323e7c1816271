"""Found by an integrator: every problem of a body at once when owner_email is nobody; limit and
cursor refused with format=csv; resolving takes `summary`, never `reason`; a demoted owner's
admin-scope token is refused in words that name the demotion."""

from __future__ import annotations

import pytest
from api_helpers import bearer
from sqlalchemy import func, select

from shared.accounts import service as accounts
from shared.incidents.models import Incident

GHOST = "ghost@example.com"


def test_an_unknown_owner_email_is_named_with_every_other_problem_of_the_request(client, db, users, make_token):
    value = make_token("lead", "write")
    response = client.post(
        "/api/v1/incidents", json={"title": "x", "priority": "P9", "owner_email": GHOST}, headers=bearer(value)
    )
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert errors["owner_email"] == [f"No active user has the email {GHOST}."]
    assert errors["priority"] == ["Choose a priority from P1 (highest) to P4."]
    assert db.scalar(select(func.count()).select_from(Incident)) == 0


def test_an_unknown_owner_email_of_a_follow_up_is_named_with_its_bad_title(client, users, make_token, make_incident):
    incident = make_incident("in_progress")
    value = make_token("lead", "write")
    response = client.post(
        f"/api/v1/incidents/{incident.key}/follow-ups", json={"title": " ", "owner_email": GHOST}, headers=bearer(value)
    )
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {"title", "owner_email"}


CSV_PAGING = "limit and cursor page JSON; format=csv exports"


@pytest.mark.parametrize(
    ("query", "refused"),
    [
        ("format=csv&limit=2", ["limit"]),
        ("format=CSV&cursor=abc", ["cursor"]),
        ("limit=2&format=csv&cursor=abc", ["limit", "cursor"]),
    ],
    ids=["limit", "cursor-any-case", "both"],
)
@pytest.mark.parametrize("path", ["/api/v1/incidents", "/api/v1/audit/events"])
def test_limit_and_cursor_with_format_csv_are_refused_by_name(
    client, users, make_token, make_incident, path, query, refused
):
    make_incident()
    make_incident()
    make_incident()
    response = client.get(f"{path}?{query}", headers=bearer(make_token("admin", "read")))
    response.get_data()  # read to its end: a CSV download is streamed
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert sorted(body["errors"]) == sorted(refused)
    assert CSV_PAGING in body["detail"]
    assert body["detail"].startswith(f"{' and '.join(refused)} ")


def test_limit_still_pages_json_and_csv_still_exports_everything(client, users, make_token, make_incident):
    for _ in range(3):
        make_incident()
    value = make_token("admin", "read")
    assert len(client.get("/api/v1/incidents?limit=2", headers=bearer(value)).get_json()["items"]) == 2
    exported = client.get("/api/v1/incidents?format=csv", headers=bearer(value))
    assert exported.status_code == 200
    assert len(exported.get_data(as_text=True).strip().splitlines()) == 4  # the header and every incident


def _transition(client, key: str, value: str, **body):
    return client.post(f"/api/v1/incidents/{key}/transition", json=body, headers=bearer(value))


def test_resolving_with_a_reason_alone_asks_for_a_summary(client, db, users, make_token, make_incident):
    incident = make_incident("in_progress")
    value = make_token("lead", "write")
    refused = _transition(client, incident.key, value, to="resolved", reason="x")
    assert refused.status_code == 422
    errors = refused.get_json()["errors"]
    assert list(errors) == ["summary"]
    assert "send the resolution summary as summary, not reason" in errors["summary"][0]
    got = client.get(f"/api/v1/incidents/{incident.key}", headers=bearer(value)).get_json()
    assert (got["status"], got["resolution_summary"]) == ("in_progress", None)


def test_resolving_with_a_reason_and_a_summary_refuses_the_reason(client, db, users, make_token, make_incident):
    incident = make_incident("in_progress")
    value = make_token("lead", "write")
    refused = _transition(client, incident.key, value, to="resolved", reason="why", summary="restarted the pool")
    assert refused.status_code == 422
    errors = refused.get_json()["errors"]
    assert list(errors) == ["reason"]
    assert "reason is not taken for resolving" in errors["reason"][0]
    resolved = _transition(client, incident.key, value, to="resolved", summary="restarted the pool")
    assert resolved.status_code == 200
    assert resolved.get_json()["resolution_summary"] == "restarted the pool"


def test_a_reason_still_moves_to_blocked(client, users, make_token, make_incident):
    incident = make_incident("in_progress")
    moved = _transition(client, incident.key, make_token("lead", "write"), to="blocked", reason="waiting on AWS")
    assert moved.status_code == 200
    assert moved.get_json()["blocked_reason"] == "waiting on AWS"


def test_a_demoted_owners_admin_token_is_refused_naming_the_new_role(client, db, users, make_token):
    value = make_token("admin", "admin")
    accounts.change_role(session=db, actor=None, user_id=users["admin"].id, role="member")
    db.commit()
    me = client.get("/api/v1/me", headers=bearer(value)).get_json()
    assert me["token"]["scope"] == "admin"
    refused = client.get("/api/v1/users", headers=bearer(value))
    assert refused.status_code == 403
    detail = refused.get_json()["detail"]
    assert detail.startswith(
        "This token's owner is now a member: an admin-scope token acts with at most its owner's role"
    )
    assert "This token's scope is write" not in detail
