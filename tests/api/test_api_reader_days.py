"""`tz` on GET /api/v1/incidents and GET /api/v1/follow-ups: the days `q` counts
(`created:2026-12-09`, `due:overdue`) and the today `due=overdue` counts from are that zone's, as
the dashboard counts its reader's; UTC without it, and an unknown zone a 400 naming `tz`.

The clock is fixed at 02:00 UTC on 10 December: still the 9th in Los Angeles, the 10th in Tokyo."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from api_helpers import bearer
from sqlalchemy import update

from shared.db import clock_at
from shared.incidents import follow_ups
from shared.incidents.models import FollowUp

NOW = datetime(2026, 12, 10, 2, 0, tzinfo=UTC)
PROBLEM = "application/problem+json"


@pytest.fixture
def seeded(db, users, make_incident) -> dict[str, str]:
    with clock_at(datetime(2026, 12, 8, 12, 0, tzinfo=UTC)):
        due_9th = make_incident(title="Incident due the 9th", owner="member", due_date=date(2026, 12, 9))
        follow_up = follow_ups.add_follow_up(
            session=db, actor=users["lead"], incident_id=due_9th.id, title="Rotate the key", owner_id=users["member"].id
        )
    with clock_at(datetime(2026, 12, 10, 1, 0, tzinfo=UTC)):  # the 9th's evening in Los Angeles
        filed_late = make_incident(title="Incident filed late", owner=None)
    db.execute(update(FollowUp).where(FollowUp.id == follow_up.id).values(due_date=date(2026, 12, 9)))
    db.commit()
    return {"due-9th": due_9th.key, "filed-late": filed_late.key}


@pytest.fixture
def reader(make_token):
    return bearer(make_token("member", "read"))


def _get(client, reader, url: str, **params):
    with clock_at(NOW):
        return client.get(url, headers=reader, query_string=params)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": "due:overdue"}, {"due-9th"}),
        ({"q": "due:overdue", "tz": "UTC"}, {"due-9th"}),
        ({"q": "due:overdue", "tz": "America/Los_Angeles"}, set()),
        ({"q": "due:today", "tz": "America/Los_Angeles"}, {"due-9th"}),
        ({"q": "due:overdue", "tz": "Asia/Tokyo"}, {"due-9th"}),
        ({"q": "created:2026-12-09"}, set()),
        ({"q": "created:2026-12-09", "tz": "America/Los_Angeles"}, {"filed-late"}),
        ({"q": "created:today", "tz": "Asia/Tokyo"}, {"filed-late"}),
    ],
)
def test_the_incident_list_counts_the_days_of_tz(client, reader, seeded, params, expected):
    response = _get(client, reader, "/api/v1/incidents", **params)
    assert response.status_code == 200, response.get_json()
    assert {item["key"] for item in response.get_json()["items"]} == {seeded[name] for name in expected}


def test_the_csv_export_counts_the_days_of_tz(client, reader, seeded):
    response = _get(client, reader, "/api/v1/incidents", q="created:2026-12-09", tz="America/Los_Angeles", format="csv")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert seeded["filed-late"] in body
    assert seeded["due-9th"] not in body


@pytest.mark.parametrize(("tz", "listed"), [(None, True), ("America/Los_Angeles", False), ("Asia/Tokyo", True)])
def test_overdue_follow_ups_count_from_today_in_tz(client, reader, seeded, tz, listed):
    params = {"due": "overdue", **({"tz": tz} if tz else {})}
    response = _get(client, reader, "/api/v1/follow-ups", **params)
    assert response.status_code == 200, response.get_json()
    assert ("Rotate the key" in [item["title"] for item in response.get_json()["items"]]) is listed


@pytest.mark.parametrize("url", ["/api/v1/incidents", "/api/v1/follow-ups"])
def test_an_unknown_tz_is_a_400_naming_it(client, reader, seeded, url):
    response = _get(client, reader, url, tz="Mars/Olympus_Mons")
    assert response.status_code == 400
    assert response.content_type == PROBLEM
    body = response.get_json()
    assert list(body["errors"]) == ["tz"]
    assert "Unknown time zone 'Mars/Olympus_Mons'" in body["detail"]
