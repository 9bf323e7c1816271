"""Filing an incident and working it from its page: the new-incident form, transition
buttons per role, refusals that change nothing, conflicts, the timeline and editing."""

from __future__ import annotations

import re
from html import unescape

import pytest
from web_helpers import PASSWORD, counts, reload, row_keys, sign_in, snapshot, tags, texts, timeline, version

from shared.accounts import service as accounts
from shared.incidents import service as incidents
from shared.incidents.models import Incident

HTMX = {"HX-Request": "true"}
VALID = {
    "title": "Disk full on db-1",
    "description": "`/var/lib/postgresql` at **100%**",
    "priority": "P1",
    "component": "rds",
    "environment": "prod",
    "owner": "",
}


# --- New incident --------------------------------------------------------------------------


def test_new_incident_redirects_to_its_page(client, db, users):
    sign_in(client, users["member"])
    response = client.post("/incidents/new", data=VALID)
    assert response.status_code == 302
    incident = db.query(Incident).one()
    assert response.headers["Location"] == f"/incidents/{incident.key}"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Disk full on db-1" in page
    assert "<strong>100%</strong>" in page
    assert (incident.priority, incident.component, incident.environment, incident.status) == (
        "P1",
        "rds",
        "prod",
        "open",
    )
    assert incident.reporter_id == users["member"].id


def test_new_incident_from_the_dialog_returns_the_row_and_triggers_an_event(client, db, users):
    sign_in(client, users["member"])
    response = client.post("/incidents/new", data=VALID, headers={**HTMX, "HX-Current-URL": "http://localhost/"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert response.headers["HX-Trigger"] == "incidentCreated"
    assert "<html" not in html
    key = db.query(Incident).one().key
    assert row_keys(html) == [key]
    assert f'<a href="/incidents/{key}">{key}</a> created' in html
    fresh_title = [attrs for tag, attrs in tags(html) if attrs.get("name") == "title"]
    assert fresh_title
    assert not fresh_title[0].get("value")


def _filing_key(html: str) -> str:
    return next(attrs["value"] for tag, attrs in tags(html) if attrs.get("name") == "filing_key")


def test_a_new_incident_form_sent_twice_files_one_incident(client, db, users):
    """A double click, or Back and Create again, on the page without JavaScript."""
    sign_in(client, users["member"])
    sent = dict(VALID, filing_key=_filing_key(client.get("/incidents/new").get_data(as_text=True)))
    first = client.post("/incidents/new", data=sent)
    again = client.post("/incidents/new", data=sent)
    incident = db.query(Incident).one()
    assert first.headers["Location"] == again.headers["Location"] == f"/incidents/{incident.key}"
    page = client.get(again.headers["Location"]).get_data(as_text=True)
    assert f"{incident.key} was already created from this form; nothing new was filed." in unescape(page)


def test_the_dialog_sent_twice_files_one_incident_and_adds_no_second_row(client, db, users):
    sign_in(client, users["member"])
    sent = dict(VALID, filing_key=_filing_key(client.get("/").get_data(as_text=True)))
    headers = {**HTMX, "HX-Current-URL": "http://localhost/"}
    first = client.post("/incidents/new", data=sent, headers=headers).get_data(as_text=True)
    again = client.post("/incidents/new", data=sent, headers=headers).get_data(as_text=True)
    key = db.query(Incident).one().key
    assert row_keys(first) == [key]
    assert row_keys(again) == []
    assert f'<a href="/incidents/{key}">{key}</a> was already created from this form' in again
    assert _filing_key(again) not in (sent["filing_key"], _filing_key(first))  # the next one is new


def test_a_form_changed_after_going_back_files_a_new_incident(client, db, users):
    sign_in(client, users["member"])
    sent = dict(VALID, filing_key=_filing_key(client.get("/incidents/new").get_data(as_text=True)))
    client.post("/incidents/new", data=sent)
    client.post("/incidents/new", data=dict(sent, title="Disk full on db-2"))
    assert sorted(i.title for i in db.query(Incident)) == ["Disk full on db-1", "Disk full on db-2"]


def test_a_refused_form_keeps_its_key_and_the_corrected_one_files(client, db, users):
    sign_in(client, users["member"])
    key = _filing_key(client.get("/incidents/new").get_data(as_text=True))
    refused = client.post("/incidents/new", data=dict(VALID, title="", filing_key=key))
    assert refused.status_code == 422
    assert _filing_key(refused.get_data(as_text=True)) == key
    assert client.post("/incidents/new", data=dict(VALID, filing_key=key)).status_code == 302
    assert db.query(Incident).count() == 1


def _comment_key(html: str) -> str:
    return next(attrs["value"] for tag, attrs in tags(html) if attrs.get("name") == "comment_key")


def test_back_and_add_comment_again_posts_the_comment_once(client, db, users, make_incident):
    """Found by QA: Back after posting kept the text in the box, and Add comment posted it (and
    mailed it) a second time."""
    incident = make_incident()
    sign_in(client, users["lead"])
    url = f"/incidents/{incident.key}"
    sent = {
        "body": "Rolling back deploy 4821 now.",
        "comment_key": _comment_key(client.get(url).get_data(as_text=True)),
    }
    first = client.post(f"{url}/comments", data=sent)
    again = client.post(f"{url}/comments", data=sent)
    assert first.headers["Location"] == again.headers["Location"]
    assert first.headers["Location"].startswith(f"{url}#comment-")
    page = client.get(url).get_data(as_text=True)
    assert "That comment was already posted; it was not added again." in unescape(page)
    assert unescape(page).count("Rolling back deploy 4821 now.") == 1
    assert _comment_key(page) != sent["comment_key"]  # the page drawn next is a new comment


def test_the_same_comment_form_edited_after_back_posts_a_second_comment(client, db, users, make_incident):
    incident = make_incident()
    sign_in(client, users["lead"])
    url = f"/incidents/{incident.key}"
    key = _comment_key(client.get(url).get_data(as_text=True))
    client.post(f"{url}/comments", data={"body": "First update", "comment_key": key})
    client.post(f"{url}/comments", data={"body": "Second update", "comment_key": key})
    page = client.get(url).get_data(as_text=True)
    assert "First update" in page
    assert "Second update" in page


def test_a_refused_comment_keeps_its_key(client, db, users, make_incident):
    incident = make_incident()
    sign_in(client, users["lead"])
    url = f"/incidents/{incident.key}"
    key = _comment_key(client.get(url).get_data(as_text=True))
    refused = client.post(f"{url}/comments", data={"body": "  ", "comment_key": key})
    assert refused.status_code == 422
    assert _comment_key(refused.get_data(as_text=True)) == key


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "dialog"])
def test_invalid_new_incident_names_the_fields_and_keeps_what_was_typed(client, db, users, htmx):
    sign_in(client, users["member"])
    typed = dict(VALID, title="   ", component="RDS Cluster!", priority="P2", environment="staging")
    typed["description"] = "Writer at <100% & rising>"
    response = client.post("/incidents/new", data=typed, headers=HTMX if htmx else {})
    html = response.get_data(as_text=True)

    assert response.status_code == 422
    assert ("<html" in html) is not htmx
    assert "Give the incident a title." in html
    assert "Use lower-case letters, digits" in html
    elements = tags(html)
    assert {"name": "component", "value": "RDS Cluster!"}.items() <= _attrs(elements, "component").items()
    assert _attrs(elements, "component").get("aria-invalid") == "true"
    assert "Writer at &lt;100% &amp; rising&gt;</textarea>" in html
    assert re.search(r'<option selected value="P2">|<option value="P2" selected>', html)
    assert re.search(r'<option selected value="staging">|<option value="staging" selected>', html)
    assert db.query(Incident).count() == 0


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("title", "", "Give the incident a title."),
        ("title", "x" * 201, "The title is too long: use at most 200 characters."),
        ("component", "rds cluster", "Use lower-case letters, digits"),
        ("priority", "P9", "Choose a priority from P1 (highest) to P4."),
        ("environment", "moon", "Choose one of: prod, staging, dev"),
    ],
    ids=["no-title", "long-title", "bad-component", "unknown-priority", "unknown-environment"],
)
def test_each_invalid_field_is_named(client, db, users, field, value, message):
    sign_in(client, users["member"])
    response = client.post("/incidents/new", data=dict(VALID, **{field: value}))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in html
    assert f'id="{field}-error"' in html
    assert db.query(Incident).count() == 0


def test_a_member_cannot_make_someone_else_the_owner(client, db, users):
    sign_in(client, users["member"])
    response = client.post("/incidents/new", data=dict(VALID, owner=str(users["other"].id)))
    assert response.status_code == 422
    assert "Members can only make themselves the owner" in response.get_data(as_text=True)
    assert db.query(Incident).count() == 0


def _offers_the_draft_back(html: str) -> bool:
    form = next(attrs for tag, attrs in tags(html) if tag == "form" and attrs.get("id") == "new-incident-form")
    return "data-draft-restore" in form


@pytest.mark.parametrize(
    ("next_", "offered"),
    [("/incidents/new", True), ("/", False), ("/incidents/new?x=1", True), (None, False)],
)
def test_only_the_new_incident_page_a_sign_in_returns_to_puts_the_draft_back_and_only_once(
    client, users, next_, offered
):
    """An expired session sends a New incident submission through the sign-in page and back to
    the form; that drawing (and no later one) tells app.js to put the browser's draft back."""
    query = {"next": next_} if next_ else {}
    response = client.post("/login", query_string=query, data={"email": users["member"].email, "password": PASSWORD})
    assert response.status_code == 302
    assert _offers_the_draft_back(client.get("/incidents/new").get_data(as_text=True)) is offered
    assert not _offers_the_draft_back(client.get("/incidents/new").get_data(as_text=True))
    assert not _offers_the_draft_back(client.post("/incidents/new", data=dict(VALID, title="")).get_data(as_text=True))


def test_new_incident_owner_choices_follow_the_role(client, users):
    sign_in(client, users["member"])
    member_choices = _owner_options(client.get("/incidents/new").get_data(as_text=True))
    assert member_choices == {"", str(users["member"].id)}
    sign_in(client, users["lead"])
    lead_choices = _owner_options(client.get("/incidents/new").get_data(as_text=True))
    assert lead_choices == {""} | {str(user.id) for user in users.values()}


def _attrs(elements, name: str) -> dict[str, str]:
    return next(attrs for tag, attrs in elements if attrs.get("name") == name and tag != "label")


def _owner_options(html: str) -> set[str]:
    select = html.split('name="owner"')[1].split("</select>")[0]
    return set(re.findall(r'value="([^"]*)"', select))


# --- Incident page -------------------------------------------------------------------------

ACTORS = {"member-owner": "member", "member-unrelated": "other", "lead": "lead", "admin": "admin"}
# status -> buttons shown to (member-owner, member-unrelated, lead, admin)
BUTTONS = {
    "open": (["In Progress"], [], ["In Progress", "Closed"], ["In Progress", "Closed"]),
    "in_progress": (["Blocked", "Resolved"], [], ["Blocked", "Resolved"], ["Blocked", "Resolved"]),
    "blocked": (["In Progress", "Resolved"], [], ["In Progress", "Resolved"], ["In Progress", "Resolved"]),
    "resolved": (["Reopen"], [], ["Closed", "Reopen"], ["Closed", "Reopen"]),
    "closed": ([], [], ["Reopen"], ["Reopen"]),
}
BUTTON_CASES = [
    pytest.param(status, actor, expected, id=f"{status}-{actor}")
    for status, row in BUTTONS.items()
    for actor, expected in zip(ACTORS, row, strict=True)
]


def _transition_buttons(html: str) -> list[str]:
    forms = html.split('class="transition"')[1:]
    return [texts(form.split("</form>")[0], "button")[0] for form in forms]


@pytest.mark.parametrize(("status", "actor", "expected"), BUTTON_CASES)
def test_transition_buttons_are_exactly_the_allowed_moves(client, users, make_incident, status, actor, expected):
    incident = make_incident(status, reporter="lead", owner="member")
    sign_in(client, users[ACTORS[actor]])
    html = client.get(f"/incidents/{incident.key}").get_data(as_text=True)
    assert _transition_buttons(html) == expected
    can_assign = actor in ("lead", "admin")
    assert (f'action="/incidents/{incident.key}/assign"' in html) is can_assign
    assert (f'action="/incidents/{incident.key}/priority"' in html) is can_assign
    assert ("Edit details" in html) is (actor != "member-unrelated")


@pytest.mark.parametrize(
    ("status", "to", "message"),
    [
        ("in_progress", "blocked", "Say why {key} moves to Blocked."),
        ("in_progress", "resolved", "Write a resolution summary: what fixed it."),
        ("resolved", "in_progress", "Say why {key} is reopened."),
    ],
)
def test_a_move_that_needs_a_reason_is_refused_without_one(client, db, users, make_incident, status, to, message):
    incident = make_incident(status)
    sign_in(client, users["member"])
    before = snapshot(db)
    response = client.post(
        f"/incidents/{incident.key}/transition", data={"to": to, "reason": "  ", "version": incident.version}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message.format(key=incident.key) in html
    assert 'aria-invalid="true"' in html  # beside the field that needs it
    assert snapshot(db) == before


def test_blocked_with_a_reason_moves_and_shows_the_reason(client, db, users, make_incident):
    incident = make_incident("in_progress")
    sign_in(client, users["member"])
    response = client.post(
        f"/incidents/{incident.key}/transition",
        data={"to": "blocked", "reason": "Waiting on AWS support case 42", "version": incident.version},
    )
    assert response.status_code == 302
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert texts(html, "span", "id", "current-status") == ["Blocked"]
    assert "Waiting on AWS support case 42" in html
    assert reload(db, incident).status == "blocked"


def test_a_stale_version_is_a_conflict_and_changes_nothing(app, db, users, make_incident):
    incident = make_incident("open")
    member, lead = app.test_client(), app.test_client()
    sign_in(member, users["member"])
    sign_in(lead, users["lead"])
    page_version = incident.version  # what the member's open page carries

    assert (
        lead.post(f"/incidents/{incident.key}/priority", data={"priority": "P1", "version": page_version}).status_code
        == 302
    )
    before, events = snapshot(db), counts(db)

    response = member.post(f"/incidents/{incident.key}/transition", data={"to": "in_progress", "version": page_version})
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert f"{incident.key} was changed by someone else since you opened it." in html
    assert "You are now looking at the latest version" in html
    assert snapshot(db) == before
    assert counts(db) == events
    assert reload(db, incident).status == "open"
    assert reload(db, incident).priority == "P1"  # the lead's change stands


def _drawn(client, incident) -> dict[str, str]:
    """The version and newest event the incident page's forms carry when it is opened."""
    html = client.get(f"/incidents/{incident.key}").get_data(as_text=True)
    return {
        "version": re.search(r'name="version" value="(\d+)"', html).group(1),
        "seen_event": re.search(r'name="seen_event" value="(\d+)"', html).group(1),
    }


@pytest.mark.parametrize(
    ("who", "says"),
    [
        ("lead", "Lee Lead changed {key} since you opened it."),
        ("member", "You changed {key} in another tab or window since this page was drawn."),
    ],
    ids=["someone-else", "you-in-another-tab"],
)
def test_a_stale_quick_action_on_the_incident_page_names_who_changed_it(app, db, users, make_incident, who, says):
    """Found by QA: the edit form named who saved meanwhile, the page's own actions (move,
    priority, due date) still said "someone else", also to the person themselves."""
    incident = make_incident("open", owner="member")
    member, other_tab = app.test_client(), app.test_client()
    sign_in(member, users["member"])
    sign_in(other_tab, users[who])
    opened = _drawn(member, incident)
    changed = other_tab.post(
        f"/incidents/{incident.key}/due-date", data={"due_date": "2099-01-31", **_drawn(other_tab, incident)}
    )
    assert changed.status_code == 302

    response = member.post(f"/incidents/{incident.key}/transition", data={"to": "in_progress", **opened})
    assert response.status_code == 409
    said = unescape(response.get_data(as_text=True))
    assert says.format(key=incident.key) + " What changed: due date edited. You are now looking at the latest" in said
    assert reload(db, incident).status == "open"


def test_an_illegal_move_is_refused_with_the_moves_there_are(client, db, users, make_incident):
    incident = make_incident("open")
    sign_in(client, users["lead"])
    before = snapshot(db)
    response = client.post(
        f"/incidents/{incident.key}/transition", data={"to": "resolved", "reason": "done", "version": incident.version}
    )
    assert response.status_code == 409
    assert "it cannot move to Resolved. From Open: In Progress, Closed." in response.get_data(as_text=True)
    assert snapshot(db) == before


def test_quick_status_from_a_row_answers_with_the_row(client, db, users, make_incident):
    incident = make_incident("in_progress")
    sign_in(client, users["member"])
    path = f"/incidents/{incident.key}/transition"

    row = {"from_row": "1", "version": incident.version}
    refused = client.post(path, data={"to": "blocked", **row}, headers=HTMX)
    assert refused.status_code == 422
    assert row_keys(refused.get_data(as_text=True)) == [incident.key]
    assert "Say why" in refused.get_data(as_text=True)
    assert reload(db, incident).status == "in_progress"

    moved = client.post(path, data={"to": "blocked", "reason": "Vendor", **row}, headers=HTMX)
    html = moved.get_data(as_text=True)
    assert moved.status_code == 200
    assert "<html" not in html
    assert f"{incident.key} is now Blocked." in html
    assert reload(db, incident).status == "blocked"


def test_timeline_shows_every_event_with_its_actor_in_order(client, db, users, make_incident):
    incident = make_incident("open", reporter="lead", owner="member")
    sign_in(client, users["member"])
    key = incident.key
    client.post(f"/incidents/{key}/transition", data={"to": "in_progress", "version": version(db, incident)})
    client.post(f"/incidents/{key}/comments", data={"body": "Failing over to the replica."})
    client.post(
        f"/incidents/{key}/transition",
        data={"to": "blocked", "reason": "Replica lagging 20 min", "version": version(db, incident)},
    )
    sign_in(client, users["lead"])
    client.post(f"/incidents/{key}/priority", data={"priority": "P1", "version": version(db, incident)})

    html = client.get(f"/incidents/{key}").get_data(as_text=True)
    assert timeline(html) == [
        "Lee Lead created the incident (P3, prod)",
        "Lee Lead assigned it to Mo Member",
        "Mo Member changed status from Open to In Progress",
        "Mo Member commented: Failing over to the replica.",
        "Mo Member changed status from In Progress to Blocked: Replica lagging 20 min",
        "Lee Lead changed priority from P3 to P1",
    ]
    stamps = texts(html.split('class="timeline"')[1], "time")
    assert len(stamps) == 6
    # To the second, without JavaScript too: a postmortem orders events a few seconds apart.
    assert all(re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$", stamp) for stamp in stamps)


def test_comment_and_watch(client, db, users, make_incident):
    incident = make_incident("open", reporter="lead", owner="lead")
    sign_in(client, users["other"])
    key = incident.key
    empty = client.post(f"/incidents/{key}/comments", data={"body": "   "})
    assert empty.status_code == 422
    assert "Write something to comment." in empty.get_data(as_text=True)

    assert "1 watching" in client.get(f"/incidents/{key}").get_data(as_text=True)
    assert client.post(f"/incidents/{key}/watch", data={"watching": "1"}).status_code == 302
    html = client.get(f"/incidents/{key}").get_data(as_text=True)
    assert "2 watching" in html
    assert ">Unwatch</button>" in html
    assert client.post(f"/incidents/{key}/watch", data={"watching": "0"}).status_code == 302
    html = client.get(f"/incidents/{key}").get_data(as_text=True)
    assert "1 watching" in html
    assert ">Watch</button>" in html
    assert timeline(html)[-2:] == ["Oti Other started watching", "Oti Other stopped watching"]


def test_assign_and_priority_by_a_lead(client, db, users, make_incident):
    incident = make_incident("open", owner=None)
    sign_in(client, users["lead"])
    key = incident.key
    assign = {"owner": str(users["other"].id), "version": version(db, incident)}
    assert client.post(f"/incidents/{key}/assign", data=assign).status_code == 302
    assert (
        client.post(f"/incidents/{key}/priority", data={"priority": "P2", "version": version(db, incident)}).status_code
        == 302
    )
    bad = client.post(f"/incidents/{key}/priority", data={"priority": "P7", "version": version(db, incident)})
    assert bad.status_code == 422
    assert 'role="alert"' in bad.get_data(as_text=True)
    fresh = reload(db, incident)
    assert (fresh.owner_id, fresh.priority) == (users["other"].id, "P2")
    assert users["other"].id in fresh.watcher_ids()


def test_assigning_a_disabled_user_says_why(client, db, users, make_incident):
    incident = make_incident("open", owner=None)
    sign_in(client, users["lead"])
    client.get(f"/incidents/{incident.key}")  # the page offers "other"...
    accounts.set_active(session=db, actor=None, user_id=users["other"].id, active=False)  # ...who is then disabled
    db.commit()
    before = snapshot(db)
    response = client.post(
        f"/incidents/{incident.key}/assign", data={"owner": str(users["other"].id), "version": incident.version}
    )
    assert response.status_code == 422
    assert snapshot(db) == before
    assert "Choose an active user as owner." in response.get_data(as_text=True)


def test_edit_details_with_errors_then_success(client, db, users, make_incident):
    incident = make_incident("open", reporter="lead", owner="member")
    sign_in(client, users["member"])
    path = f"/incidents/{incident.key}/edit"
    form = client.get(path).get_data(as_text=True)
    assert 'value="RDS primary CPU pinned at 100%"' in form

    before = snapshot(db)
    bad = client.post(path, data={"title": "", "component": "rds", "environment": "prod", "version": incident.version})
    assert bad.status_code == 422
    assert "Give the incident a title." in bad.get_data(as_text=True)
    assert snapshot(db) == before

    unknown_env = client.post(
        path, data={"title": "RDS CPU pinned", "component": "rds", "environment": "moon", "version": incident.version}
    )
    assert unknown_env.status_code == 422
    assert "Choose one of: prod, staging, dev" in unknown_env.get_data(as_text=True)
    assert snapshot(db) == before

    good = client.post(
        path,
        data={
            "title": "RDS CPU pinned",
            "description": "After deploy",
            "component": "rds",
            "environment": "prod",
            "version": incident.version,
        },
    )
    assert good.status_code == 302
    html = client.get(good.headers["Location"]).get_data(as_text=True)
    assert "edited title from “RDS primary CPU pinned at 100%” to “RDS CPU pinned”" in html


def test_an_unknown_incident_is_404_with_a_message(client, users):
    sign_in(client, users["member"])
    response = client.get("/incidents/INC-999")
    assert response.status_code == 404
    assert "No incident INC-999." in response.get_data(as_text=True)


def test_a_transition_made_elsewhere_shows_on_the_page(client, db, users, make_incident):
    incident = make_incident("open")
    incidents.transition(session=db, incident_id=incident.id, actor=users["lead"], to="closed", reason="Duplicate")
    db.commit()
    sign_in(client, users["member"])
    html = client.get(f"/incidents/{incident.key}").get_data(as_text=True)
    assert texts(html, "span", "id", "current-status") == ["Closed"]
    assert timeline(html)[-1] == "Lee Lead changed status from Open to Closed: Duplicate"
