"""The incident page's timeline is drawn once and kept in a per-process cache
(web/incidents/timeline.py, timeline_html). What a person sees must not depend on it: new
events and comments, renamed people and redactions show on the next view, and each viewer's
Redact forms carry their own CSRF token."""

from __future__ import annotations

import re

from sqlalchemy import update
from web_helpers import csrf_token_from, login, sign_in, timeline

from shared.accounts.models import User
from shared.incidents import service as incidents
from web.incidents import timeline as timeline_module


def test_a_timeline_seen_before_shows_every_change_made_since(client, db, users, make_incident):
    incident = make_incident("open")
    incidents.add_comment(session=db, incident_id=incident.id, actor=users["member"], body="First look: disk at 97%")
    db.commit()
    sign_in(client, users["lead"])
    first = timeline(client.get(f"/incidents/{incident.key}").get_data(as_text=True))
    assert any(entry.startswith("Mo Member commented: First look") for entry in first), first

    incidents.add_comment(session=db, incident_id=incident.id, actor=users["lead"], body="Rotating the logs now")
    db.commit()
    second = timeline(client.get(f"/incidents/{incident.key}").get_data(as_text=True))
    assert len(second) == len(first) + 1
    assert any("Rotating the logs now" in entry for entry in second), second

    # A rename adds no event: the people it names are part of what the cache is keyed by.
    db.execute(update(User).where(User.id == users["member"].id).values(name="Mo Renamed"))
    db.commit()
    third = timeline(client.get(f"/incidents/{incident.key}").get_data(as_text=True))
    assert any(entry.startswith("Mo Renamed commented: First look") for entry in third), third


def test_each_admin_gets_redact_forms_with_their_own_csrf_token(csrf_app, db, users, make_incident):
    incident = make_incident("open")
    incidents.add_comment(session=db, incident_id=incident.id, actor=users["member"], body="token=abc123abc123")
    db.commit()
    tokens = []
    for _ in range(2):  # two sessions of the same admin: two tokens, one cached timeline
        client = csrf_app.test_client()
        login(client, users["admin"].email)
        page = client.get(f"/incidents/{incident.key}").get_data(as_text=True)
        section = page.split('aria-label="Timeline"')[1]
        form_token = re.search(r'name="csrf_token" value="([^"]+)"', section).group(1)
        assert form_token == csrf_token_from(page)
        tokens.append(form_token)
    assert tokens[0] != tokens[1]


def test_the_second_view_is_drawn_from_the_cache_which_holds_no_token(client, users, make_incident):
    incident = make_incident("open")
    sign_in(client, users["admin"])
    client.get(f"/incidents/{incident.key}")
    hits = timeline_module.TIMELINE_CACHE.hits
    page = client.get(f"/incidents/{incident.key}").get_data(as_text=True)
    assert timeline_module.TIMELINE_CACHE.hits > hits
    token = csrf_token_from(page)
    assert all(token not in html for html in timeline_module.TIMELINE_CACHE._entries.values())
