"""The dashboard at a shift handover lists an incident only commented on this shift under
`updated:12h sort:recent`, first, and its Updated column says when that comment was written (the
ordering the page shows, not the incident's own change three days ago). The live dashboard's
marker moves with the comment, so open dashboards redraw."""

from __future__ import annotations

import re
from datetime import timedelta

from web_helpers import row_keys, sign_in

from shared.db import clock_at, utcnow
from shared.incidents import service as incidents


def _updated_cell(html: str, key: str) -> str:
    row = re.search(rf'<tr id="row-{key}".*?</tr>', html, re.S)
    assert row is not None
    cell = re.search(r'data-label="Updated"><time datetime="([^"]+)"', row[0])
    assert cell is not None
    return cell[1]


def test_a_comment_this_shift_puts_the_incident_first_with_its_time(client, db, users, make_incident):
    now = utcnow().replace(microsecond=0)
    with clock_at(now - timedelta(days=3)):
        discussed = make_incident(reporter="lead", owner=None, title="Replica lag on the writer")
    with clock_at(now - timedelta(hours=4)):
        edited = make_incident(reporter="lead", owner=None, title="Queue backlog growing")
    sign_in(client, users["member"])
    marker = client.get("/changes").headers["ETag"]
    with clock_at(now - timedelta(hours=1)):
        incidents.add_comment(session=db, incident_id=discussed.id, actor=users["lead"], body="Failover done.")
    db.commit()

    polled = client.get("/changes", headers={"If-None-Match": marker})
    assert polled.status_code != 304
    assert polled.headers["ETag"] != marker
    with clock_at(now):
        page = client.get("/", query_string={"q": "updated:12h sort:recent"}).get_data(as_text=True)
        quiet = client.get("/", query_string={"q": "-updated:2d"}).get_data(as_text=True)
    assert row_keys(page) == [discussed.key, edited.key]
    assert _updated_cell(page, discussed.key) == (now - timedelta(hours=1)).isoformat()
    assert discussed.key not in row_keys(quiet)


def test_the_incident_pages_updated_is_the_dashboards_too(client, db, users, make_incident):
    """Found by QA: after a comment the dashboard's Updated said today and the incident page's
    Details still said three days ago: "Updated" is the last activity on both."""
    now = utcnow().replace(microsecond=0)
    with clock_at(now - timedelta(days=3)):
        incident = make_incident(reporter="lead", owner=None, title="Replica lag on the writer")
    with clock_at(now - timedelta(hours=1)):
        incidents.add_comment(session=db, incident_id=incident.id, actor=users["lead"], body="Failover done.")
    db.commit()
    sign_in(client, users["member"])
    listed = _updated_cell(client.get("/").get_data(as_text=True), incident.key)
    page = client.get(f"/incidents/{incident.key}").get_data(as_text=True)
    details = re.search(r'<dt>Updated</dt><dd><time datetime="([^"]+)"', page)
    assert details is not None
    assert details[1] == listed
    assert listed.startswith((now - timedelta(hours=1)).strftime("%Y-%m-%dT%H"))
