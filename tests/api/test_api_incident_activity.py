"""The API and both CSV downloads carry each incident's `last_activity_at` (what `updated:` and
`sort=recent` read) beside its `updated_at` (its own last change): a script or sheet building the
handover sees an incident that was only discussed. A comment leaves the ETag alone, so a PATCH
prepared before it still applies."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from api_helpers import bearer
from web_helpers import sign_in

from shared.db import clock_at, utcnow
from shared.incidents import service as incidents
from shared.timeutil import as_utc

INCIDENTS = "/api/v1/incidents"


@pytest.fixture
def lead(make_token):
    return bearer(make_token("lead", "write"))


def test_a_comment_moves_last_activity_at_and_leaves_the_etag(client, db, users, make_incident, lead):
    with clock_at(utcnow() - timedelta(days=3)):
        discussed = make_incident(title="Edited three days ago, discussed now")
        make_incident(title="Edited three days ago")
    url = f"{INCIDENTS}/{discussed.key}"
    before = client.get(url, headers=lead)
    etag = before.headers["ETag"]
    assert before.get_json()["last_activity_at"] == before.get_json()["updated_at"]

    moment = utcnow().replace(microsecond=0)
    with clock_at(moment):
        said = client.post(f"{url}/comments", json={"body": "Failover done, watching lag."}, headers=lead)
    assert said.status_code == 201
    after = client.get(url, headers=lead)
    assert after.headers["ETag"] == etag
    assert after.get_json()["updated_at"] == before.get_json()["updated_at"]
    assert after.get_json()["last_activity_at"] == said.get_json()["created_at"] == moment.isoformat()

    handover = client.get(INCIDENTS, query_string={"q": "updated:12h", "sort": "recent"}, headers=lead)
    assert [item["key"] for item in handover.get_json()["items"]] == [discussed.key]
    quiet = client.get(INCIDENTS, query_string={"q": "-updated:2d", "sort": "recent"}, headers=lead)
    assert [item["title"] for item in quiet.get_json()["items"]] == ["Edited three days ago"]

    # The edit prepared before the comment still applies.
    saved = client.patch(url, json={"title": "Failover"}, headers={**lead, "If-Match": etag})
    assert saved.status_code == 200


def test_cursor_pages_by_last_activity_neither_repeat_nor_skip(client, db, users, make_incident, lead):
    made = []
    for days in (5, 4, 3, 2, 1):
        with clock_at(utcnow() - timedelta(days=days)):
            made.append(make_incident(title=f"Filed {days} days ago"))
    # The oldest two are discussed today: first and second by last activity.
    for hours, incident in ((2, made[1]), (1, made[0])):
        with clock_at(utcnow() - timedelta(hours=hours)):
            incidents.add_comment(session=db, incident_id=incident.id, actor=users["member"], body="Still on it.")
        db.commit()
    seen: list[str] = []
    url: str | None = f"{INCIDENTS}?sort=recent&limit=2"
    while url:
        page = client.get(url, headers=lead).get_json()
        seen += [item["title"] for item in page["items"]]
        url = page["next"]
    assert seen == ["Filed 5 days ago", "Filed 4 days ago", "Filed 1 days ago", "Filed 2 days ago", "Filed 3 days ago"]


def test_both_csv_downloads_carry_last_activity_at(client, app, db, users, make_incident, lead):
    with clock_at(utcnow() - timedelta(days=3)):
        discussed = make_incident(title="Discussed")
    moment = utcnow()
    with clock_at(moment):
        incidents.add_comment(session=db, incident_id=discussed.id, actor=users["member"], body="Rolled back.")
    db.commit()
    browser = app.test_client()
    sign_in(browser, users["member"])
    for download in (
        lambda: client.get(f"{INCIDENTS}?format=csv", headers=lead),
        lambda: browser.get("/incidents.csv"),
    ):
        # A streamed body: read before the next request.
        header, *rows = list(csv.reader(io.StringIO(download().get_data(as_text=True))))
        assert header.index("last_activity_at") == header.index("acknowledged_at") + 1  # its place since it was added
        (row,) = rows
        assert row[header.index("last_activity_at")] == moment.isoformat()
        assert row[header.index("updated_at")] == as_utc(discussed.updated_at).isoformat()
