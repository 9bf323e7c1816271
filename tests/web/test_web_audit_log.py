"""/audit, the audit log page: leads and admins read every event of the trail, filtered, paged
by cursor, and download it as a formula-safe CSV; members are refused; what events carry is shown
as escaped key: value text; a refused filter is named beside its field."""

from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import event
from web_helpers import sign_in, snapshot

from shared.accounts import service as accounts
from shared.db import utcnow
from shared.incidents import service as incidents
from web import csv_export
from web.audit import views as audit_views

PAGE = "/audit"
CSV = "/audit.csv"


def _rows(html: str) -> list[str]:
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in html else ""
    return re.findall(r"<tr>(.*?)</tr>", body, re.S)


def _actions(html: str) -> list[str]:
    return re.findall(r'<td data-label="Action"><code>([^<]+)</code>', html)


@pytest.mark.parametrize(
    ("who", "page", "download"),
    [(None, 302, 302), ("member", 403, 403), ("other", 403, 403), ("lead", 200, 200), ("admin", 200, 200)],
    ids=["anonymous", "member", "another-member", "lead", "admin"],
)
def test_leads_and_admins_read_the_audit_log_members_are_refused(client, db, users, who, page, download):
    if who:
        sign_in(client, users[who])
    before = snapshot(db)
    answer = client.get(PAGE)
    assert answer.status_code == page
    if page == 302:
        assert "/login" in answer.headers["Location"]
    assert client.get(CSV).status_code == download
    assert snapshot(db) == before  # reading the trail writes nothing


@pytest.mark.parametrize(("who", "shown"), [("member", False), ("lead", True), ("admin", True)])
def test_the_top_bar_links_the_audit_log_for_leads_and_admins_only(client, users, who, shown):
    sign_in(client, users[who])
    html = client.get("/").get_data(as_text=True)
    nav = html.split('<nav aria-label="Main">', 1)[1].split("</nav>", 1)[0]
    assert ('<a href="/audit">Audit log</a>' in nav) is shown


def test_the_page_lists_who_when_what_newest_first(client, db, users, make_incident):
    incident = make_incident("in_progress", reporter="lead", title="Disk full on db-1")
    accounts.change_role(session=db, actor=users["admin"], user_id=users["other"].id, role="lead")
    db.commit()
    sign_in(client, users["lead"])
    html = client.get(PAGE).get_data(as_text=True)
    rows = _rows(html)
    assert _actions(html)[:4] == [
        "user.role_changed",
        "incident.status_changed",
        "incident.assigned",
        "incident.created",
    ]
    role_change, status_change = rows[0], rows[1]
    assert "Ada Admin" in role_change
    assert "admin@example.com" in role_change
    assert "user 4" in role_change  # the entity: the user whose role changed
    assert '<span class="audit-key">from:</span> member' in role_change
    assert '<span class="audit-key">to:</span> lead' in role_change
    assert re.search(r'<time datetime="[^"]+\+00:00"[ >]', role_change)  # the reader's zone, by app.js
    link = f'incident <a href="/incidents/{incident.key}">{incident.key}</a>'
    assert link in status_change
    assert '<span class="audit-key">to:</span> in_progress' in status_change
    # The users were created by no one (the seed): the actor is the system.
    assert '<td data-label="Actor">System</td>' in _rows(html)[-1]
    assert "flask --app web audit verify" in html


def test_an_edit_reads_as_old_and_new_values_and_everything_is_escaped(client, db, users, make_incident):
    incident = make_incident(reporter="lead", title="<script>alert(1)</script> on db-1")
    incidents.update_details(
        session=db,
        incident_id=incident.id,
        actor=users["lead"],
        title='<img src=x onerror="alert(2)">',
        description="",
        component="",
        environment="prod",
    )
    db.commit()
    sign_in(client, users["admin"])
    html = client.get(PAGE, query_string={"action": "incident.edited"}).get_data(as_text=True)
    [row] = _rows(html)
    assert (
        '<span class="audit-key">changes.title:</span> &lt;script&gt;alert(1)&lt;/script&gt; on db-1 → '
        "&lt;img src=x onerror=&#34;alert(2)&#34;&gt;" in row
    )
    assert "<script>alert" not in html
    assert "<img src=x" not in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"action": "user."}, {"user.created", "user.role_changed"}),
        ({"action": "incident.priority_changed"}, {"incident.priority_changed"}),
        ({"actor": "lead@example.com"}, {"incident.created", "incident.assigned", "incident.priority_changed"}),
        ({"actor": "system"}, {"user.created"}),
        ({"entity_type": "user", "entity_id": "{other_id}"}, {"user.created", "user.role_changed"}),
        ({"incident": "{key}"}, {"incident.created", "incident.assigned", "incident.priority_changed"}),
        ({"to": "2000-01-01"}, set()),
    ],
    ids=["family", "action", "actor", "system", "entity", "incident", "window"],
)
def test_the_filter_form_narrows_the_list(client, db, users, make_incident, query, expected):
    incident = make_incident(reporter="lead")
    incidents.change_priority(session=db, incident_id=incident.id, actor=users["lead"], priority="P1")
    accounts.change_role(session=db, actor=users["admin"], user_id=users["other"].id, role="lead")
    db.commit()
    sign_in(client, users["lead"])
    values = {"other_id": users["other"].id, "key": incident.key}
    query = {name: value.format(**values) for name, value in query.items()}
    answer = client.get(PAGE, query_string=query)
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert set(_actions(html)) == expected
    for name, value in query.items():  # the form shows the filter in effect
        assert f'name="{name}" value="{value}"' in html or f'<option value="{value}" selected>' in html
    if not expected:
        assert "No audit events match these filters." in html


def test_a_filter_that_matches_nothing_known_is_named_beside_its_field(client, users):
    sign_in(client, users["lead"])
    answer = client.get(PAGE, query_string={"actor": "nobody@example.com", "from": "2026-13-01"})
    html = answer.get_data(as_text=True)
    assert answer.status_code == 400
    assert 'role="alert"' in html
    assert '<a href="#audit-actor">Actor</a>: No user with the email' in html
    assert 'id="audit-from" name="from" value="2026-13-01"' in html
    assert re.search(r'id="audit-from"[^>]*aria-invalid="true"', html)
    assert '<p class="field-error" id="audit-from-error">' in html
    assert "<tbody>" not in html  # no list drawn as if the filter had matched nothing
    assert client.get(CSV, query_string={"action": "usr."}).status_code == 400


def test_older_pages_follow_the_cursor_and_keep_the_filters(client, db, users, make_incident, monkeypatch):
    monkeypatch.setattr(audit_views, "PAGE_SIZE", 3)
    incident = make_incident(reporter="lead", owner=None)
    for n in range(7):
        incidents.add_comment(session=db, incident_id=incident.id, actor=users["member"], body=f"Update {n}")
    db.commit()
    sign_in(client, users["lead"])
    seen: list[str] = []
    url = f"{PAGE}?action=incident.commented"
    while url:
        html = client.get(url).get_data(as_text=True)
        seen.extend(re.findall(r"event (\d+)</span>", html))
        older = re.search(r'<a href="([^"]+)" rel="next">Older</a>', html)
        url = older.group(1).replace("&amp;", "&") if older else None
        if url:
            assert "action=incident.commented" in url
            assert "cursor=" in url
    assert len(seen) == 7
    assert seen == sorted(seen, key=int, reverse=True)
    assert ">Newest</a>" in html  # a way back to the first page


def test_a_page_costs_the_same_queries_for_few_or_many_actors(client, app, db, users, make_incident):
    sign_in(client, users["lead"])
    engine = app.extensions["db_engine"]
    counted: list[str] = []

    def count(_conn, _cursor, statement, _parameters, _context, _many):
        counted.append(statement)

    def queries() -> int:
        counted.clear()
        event.listen(engine, "before_cursor_execute", count)
        try:
            assert client.get(PAGE).status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(counted)

    few = queries()
    for who in ("member", "other", "lead", "admin"):
        incident = make_incident(reporter=who, owner=None)
        incidents.add_comment(session=db, incident_id=incident.id, actor=users[who], body="Seen.")
    db.commit()
    assert queries() == few


def test_download_csv_is_the_current_filter_formula_safe(client, db, users):
    for name in ('=HYPERLINK("http://evil")', "+1+2", "-2+3", "@SUM(A1)"):
        user = accounts.create_user(
            session=db,
            actor=users["admin"],
            email=f"{abs(hash(name))}@example.com",
            name=name,
            role="member",
            password="long-enough-password-1",
        )
        db.flush()
        incidents.create_incident(session=db, actor=user, title="=cmd|' /C calc'!A0")
    db.commit()
    sign_in(client, users["lead"])
    answer = client.get(CSV, query_string={"action": "incident.created"})
    assert answer.status_code == 200
    assert answer.mimetype == "text/csv"
    assert answer.headers["Content-Disposition"] == f'attachment; filename="audit-events-{utcnow():%Y-%m-%d}.csv"'
    rows = list(csv.reader(io.StringIO(answer.get_data(as_text=True))))
    assert rows[0] == list(csv_export.AUDIT_COLUMNS)
    assert {row[5] for row in rows[1:]} == {"incident.created"}
    names = {row[4] for row in rows[1:]}
    assert names == {'\'=HYPERLINK("http://evil")', "'+1+2", "'-2+3", "'@SUM(A1)"}
    for row in rows[1:]:
        assert not row[10].startswith(("=", "+", "-", "@"))
        assert '"title":"=cmd|' in row[10]  # the data, as JSON, intact inside its cell


def test_download_csv_stops_at_its_bound(client, db, users, monkeypatch):
    monkeypatch.setattr(csv_export, "MAX_ROWS", 2)
    sign_in(client, users["lead"])
    rows = list(csv.reader(io.StringIO(client.get(CSV).get_data(as_text=True))))
    assert len(rows) == 1 + 2  # the header, then the newest two of the four users' events
    html = client.get(PAGE).get_data(as_text=True)
    assert "Download CSV</a> of the whole trail:\n  the newest 10,000 events." in html


def test_a_csv_download_gives_its_database_connection_back(client, app, users):
    """Read after the view returned, as the incident CSV: in a session of its own, closed with the response."""
    sign_in(client, users["lead"])
    pool = app.extensions["db_engine"].pool
    for path in (CSV, "/api/v1/audit/events?format=csv"):
        token = client.get("/").get_data(as_text=True).split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
        for _ in range(3):
            response = client.get(path, headers={"X-CSRFToken": token})
            assert "lead@example.com" in response.get_data(as_text=True)
            response.close()
        assert pool.checkedout() == 0, f"{path}: {pool.checkedout()} connections still held after 3 downloads"
