"""Watch, Change priority and Add comment say what they did on the page drawn next (app.js
puts keyboard focus there): they landed on the page with no word at all (found by QA)."""

from __future__ import annotations

from web_helpers import sign_in


def _flash(client, response) -> str:
    assert response.status_code == 302
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    return html.split('<p class="flash" role="status">')[1].split("</p>")[0]


def test_watch_and_unwatch_say_so(client, users, make_incident):
    incident = make_incident("open", reporter="member", owner=None)
    sign_in(client, users["lead"])
    watch = client.post(f"/incidents/{incident.key}/watch", data={"watching": "1"})
    assert _flash(client, watch) == f"You are watching {incident.key}."
    unwatch = client.post(f"/incidents/{incident.key}/watch", data={"watching": "0"})
    assert _flash(client, unwatch) == f"You are no longer watching {incident.key}."


def test_change_priority_says_what_changed_or_that_nothing_did(client, db, users, make_incident):
    incident = make_incident("open", priority="P3")
    sign_in(client, users["lead"])
    raised = client.post(f"/incidents/{incident.key}/priority", data={"priority": "P1", "version": incident.version})
    assert _flash(client, raised) == f"Priority of {incident.key} is now P1 (was P3)."
    db.refresh(incident)
    again = client.post(f"/incidents/{incident.key}/priority", data={"priority": "P1", "version": incident.version})
    assert _flash(client, again) == f"Priority of {incident.key} is already P1."


def test_add_comment_says_so_and_lands_on_the_comment(client, users, make_incident):
    incident = make_incident("open")
    sign_in(client, users["member"])
    response = client.post(f"/incidents/{incident.key}/comments", data={"body": "Paged the payments team"})
    assert "#comment-" in response.headers["Location"]
    assert _flash(client, response) == "Comment added."
