"""GET /api/v1/insights: what the /insights page shows, for a team's own dashboards (MTTA and
MTTR into Grafana, say), counted in the days of the zone asked; bad input named."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from api_helpers import bearer
from sqlalchemy import update

from shared.incidents.models import Incident
from shared.timeutil import as_utc

INSIGHTS = "/api/v1/insights"
PROBLEM = "application/problem+json"


def _stamp(db, incident, **times) -> None:
    db.execute(update(Incident).where(Incident.id == incident.id).values(**times))
    db.commit()


def test_mtta_mttr_per_priority_and_component_and_open_per_day(client, db, make_incident, make_token):
    fixed = make_incident("resolved", priority="P1", component="rds")
    created = as_utc(fixed.created_at)
    _stamp(db, fixed, acknowledged_at=created + timedelta(minutes=5), resolved_at=created + timedelta(hours=1))
    make_incident("open", priority="P2", component=None)

    response = client.get(f"{INSIGHTS}?days=7", headers=bearer(make_token("member", "read")))

    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    today = datetime.now(UTC).date()
    assert (body["days"], body["zone"], body["open_now"]) == (7, "UTC", 1)
    assert (body["first_day"], body["last_day"]) == ((today - timedelta(days=6)).isoformat(), today.isoformat())
    p1, p2, p3, p4 = body["by_priority"]
    assert p1 == {
        "filed": 1,
        "acknowledged": 1,
        "mtta_seconds": pytest.approx(300, abs=1),
        "resolved": 1,
        "mttr_seconds": pytest.approx(3600, abs=1),
        "priority": "P1",
    }
    assert (p2["priority"], p2["filed"], p2["mtta_seconds"], p2["mttr_seconds"]) == ("P2", 1, None, None)
    assert [(p["priority"], p["filed"]) for p in (p3, p4)] == [("P3", 0), ("P4", 0)]
    assert sorted((c["component"] or "", c["filed"]) for c in body["by_component"]) == [("", 1), ("rds", 1)]
    assert body["components"] == 2
    assert [day["day"] for day in body["open_over_time"]] == [
        (today - timedelta(days=offset)).isoformat() for offset in range(6, -1, -1)
    ]
    assert body["open_over_time"][-1]["open"] == 1


def test_days_are_the_zone_asked(client, db, make_incident, make_token):
    """Filed a minute after midnight UTC: open from the evening before in Los Angeles."""
    incident = make_incident("open")
    filed = datetime.now(UTC).replace(hour=0, minute=1, second=0, microsecond=0)
    _stamp(db, incident, created_at=filed)
    evening_there = filed.astimezone(ZoneInfo("America/Los_Angeles")).date()
    token = bearer(make_token("member", "read"))

    def open_by_day(query: str) -> dict[date, int]:
        body = client.get(f"{INSIGHTS}?days=7{query}", headers=token).get_json()
        return {date.fromisoformat(day["day"]): day["open"] for day in body["open_over_time"]}

    assert open_by_day("")[evening_there] == 0
    there = open_by_day("&tz=America/Los_Angeles")
    assert there[evening_there] == 1
    assert there[evening_there - timedelta(days=1)] == 0
    assert client.get(f"{INSIGHTS}?tz=America/Los_Angeles", headers=token).get_json()["zone"] == "America/Los_Angeles"


@pytest.mark.parametrize(
    ("query", "status", "field", "says"),
    [
        ("days=14", 422, "days", "days must be 7, 30 or 90."),
        ("days=week", 422, "days", "days must be 7, 30 or 90."),
        ("tz=Mars/Olympus_Mons", 400, "tz", "Unknown time zone 'Mars/Olympus_Mons'"),
        ("tz=" + "x" * 5000, 400, "tz", "Unknown time zone '" + "x" * 64 + "…': use a name"),  # not echoed whole
        ("window=7", 400, "window", "window"),
    ],
)
def test_bad_input_is_named(client, make_token, query, status, field, says):
    response = client.get(f"{INSIGHTS}?{query}", headers=bearer(make_token("member", "read")))

    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    problem = response.get_json()
    assert field in problem["errors"], problem
    assert says in " ".join(problem["errors"][field]), problem


def test_without_a_token_it_is_refused(client):
    response = client.get(INSIGHTS)
    assert response.status_code == 401
    assert response.mimetype == PROBLEM


def test_env_counts_only_those_environments(client, make_incident, make_token):
    make_incident("open", priority="P1", environment="prod")
    make_incident("open", priority="P1", environment="dev")
    token = bearer(make_token("member", "read"))

    body = client.get(f"{INSIGHTS}?env=PROD", headers=token).get_json()
    refused = client.get(f"{INSIGHTS}?env=prod,production", headers=token)

    assert (body["environments"], body["open_now"], body["by_priority"][0]["filed"]) == (["prod"], 1, 1)
    assert client.get(INSIGHTS, headers=token).get_json()["environments"] == []
    assert refused.status_code == 400
    assert refused.get_json()["errors"] == {
        "env": ["There is no environment 'production': choose prod, staging, dev, preview or shared."]
    }
