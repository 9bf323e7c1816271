"""Watch, Change priority and Add comment say what they did on the page drawn next (app.js
puts keyboard focus there): they landed on the page with no word at all (found by QA)."""

from __future__ import annotations

import re

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


def test_assign_says_to_whom_and_from_whom(client, db, users, make_incident):
    """Assign came back without a word (focus on <body>), found by QA."""
    incident = make_incident("open", owner=None)
    sign_in(client, users["lead"])
    url = f"/incidents/{incident.key}/assign"
    given = client.post(url, data={"owner": users["member"].id, "version": incident.version})
    assert _flash(client, given) == f"{incident.key} is now assigned to {users['member'].name} (was unassigned)."
    db.refresh(incident)
    moved = client.post(url, data={"owner": users["admin"].id, "version": incident.version})
    assert _flash(client, moved) == (
        f"{incident.key} is now assigned to {users['admin'].name} (was {users['member'].name})."
    )
    db.refresh(incident)
    again = client.post(url, data={"owner": users["admin"].id, "version": incident.version})
    assert _flash(client, again) == f"{incident.key} is already assigned to {users['admin'].name}."
    db.refresh(incident)
    cleared = client.post(url, data={"owner": "", "version": incident.version})
    assert _flash(client, cleared) == f"{incident.key} is now unassigned (was {users['admin'].name})."


def test_save_due_date_says_the_day_and_the_one_before(client, db, users, make_incident):
    incident = make_incident("open")
    sign_in(client, users["lead"])
    url = f"/incidents/{incident.key}/due-date"
    set_ = client.post(url, data={"due_date": "2099-12-31", "version": incident.version})
    assert _flash(client, set_) == f"{incident.key} is now due 2099-12-31 (was no due date)."
    db.refresh(incident)
    same = client.post(url, data={"due_date": "2099-12-31", "version": incident.version})
    assert _flash(client, same) == f"{incident.key} is already due 2099-12-31."
    db.refresh(incident)
    cleared = client.post(url, data={"due_date": "", "version": incident.version})
    assert _flash(client, cleared) == f"{incident.key} has no due date now (was 2099-12-31)."


def test_edit_details_says_it_saved_or_that_nothing_changed(client, db, users, make_incident):
    incident = make_incident("open", title="Disk full on db-1")
    sign_in(client, users["lead"])
    form = client.get(f"/incidents/{incident.key}/edit").get_data(as_text=True)
    fields = {
        name: value
        for name, value in re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', form)
        if name != "csrf_token"
    }
    fields.update(title="Disk full on db-1 and db-2", description=incident.description or "")
    saved = client.post(f"/incidents/{incident.key}/edit", data=fields)
    assert _flash(client, saved) == f"Saved your changes to {incident.key}."
    db.refresh(incident)
    fields["version"] = str(incident.version)
    unchanged = client.post(f"/incidents/{incident.key}/edit", data=fields)
    assert _flash(client, unchanged) == f"Nothing changed in {incident.key}."
