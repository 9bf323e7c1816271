"""ETag/If-Match, cursor pages under inserts, problem details for each error, CSV export."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from api_helpers import bearer
from web_helpers import sign_in, snapshot

from shared.db import utcnow
from shared.incidents import service as incidents
from shared.incidents import timers
from shared.incidents.search import Filters, parse_query
from shared.timeutil import as_utc
from web.csv_export import safe_cell


@pytest.fixture
def lead(make_token):
    return bearer(make_token("lead", "write"))


def test_patch_needs_if_match_and_refuses_a_stale_one(client, make_incident, lead):
    incident = make_incident()
    url = f"/api/v1/incidents/{incident.key}"
    got = client.get(url, headers=lead)
    etag = got.headers["ETag"]
    assert etag == f'"v{got.get_json()["version"]}"'

    missing = client.patch(url, json={"title": "New title"}, headers=lead)
    assert missing.status_code == 428
    assert missing.mimetype == "application/problem+json"

    saved = client.patch(url, json={"title": "New title"}, headers={**lead, "If-Match": etag})
    assert saved.status_code == 200
    assert saved.get_json()["title"] == "New title"
    assert saved.headers["ETag"] != etag

    stale = client.patch(url, json={"title": "Lost update"}, headers={**lead, "If-Match": etag})
    assert stale.status_code == 412
    assert client.get(url, headers=lead).get_json()["title"] == "New title"

    weak = client.patch(url, json={"component": "rds"}, headers={**lead, "If-Match": "W/" + saved.headers["ETag"]})
    assert weak.status_code == 200


def test_an_if_match_list_naming_the_current_version_among_others_matches(client, make_incident, lead):
    """RFC 9110: If-Match holds when any listed tag matches; a tag that is none of ours (another
    server's, a typo) matches nothing, and does not sink the list."""
    incident = make_incident()
    url = f"/api/v1/incidents/{incident.key}"
    current = client.get(url, headers=lead).headers["ETag"]
    saved = client.patch(url, json={"title": "Listed"}, headers={**lead, "If-Match": f'"x", junk, {current}'})
    assert saved.status_code == 200
    none_ours = client.patch(url, json={"title": "Lost"}, headers={**lead, "If-Match": '"x", junk'})
    assert none_ours.status_code == 412
    assert client.get(url, headers=lead).get_json()["title"] == "Listed"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("", '{"title": "ok", "description": "\\ud800"}'),
        ("", '{"title": "x\\udfff"}'),
        ("", '{"title": "ok", "\\ud800": 1}'),
        ("/{key}/comments", '{"body": "half \\ud83d of a face"}'),
        ("/{key}/transition", '{"to": "in_progress", "reason": "x\\ud800"}'),
        ("/{key}/follow-ups", '{"title": "x\\ud800"}'),
    ],
)
def test_a_lone_surrogate_escape_is_a_422_naming_the_field_and_saves_nothing(
    client, db, make_incident, lead, path, body
):
    """An escape such as \\ud800 parses as JSON but is half of a character: no database stores it (it was
    a 500)."""
    incident = make_incident()
    before = snapshot(db)
    answer = client.post(
        "/api/v1/incidents" + path.format(key=incident.key), data=body, content_type="application/json", headers=lead
    )
    assert answer.status_code == 422
    assert answer.mimetype == "application/problem+json"
    problem = answer.get_json()
    assert "lone surrogate" in problem["detail"]
    assert len(problem["errors"]) == 1
    assert snapshot(db) == before


def test_an_escaped_surrogate_pair_is_a_whole_character_and_taken(client, lead):
    answer = client.post(
        "/api/v1/incidents",
        data='{"title": "Pager \\ud83d\\udd25 storm"}',
        content_type="application/json",
        headers=lead,
    )
    assert answer.status_code == 201
    assert answer.get_json()["title"] == "Pager \N{FIRE} storm"


def test_a_body_with_a_byte_order_mark_is_a_400_saying_so(client, lead):
    answer = client.post(
        "/api/v1/incidents", data='\ufeff{"title": "ok"}'.encode(), content_type="application/json", headers=lead
    )
    assert answer.status_code == 400
    assert answer.get_json()["detail"] == (
        "The body is not valid JSON: it starts with a byte-order mark; send it without."
    )


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_not_json(client, lead, number):
    answer = client.post(
        "/api/v1/incidents", data=f'{{"title": "ok", "x": {number}}}', content_type="application/json", headers=lead
    )
    assert answer.status_code == 400
    assert "NaN and Infinity are not JSON numbers" in answer.get_json()["detail"]


def test_a_stale_if_match_on_a_transition_is_412_and_changes_nothing(client, make_incident, lead):
    incident = make_incident()
    url = f"/api/v1/incidents/{incident.key}"
    etag = client.get(url, headers=lead).headers["ETag"]
    client.post(f"{url}/priority", json={"priority": "P1"}, headers=lead)
    refused = client.post(f"{url}/transition", json={"to": "in_progress"}, headers={**lead, "If-Match": etag})
    assert refused.status_code == 412
    assert client.get(url, headers=lead).get_json()["status"] == "open"


def test_cursor_pages_stay_stable_while_rows_are_inserted(client, db, users, make_incident, lead):
    for n in range(7):
        make_incident(title=f"Existing {n}", priority=f"P{n % 4 + 1}", owner=None)
    for sort in ("priority", "recent", "oldest"):
        seen: list[str] = []
        url = f"/api/v1/incidents?limit=3&sort={sort}&q=Existing"
        while url:
            page = client.get(url, headers=lead)
            assert page.status_code == 200
            body = page.get_json()
            seen += [item["key"] for item in body["items"]]
            # Someone files incidents between our page requests, at every priority.
            for p in ("P1", "P4"):
                incidents.create_incident(session=db, actor=users["lead"], title=f"Existing new {sort} {p}", priority=p)
            db.commit()
            url = body["next"]
            if url:
                assert page.headers["Link"] == f'<{url}>; rel="next"'
        originals = [k for k in seen if k in {f"INC-{i}" for i in range(1, 8)}]
        assert sorted(originals) == sorted(set(originals)), f"{sort}: a row came twice"
        assert len(originals) == 7, f"{sort}: a row was skipped"


def test_a_bad_cursor_is_a_422_problem_naming_the_cursor(client, lead):
    response = client.get("/api/v1/incidents?cursor=nonsense", headers=lead)
    assert response.status_code == 422
    assert "cursor" in response.get_json()["errors"]


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("GET", "/api/v1/incidents/INC-999", {}, 404),
        ("GET", "/api/v1/no-such-thing", {}, 404),
        ("DELETE", "/api/v1/incidents", {}, 405),
        ("POST", "/api/v1/incidents", {"data": "title=x", "content_type": "application/x-www-form-urlencoded"}, 415),
        ("POST", "/api/v1/incidents", {"data": "{not json", "content_type": "application/json"}, 400),
        ("POST", "/api/v1/incidents", {"json": {"priority": "P1"}}, 422),
        ("POST", "/api/v1/incidents", {"json": {"title": "a\x00b"}}, 422),
        ("POST", "/api/v1/incidents", {"data": "x" * (3 * 1024 * 1024), "content_type": "application/json"}, 413),
        ("GET", "/api/v1/incidents?status=bogus", {}, 400),
        ("GET", "/api/v1/incidents?limit=0", {}, 422),
    ],
)
def test_every_error_is_problem_json_never_a_page(client, lead, method, path, kwargs, status):
    response = client.open(path, method=method, headers=lead, **kwargs)
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["status"] == status
    assert body["title"]
    assert body["detail"]


def test_validation_errors_name_the_field_at_fault(client, lead):
    body = client.post("/api/v1/incidents", json={"title": "", "environment": "mars"}, headers=lead).get_json()
    assert body["status"] == 422
    assert set(body["errors"]) >= {"title", "environment"}


def test_an_unknown_filter_value_is_named_under_its_parameter(client, lead):
    """Found by QA: `?status=opn` came back under errors.q, the search box the caller never used."""
    body = client.get("/api/v1/incidents?status=opn&env=mars&q=priority:p9 disk", headers=lead).get_json()
    assert body["status"] == 400
    assert set(body["errors"]) == {"status", "env", "q"}
    assert "opn" in body["errors"]["status"][0]
    assert "mars" in body["errors"]["env"][0]
    assert "p9" in body["errors"]["q"][0]


def test_q_uses_the_dashboard_query_language(client, make_incident, lead):
    make_incident(title="Disk full on db-1", priority="P1", owner=None)
    make_incident(title="Disk full on db-2", priority="P3", owner=None)
    items = client.get("/api/v1/incidents?q=priority:p1 disk", headers=lead).get_json()["items"]
    assert [i["title"] for i in items] == ["Disk full on db-1"]


def test_from_params_builds_the_same_filters_as_the_qualifier_text():
    params = {"status": "open,blocked", "priority": "p1", "owner": "me", "env": "prod", "q": "disk component:rds"}
    built = Filters.from_params(params)
    parsed = parse_query("status:open,blocked priority:p1 owner:me env:prod disk component:rds")
    assert built == parsed
    assert Filters.from_params({"status": "bogus"}).problems


# Titles are stripped by the service, so a leading tab or CR only reaches a cell through
# safe_cell's own test below.
DANGEROUS = ["=1+2", "+SUM(A1)", "-2+3", "@cmd", '=HYPERLINK("http://evil")']


@pytest.mark.parametrize("value", ["=1+2", "+1", "-1", "@x", "\tx", "\rx"])
def test_safe_cell_neutralises_each_formula_lead(value):
    assert safe_cell(value) == "'" + value
    assert safe_cell("plain -") == "plain -"


def _cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_csv_export_neutralises_formulas_for_tokens_and_the_dashboard(client, app, users, make_incident, lead):
    for index, title in enumerate(DANGEROUS):
        make_incident(title=title, component=f"c{index}", owner=None)
    exported = client.get("/api/v1/incidents?format=csv", headers=lead)
    assert exported.status_code == 200
    assert exported.mimetype == "text/csv"
    exported_text = exported.get_data(as_text=True)  # a streamed body: read it before the next request
    browser = app.test_client()
    sign_in(browser, users["member"])
    page = browser.get("/?q=c1").get_data(as_text=True)
    assert "Download CSV" in page
    assert "/incidents.csv?q=c1" in page
    from_dashboard = browser.get("/incidents.csv")
    assert from_dashboard.status_code == 200
    for text in (exported_text, from_dashboard.get_data(as_text=True)):
        rows = _cells(text)
        assert rows[0][0] == "key"
        titles = {row[1] for row in rows[1:]}
        assert titles == {"'" + t for t in DANGEROUS}
        assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for row in rows for cell in row)


def test_csv_export_keeps_the_dashboard_filters(app, users, make_incident):
    make_incident(title="Only P1", priority="P1", owner=None)
    make_incident(title="A P4", priority="P4", owner=None)
    browser = app.test_client()
    sign_in(browser, users["member"])
    rows = _cells(browser.get("/incidents.csv?priority=P1").get_data(as_text=True))
    assert [row[1] for row in rows[1:]] == ["Only P1"]


def test_csv_export_carries_the_due_date_so_overdue_incidents_can_be_picked_out(
    client, app, db, users, make_incident, lead
):
    due = timers.today() + timedelta(days=3)
    make_incident(title="Due soon", owner=None, due_date=due)
    overdue = make_incident(title="Overdue", owner=None, due_date=due)
    overdue.due_date = timers.today() - timedelta(days=2)  # set days ago, passed since (the service refuses a past one)
    db.commit()
    make_incident(title="No due date", owner=None)
    browser = app.test_client()
    sign_in(browser, users["member"])
    exported = client.get("/api/v1/incidents?format=csv", headers=lead).get_data(as_text=True)
    for text in (exported, browser.get("/incidents.csv").get_data(as_text=True)):
        header, *rows = _cells(text)
        assert header.index("due_date") == header.index("closed_at") + 1  # its place since it was added
        due_dates = {row[header.index("title")]: row[header.index("due_date")] for row in rows}
        assert due_dates == {
            "Due soon": due.isoformat(),
            "Overdue": (timers.today() - timedelta(days=2)).isoformat(),
            "No due date": "",
        }


def test_csv_export_carries_the_first_acknowledgement_and_a_dated_file_name(
    client, app, db, users, make_incident, lead
):
    """Found by a team lead: without the first move to In Progress, time to acknowledge (MTTA)
    could not be worked out in a spreadsheet; and every download was "incidents.csv"."""
    picked_up = make_incident(title="Picked up", owner=None)
    incidents.transition(
        session=db, incident_id=picked_up.id, actor=users["lead"], to="in_progress", expected_version=picked_up.version
    )
    db.commit()
    make_incident(title="Not yet", owner=None)
    browser = app.test_client()
    sign_in(browser, users["member"])
    downloads = []
    for download in (
        lambda: client.get("/api/v1/incidents?format=csv", headers=lead),
        lambda: browser.get("/incidents.csv"),
    ):
        response = download()  # a streamed body: read before the next request
        downloads.append((response.headers["Content-Disposition"], response.get_data(as_text=True)))
    for disposition, text in downloads:
        assert disposition == f'attachment; filename="incidents-{utcnow():%Y-%m-%d}.csv"'
        header, *rows = _cells(text)
        acknowledged = {row[header.index("title")]: row[header.index("acknowledged_at")] for row in rows}
        assert acknowledged["Not yet"] == ""
        assert acknowledged["Picked up"] == as_utc(picked_up.acknowledged_at).isoformat()


def test_a_csv_download_gives_its_database_connection_back(client, app, users, make_incident, lead):
    """Read after the view returned, the export used the request's session after teardown had
    closed it: each download kept a pooled connection until garbage collection (a busy export
    page could exhaust the pool)."""
    make_incident(title="Disk full", owner=None)
    pool = app.extensions["db_engine"].pool
    for path, headers in (("/api/v1/incidents?format=csv", lead), ("/incidents.csv", None)):
        browser = client if headers else app.test_client()
        if headers is None:
            sign_in(browser, users["lead"])
        for _ in range(3):
            response = browser.get(path, headers=headers)
            assert "Disk full" in response.get_data(as_text=True)
            response.close()  # what the server does once the body is sent
        assert pool.checkedout() == 0, f"{path}: {pool.checkedout()} connections still held after 3 downloads"


def test_the_api_forgives_a_typo_as_the_dashboard_does(client, app, users, make_incident, lead):
    """Found by QA: `certifcate` found the incident on the dashboard and nothing through
    GET /api/v1/incidents?q=… (same query language, said the README)."""
    make_incident(title="TLS certificate expired on api-gateway", owner=None)
    make_incident(title="Disk full on db-1", owner=None)
    listed = client.get("/api/v1/incidents?q=certifcate", headers=lead)
    assert [item["title"] for item in listed.get_json()["items"]] == ["TLS certificate expired on api-gateway"]
    exported = client.get("/api/v1/incidents?q=certifcate&format=csv", headers=lead).get_data(as_text=True)
    assert [row[1] for row in _cells(exported)[1:]] == ["TLS certificate expired on api-gateway"]
    # Words that match stay words: no similar-looking extras.
    assert [i["title"] for i in client.get("/api/v1/incidents?q=disk", headers=lead).get_json()["items"]] == [
        "Disk full on db-1"
    ]


def test_an_incident_says_when_it_was_first_acknowledged(client, db, users, make_incident, lead):
    """Found by QA: acknowledged_at was in the CSV but not in the API's incident, and
    in_progress_at moves on every return to In Progress (an unblock), so MTTA could not be read."""
    incident = make_incident(owner=None)
    assert client.get(f"/api/v1/incidents/{incident.key}", headers=lead).get_json()["acknowledged_at"] is None
    incidents.transition(session=db, incident_id=incident.id, actor=users["lead"], to="in_progress")
    db.commit()
    first = client.get(f"/api/v1/incidents/{incident.key}", headers=lead).get_json()
    assert first["acknowledged_at"] == first["in_progress_at"]
    incidents.transition(session=db, incident_id=incident.id, actor=users["lead"], to="blocked", reason="vendor")
    incidents.transition(session=db, incident_id=incident.id, actor=users["lead"], to="in_progress")
    db.commit()
    later = client.get(f"/api/v1/incidents/{incident.key}", headers=lead).get_json()
    assert later["acknowledged_at"] == first["acknowledged_at"]
    assert later["in_progress_at"] != first["in_progress_at"]


def test_an_incident_says_since_when_it_is_blocked_and_an_edit_does_not_move_it(client, db, users, make_incident, lead):
    """blocked_at is stamped by the move to Blocked only: a later change of priority leaves it."""
    incident = make_incident(owner=None)
    incidents.transition(session=db, incident_id=incident.id, actor=users["lead"], to="in_progress")
    incidents.transition(session=db, incident_id=incident.id, actor=users["lead"], to="blocked", reason="vendor")
    db.commit()
    blocked = client.get(f"/api/v1/incidents/{incident.key}", headers=lead).get_json()
    assert blocked["blocked_at"] is not None
    assert blocked["blocked_at"] >= blocked["in_progress_at"]
    incidents.change_priority(session=db, incident_id=incident.id, actor=users["lead"], priority="P1")
    db.commit()
    edited = client.get(f"/api/v1/incidents/{incident.key}", headers=lead).get_json()
    assert edited["updated_at"] > blocked["blocked_at"]
    assert edited["blocked_at"] == blocked["blocked_at"]
