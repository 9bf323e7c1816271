"""Issue 8, defect 2: one click must not close an incident. The dashboard row's quick status
control preselects nothing, Closed asks first, moves that need text ask for it in the row,
and the row says what happened with an Undo where the lifecycle allows the move back."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html import unescape

import pytest
from web_helpers import label_for, reload, row_keys, sign_in, tags, texts

HTMX = {"HX-Request": "true"}


def _row(html: str, key: str) -> str:
    return html.split(f'id="row-{key}"')[1].split("</tr>")[0]


def _post_row(client, incident, db, **data):
    return client.post(
        f"/incidents/{incident.key}/transition",
        data={"from_row": "1", "version": reload(db, incident).version, **data},
        headers=HTMX,
    )


def test_the_row_control_preselects_no_move(client, users, make_incident):
    incident = make_incident("resolved")
    sign_in(client, users["lead"])
    row = _row(client.get("/").get_data(as_text=True), incident.key)
    options = [(attrs.get("value"), "selected" in attrs) for tag, attrs in tags(row) if tag == "option"]
    assert options == [("", True), ("closed", False), ("in_progress", False)]


def test_closing_from_a_row_asks_first_and_changes_nothing_until_confirmed(client, db, users, make_incident):
    incident = make_incident("resolved")
    sign_in(client, users["lead"])

    asked = _post_row(client, incident, db, to="closed")
    html = asked.get_data(as_text=True)
    assert asked.status_code == 200
    assert row_keys(html) == [incident.key]
    assert f"Close {incident.key}?" in html
    assert f"Yes, close {incident.key}" in texts(html, "button")
    assert reload(db, incident).status == "resolved"

    done = _post_row(client, incident, db, to="closed", confirm="1")
    assert done.status_code == 200
    assert f"{incident.key} is now Closed." in done.get_data(as_text=True)
    assert reload(db, incident).status == "closed"


def test_a_move_that_needs_text_asks_for_it_in_the_row_by_name(client, db, users, make_incident):
    incident = make_incident("in_progress")
    sign_in(client, users["member"])
    response = _post_row(client, incident, db, to="blocked")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert label_for(html, f"reason-{incident.key}") == f"Reason for blocking {incident.key}"
    field = next(attrs for tag, attrs in tags(html) if tag == "input" and attrs.get("name") == "reason")
    assert field.get("id") == f"reason-{incident.key}", "the label names the reason field"
    assert field.get("aria-invalid") == "true"
    assert "hidden" not in field
    selected = [attrs.get("value") for tag, attrs in tags(html) if tag == "option" and "selected" in attrs]
    assert selected == ["blocked"]  # the choice is kept


def test_apply_with_no_choice_says_so(client, db, users, make_incident):
    incident = make_incident("open")
    sign_in(client, users["lead"])
    response = _post_row(client, incident, db, to="")
    assert response.status_code == 422
    assert f"Choose a new status for {incident.key} first." in response.get_data(as_text=True)


def test_a_move_with_a_way_back_offers_undo_and_undo_moves_it_back(client, db, users, make_incident):
    incident = make_incident("in_progress")
    sign_in(client, users["member"])
    moved = _post_row(client, incident, db, to="blocked", reason="Waiting on the vendor")
    html = moved.get_data(as_text=True)
    assert f"{incident.key} is now Blocked." in html
    undo_form = re.search(r"<form[^>]*>(?:(?!</form>).)*>Undo</button>\s*</form>", html, re.S).group(0)
    fields = {attrs["name"]: attrs.get("value") for tag, attrs in tags(undo_form) if tag == "input"}
    assert fields["to"] == "in_progress"

    undone = client.post(f"/incidents/{incident.key}/transition", data=fields, headers=HTMX)
    assert undone.status_code == 200
    assert f"{incident.key} is back to In Progress." in undone.get_data(as_text=True)
    assert ">Undo</button>" not in undone.get_data(as_text=True)
    assert reload(db, incident).status == "in_progress"


@pytest.mark.parametrize(
    ("status", "reason", "move", "field"),
    [
        ("blocked", "Waiting for the DBA", "in_progress", "blocked_reason"),
        ("resolved", "Rolled back deploy 4821", "in_progress", "resolution_summary"),
    ],
)
def test_undo_back_to_blocked_or_resolved_brings_back_its_words(
    client, db, users, make_incident, status, reason, move, field
):
    """Found by QA: undoing an unblock left "Blocked because: Undo of the move to In Progress"
    (and mailed it), the reason typed at the time lost."""
    incident = make_incident("in_progress")
    sign_in(client, users["lead"])
    _post_row(client, incident, db, to=status, reason=reason)
    moved = _post_row(client, incident, db, to=move, reason="Reopened: errors again" if status == "resolved" else "")
    undo_form = re.search(r"<form[^>]*>(?:(?!</form>).)*>Undo</button>\s*</form>", moved.get_data(as_text=True), re.S)
    fields = {attrs["name"]: attrs.get("value") for tag, attrs in tags(undo_form.group(0)) if tag == "input"}
    assert client.post(f"/incidents/{incident.key}/transition", data=fields, headers=HTMX).status_code == 200
    back = reload(db, incident)
    assert back.status == status
    assert getattr(back, field) == reason


def test_an_unblock_undone_on_the_row_is_blocked_since_the_first_block(client, db, users, make_incident):
    """Found in the carried-over list: the Undo restarted "In status for" (Blocked since the
    Undo); an edit of a blocked incident did too. The row and the incident page say since when."""
    incident = make_incident("in_progress")
    sign_in(client, users["lead"])
    _post_row(client, incident, db, to="blocked", reason="Waiting for the DBA")
    blocked = reload(db, incident)
    blocked.blocked_at = datetime(2026, 11, 30, 6, 30, tzinfo=UTC)  # blocked the morning before
    db.commit()
    moved = _post_row(client, incident, db, to="in_progress")
    undo_form = re.search(r"<form[^>]*>(?:(?!</form>).)*>Undo</button>\s*</form>", moved.get_data(as_text=True), re.S)
    fields = {attrs["name"]: attrs.get("value") for tag, attrs in tags(undo_form.group(0)) if tag == "input"}
    assert client.post(f"/incidents/{incident.key}/transition", data=fields, headers=HTMX).status_code == 200
    row = _row(client.get("/").get_data(as_text=True), incident.key)
    assert 'datetime="2026-11-30T06:30:00+00:00" data-relative="Blocked since"' in row
    page = client.get(f"/incidents/{incident.key}").get_data(as_text=True)
    assert re.search(r"<dt>Blocked since</dt><dd><time datetime=\"2026-11-30T06:30:00", page)


def test_closing_offers_no_undo(client, db, users, make_incident):
    incident = make_incident("resolved")
    sign_in(client, users["lead"])
    html = _post_row(client, incident, db, to="closed", confirm="1").get_data(as_text=True)
    assert ">Undo</button>" not in html


def test_cancel_gives_the_row_back_unchanged(client, db, users, make_incident):
    incident = make_incident("resolved")
    sign_in(client, users["lead"])
    response = client.get(f"/incidents/{incident.key}/row", headers=HTMX)
    assert response.status_code == 200
    assert row_keys(response.get_data(as_text=True)) == [incident.key]
    assert "<html" not in response.get_data(as_text=True)


def test_without_javascript_the_row_answers_with_a_whole_page(client, db, users, make_incident):
    incident = make_incident("resolved")
    sign_in(client, users["lead"])
    data = {"from_row": "1", "to": "closed", "version": incident.version}

    asked = client.post(f"/incidents/{incident.key}/transition", data=data)
    html = asked.get_data(as_text=True)
    assert asked.status_code == 200
    assert "<html" in html
    assert "<h1" in html
    assert f"Close {incident.key}?" in html
    assert 'href="/"' in html  # a way back to the list
    # Each cell of the row sits under its own column heading (a screen reader reads them out).
    headings = texts(html, "th")
    cells = re.findall(r"<td[ >]", _row(html, incident.key))
    assert len(headings) == len(cells)
    assert headings[-4:] == ["Age", "In status for", "Updated", "Change status"]

    done = client.post(f"/incidents/{incident.key}/transition", data={**data, "confirm": "1"})
    assert "<html" in done.get_data(as_text=True)
    assert f"{incident.key} is now Closed." in done.get_data(as_text=True)


@pytest.mark.parametrize(
    ("who", "says"),
    [
        ("lead", "Lee Lead changed {key} since you opened it."),
        ("member", "You changed {key} in another tab or window since this page was drawn."),
    ],
    ids=["someone-else", "you-in-another-tab"],
)
def test_a_stale_row_move_names_who_changed_the_incident(app, db, users, make_incident, who, says):
    """Found by QA: the incident page named who changed an incident meanwhile, a dashboard row
    still said "someone else". The list names the newest event it was drawn after (data-seen-event,
    which app.js sends with a row's move); the events since then name the people."""
    incident = make_incident("open", owner="member")
    member, other_tab = app.test_client(), app.test_client()
    sign_in(member, users["member"])
    sign_in(other_tab, users[who])
    listed = member.get("/").get_data(as_text=True)
    seen_event = re.search(r'data-seen-event="(\d+)"', listed).group(1)
    drawn_version = re.search(r'name="version" value="(\d+)"', _row(listed, incident.key)).group(1)
    assert (
        other_tab.post(
            f"/incidents/{incident.key}/due-date", data={"due_date": "2099-01-31", "version": drawn_version}
        ).status_code
        == 302
    )

    refused = member.post(
        f"/incidents/{incident.key}/transition",
        data={"from_row": "1", "version": drawn_version, "seen_event": seen_event, "to": "in_progress"},
        headers=HTMX,
    )
    assert refused.status_code == 409
    said = unescape(refused.get_data(as_text=True))
    assert says.format(key=incident.key) + " What changed: due date edited. You are now looking at the latest" in said
    assert reload(db, incident).status == "open"


def test_closing_a_row_someone_changed_since_it_was_drawn_is_refused_before_the_question(app, db, users, make_incident):
    """Found by QA: Closed asked "Close INC-n?" with the current version in its form, so the
    confirmation closed an incident the person had not seen as it was."""
    incident = make_incident("resolved")
    lead, admin = app.test_client(), app.test_client()
    sign_in(lead, users["lead"])
    sign_in(admin, users["admin"])
    listed = lead.get("/").get_data(as_text=True)
    seen_event = re.search(r'data-seen-event="(\d+)"', listed).group(1)
    drawn = re.search(r'name="version" value="(\d+)"', _row(listed, incident.key)).group(1)
    assert (
        admin.post(f"/incidents/{incident.key}/priority", data={"priority": "P1", "version": drawn}).status_code == 302
    )

    asked = lead.post(
        f"/incidents/{incident.key}/transition",
        data={"from_row": "1", "version": drawn, "seen_event": seen_event, "to": "closed"},
        headers=HTMX,
    )
    html = unescape(asked.get_data(as_text=True))
    assert asked.status_code == 409
    assert f"Ada Admin changed {incident.key} since you opened it." in html
    assert f"Close {incident.key}?" not in html
    assert reload(db, incident).status == "resolved"


def test_a_row_answered_to_a_move_carries_its_own_marker(app, db, users, make_incident):
    """Found by QA: after a move in this tab, a later refusal said "(and you, in another tab)":
    the answer's row now says which event it was drawn after, and app.js sends that."""
    incident = make_incident("in_progress", owner="member")
    member, lead = app.test_client(), app.test_client()
    sign_in(member, users["member"])
    sign_in(lead, users["lead"])
    moved = _post_row(member, incident, db, to="blocked", reason="Waiting on the vendor")
    row_marker = re.search(r'<tr id="row-[^"]+"[^>]*data-seen-event="(\d+)"', moved.get_data(as_text=True)).group(1)
    drawn = reload(db, incident).version
    assert (
        lead.post(f"/incidents/{incident.key}/priority", data={"priority": "P1", "version": drawn}).status_code == 302
    )

    undo = member.post(
        f"/incidents/{incident.key}/transition",
        data={"from_row": "1", "version": drawn, "seen_event": row_marker, "to": "in_progress", "undo": "1"},
        headers=HTMX,
    )
    assert undo.status_code == 409
    said = unescape(undo.get_data(as_text=True))
    assert f"Lee Lead changed {incident.key} since you opened it." in said
    assert "another tab" not in said


def test_a_row_move_that_is_no_longer_offered_is_refused_in_the_row_not_a_500(app, db, users, make_incident):
    """Found by a security probe: a row drawn while the incident was Resolved, reopened meanwhile,
    then Closed from the row answered 500 (the chosen move was not among the row's moves)."""
    incident = make_incident("resolved")
    lead, admin = app.test_client(), app.test_client()
    sign_in(lead, users["lead"])
    sign_in(admin, users["admin"])
    listed = lead.get("/").get_data(as_text=True)
    seen_event = re.search(r'data-seen-event="(\d+)"', listed).group(1)
    drawn = re.search(r'name="version" value="(\d+)"', _row(listed, incident.key)).group(1)
    reopened = admin.post(
        f"/incidents/{incident.key}/transition", data={"to": "in_progress", "reason": "Still failing", "version": drawn}
    )
    assert reopened.status_code == 302

    closed = lead.post(
        f"/incidents/{incident.key}/transition",
        data={
            "from_row": "1",
            "version": drawn,
            "seen_event": seen_event,
            "to": "closed",
            "reason": "dup",
            "confirm": "1",
        },
        headers=HTMX,
    )
    assert closed.status_code == 409
    assert f"Ada Admin changed {incident.key} since you opened it." in unescape(closed.get_data(as_text=True))
    assert reload(db, incident).status == "in_progress"


def test_a_member_forging_a_close_from_a_row_is_refused_not_a_500(client, db, users, make_incident):
    incident = make_incident("open")
    sign_in(client, users["member"])
    forged = _post_row(client, incident, db, to="closed", reason="dup", confirm="1")
    assert forged.status_code in (403, 409)
    assert reload(db, incident).status == "open"


def test_a_refused_stale_move_says_what_changed(app, db, users, make_incident):
    """Found by an on-call walk: "Lee Lead changed INC-33 since you opened it" left the person to
    find what changed on the page (the priority had gone P2 → P1)."""
    incident = make_incident("in_progress", owner="member", priority="P3")
    member, lead, admin = app.test_client(), app.test_client(), app.test_client()
    sign_in(member, users["member"])
    sign_in(lead, users["lead"])
    sign_in(admin, users["admin"])
    page = member.get(f"/incidents/{incident.key}").get_data(as_text=True)
    seen_event = re.search(r'name="seen_event" value="(\d+)"', page).group(1)
    drawn = reload(db, incident).version
    lead.post(f"/incidents/{incident.key}/priority", data={"priority": "P1", "version": drawn})
    admin.post(
        f"/incidents/{incident.key}/assign",
        data={"owner": str(users["other"].id), "version": reload(db, incident).version},
    )

    refused = member.post(
        f"/incidents/{incident.key}/transition",
        data={"to": "blocked", "reason": "Waiting on the vendor", "version": drawn, "seen_event": seen_event},
        follow_redirects=True,
    )
    said = unescape(refused.get_data(as_text=True))
    assert (
        f"Lee Lead and Ada Admin changed {incident.key} since you opened it. What changed: "
        f"Lee Lead: priority P3 → P1; Ada Admin: owner Mo Member → {users['other'].name}."
    ) in said
    assert reload(db, incident).status == "in_progress"


def test_a_row_refused_after_an_edit_names_the_fields(app, db, users, make_incident):
    incident = make_incident("resolved")
    lead, admin = app.test_client(), app.test_client()
    sign_in(lead, users["lead"])
    sign_in(admin, users["admin"])
    listed = lead.get("/").get_data(as_text=True)
    seen_event = re.search(r'data-seen-event="(\d+)"', listed).group(1)
    drawn = re.search(r'name="version" value="(\d+)"', _row(listed, incident.key)).group(1)
    edit = admin.get(f"/incidents/{incident.key}/edit").get_data(as_text=True)
    fields = dict(re.findall(r'name="(title|component|environment|priority|version)" value="([^"]*)"', edit))
    saved = admin.post(
        f"/incidents/{incident.key}/edit",
        data={
            **fields,
            "title": "Checkout 502s from the EU edge",
            "description": "Edge pool drained.",
            "csrf_token": "",
        },
    )
    assert saved.status_code in (200, 302)

    closed = lead.post(
        f"/incidents/{incident.key}/transition",
        data={"from_row": "1", "version": drawn, "seen_event": seen_event, "to": "closed", "confirm": "1"},
        headers=HTMX,
    )
    assert closed.status_code == 409
    said = unescape(closed.get_data(as_text=True))
    assert f"Ada Admin changed {incident.key} since you opened it. What changed: title and description edited." in said
