"""Timers on the incident page, due dates and "Overdue", and the insights page."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from web_helpers import sign_in

from shared.incidents import timers
from shared.incidents.models import Incident


def _set(db, incident, **values) -> None:
    db.execute(update(Incident).where(Incident.id == incident.id).values(**values))
    db.commit()


def test_the_incident_page_shows_time_to_acknowledge_and_to_resolve(client, db, users, make_incident):
    incident = make_incident("resolved")
    created = timers.as_utc(incident.created_at)
    _set(db, incident, acknowledged_at=created + timedelta(minutes=12), resolved_at=created + timedelta(hours=3))
    waiting = make_incident("open", title="Nobody looked yet")
    sign_in(client, users["member"])

    page = client.get(f"/incidents/{incident.key}").get_data(as_text=True)
    assert "<dt>Time to acknowledge</dt><dd>12 min</dd>" in page
    assert "<dt>Time to resolve</dt><dd>3 h</dd>" in page
    page = client.get(f"/incidents/{waiting.key}").get_data(as_text=True)
    assert "Not acknowledged yet" in page and "Not resolved yet" in page


def test_times_are_time_elements_in_utc(client, users, make_incident):
    incident = make_incident("in_progress")
    sign_in(client, users["member"])
    page = client.get(f"/incidents/{incident.key}").get_data(as_text=True)
    created = timers.as_utc(incident.created_at)
    assert f'<time datetime="{created.isoformat()}">{created:%Y-%m-%d %H:%M} UTC</time>' in page


def test_due_date_set_on_the_page_and_overdue_shown_on_page_and_dashboard(client, db, users, make_incident):
    incident = make_incident("in_progress", owner="member")
    sign_in(client, users["member"])
    today = timers.today()
    response = client.post(
        f"/incidents/{incident.key}/due-date", data={"due_date": today.isoformat(), "version": incident.version}
    )
    assert response.status_code == 302
    page = client.get(f"/incidents/{incident.key}").get_data(as_text=True)
    assert f'<dt>Due</dt><dd><time datetime="{today.isoformat()}">' in page
    assert ">Overdue<" not in page

    _set(db, incident, due_date=today - timedelta(days=3))
    assert ">Overdue</strong>" in client.get(f"/incidents/{incident.key}").get_data(as_text=True)
    assert ">Overdue</strong>" in client.get("/").get_data(as_text=True)

    make_incident("resolved", title="Done in time")
    _set(db, incident, status="resolved")
    assert ">Overdue<" not in client.get("/").get_data(as_text=True)  # finished work is never overdue


def test_a_due_date_in_the_past_is_refused_beside_the_field(client, users, make_incident):
    incident = make_incident("open", owner="member")
    sign_in(client, users["member"])
    past = (timers.today() - timedelta(days=10)).isoformat()
    response = client.post(f"/incidents/{incident.key}/due-date", data={"due_date": past, "version": incident.version})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="due-date-error">Choose today or a later day as the due date.</p>' in page
    assert f'value="{past}"' in page  # what was typed is kept


def test_someone_unrelated_cannot_set_a_due_date(client, users, make_incident):
    incident = make_incident("open", owner="member")
    sign_in(client, users["other"])
    form = {"due_date": timers.today().isoformat(), "version": incident.version}
    response = client.post(f"/incidents/{incident.key}/due-date", data=form)
    assert response.status_code == 403


def test_a_new_incident_takes_a_due_date(client, db, users):
    sign_in(client, users["member"])
    due = (timers.today() + timedelta(days=2)).isoformat()
    response = client.post(
        "/incidents/new", data={"title": "Cert expires", "priority": "P2", "environment": "prod", "due_date": due}
    )
    assert response.status_code == 302
    assert f'datetime="{due}"' in client.get(response.headers["Location"]).get_data(as_text=True)


def test_insights_page_charts_and_tables(client, db, users, make_incident):
    incident = make_incident("resolved", priority="P1", component="rds")
    created = timers.as_utc(incident.created_at)
    _set(db, incident, acknowledged_at=created + timedelta(minutes=5), resolved_at=created + timedelta(hours=1))
    make_incident("open", priority="P2", component="alb")
    sign_in(client, users["member"])

    page = client.get("/insights?days=7").get_data(as_text=True)
    assert "<h1>Insights</h1>" in page
    assert '<option value="7" selected>Last 7 days</option>' in page
    assert page.count('role="img"') == 3
    assert "P1: 1 filed, MTTA 5 min, MTTR 1 h" in page  # the chart's text description
    assert '<tr><th scope="row">rds</th><td>1</td><td>1</td><td>5 min</td><td>1</td><td>1 h</td></tr>' in page
    assert "1 incident open now" in page
    assert client.get("/insights?days=9999").status_code == 200  # an odd window falls back to 30 days


def test_insights_needs_a_sign_in(client):
    response = client.get("/insights")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_a_past_due_date_on_a_new_incident_is_named_beside_the_field(client, users):
    sign_in(client, users["member"])
    past = (timers.today() - timedelta(days=30)).isoformat()
    response = client.post("/incidents/new", data={"title": "Cert expired", "environment": "prod", "due_date": past})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="due_date-error">Choose today or a later day as the due date.</p>' in page
    assert f'value="{past}"' in page
