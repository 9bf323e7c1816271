"""Follow-ups on the incident page without JavaScript: plain forms with their CSRF token, each
post back to the section's notice (#follow-up-notice), a refused one drawn again with the
problem beside its field, and the timeline saying what happened in words."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from web_helpers import csrf_token_from, label_for, parse, sign_in, snapshot, timeline

from shared.incidents import follow_ups as service
from shared.incidents import timers
from shared.incidents.models import FollowUp

SECTION = "/incidents/{key}#follow-up-notice"


def _page(client, incident):
    response = client.get(f"/incidents/{incident.key}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _section(html: str):
    return parse(html).find("section", id="follow-ups")


def _button_names(html: str) -> list[str]:
    return [button.text for button in _section(html).find_all("button")]


def _add(db, users, incident, who="member", title="Add replica lag alert", **more):
    item = service.add_follow_up(session=db, actor=users[who], incident_id=incident.id, title=title, **more)
    db.commit()
    return item


def test_a_member_adds_a_follow_up_and_lands_back_on_the_section(client, db, users, make_incident):
    incident = make_incident("in_progress", owner="other")  # not theirs: anyone who comments may
    sign_in(client, users["member"])
    due = (timers.today() + timedelta(days=7)).isoformat()

    response = client.post(
        f"/incidents/{incident.key}/follow-ups",
        data={"title": "Add replica lag alert", "owner": str(users["other"].id), "due_date": due},
    )

    assert response.status_code == 302
    assert response.headers["Location"] == SECTION.format(key=incident.key)
    html = _page(client, incident)
    section = _section(html)
    assert "Add replica lag alert" in section.text
    assert "Owned by Oti Other" in section.text
    assert f"Due {due}" in section.text
    assert "Open" in section.text
    # The notice after the redirect, in the section (where the address puts focus).
    assert section.find("p", id="follow-up-notice").text == "Added the follow-up “Add replica lag alert”."
    assert "Mo Member added the follow-up “Add replica lag alert” (owner Oti Other, due " + due + ")" in timeline(html)


def test_the_section_is_labelled_and_every_control_names_its_follow_up(client, db, users, make_incident):
    incident = make_incident("open")
    _add(db, users, incident, title="Rotate the leaked key")
    sign_in(client, users["member"])
    html = _page(client, incident)

    section = _section(html)
    assert section.attrs["aria-labelledby"] == "follow-ups-heading"
    assert section.attrs["tabindex"] == "-1"  # where a post's redirect puts focus
    assert section.find("h2", id="follow-ups-heading").text == "Follow-ups"
    assert _button_names(html) == [
        "☐ Mark done “Rotate the leaked key”",  # the box is aria-hidden: read as "Mark done “…”"
        "Save follow-up “Rotate the leaked key”",
        "Delete follow-up “Rotate the leaked key”",  # its creator, while it is open
        "Add follow-up",
    ]
    assert section.find("summary").text == "Edit follow-up “Rotate the leaked key”"
    assert label_for(html, "new-follow-up-title") == "Title"
    # Not "Owner" and "Due date": those name the incident's own controls on the same page.
    assert label_for(html, "new-follow-up-owner") == "Owned by"
    assert label_for(html, "new-follow-up-due") == "Due on"
    title = section.find("input", id="new-follow-up-title")
    assert (title.attrs["maxlength"], "required" in title.attrs) == ("200", True)


def test_ticking_done_then_reopening(client, db, users, make_incident):
    incident = make_incident("open")
    item = _add(db, users, incident, title="Rotate the leaked key")
    sign_in(client, users["other"])

    response = client.post(f"/incidents/{incident.key}/follow-ups/{item.id}/done", data={"done": "1"})
    assert response.headers["Location"] == SECTION.format(key=incident.key)
    html = _page(client, incident)
    assert "☑ Reopen “Rotate the leaked key”" in _button_names(html)
    assert _section(html).find("li", id=f"follow-up-{item.id}").find("span", class_="follow-up-state").text == "Done"
    assert "Oti Other marked the follow-up “Rotate the leaked key” done" in timeline(html)

    client.post(f"/incidents/{incident.key}/follow-ups/{item.id}/done", data={"done": "0"})
    html = _page(client, incident)
    assert "☐ Mark done “Rotate the leaked key”" in _button_names(html)
    assert "Oti Other reopened the follow-up “Rotate the leaked key”" in timeline(html)


def test_editing_title_owner_and_due_date(client, db, users, make_incident):
    incident = make_incident("open")
    item = _add(db, users, incident, owner_id=users["member"].id)
    sign_in(client, users["lead"])
    due = (timers.today() + timedelta(days=2)).isoformat()

    response = client.post(
        f"/incidents/{incident.key}/follow-ups/{item.id}/edit",
        data={"title": "Alert on replica lag > 30 s", "owner": "", "due_date": due, "version": str(item.version)},
    )

    assert response.status_code == 302
    html = _page(client, incident)
    assert "Owned by nobody" in _section(html).text
    assert (
        f"Lee Lead edited the follow-up “Add replica lag alert”: title from “Add replica lag alert” to "
        f"“Alert on replica lag > 30 s”, owner from Mo Member to nobody, due date from none to {due}"
    ) in timeline(html)


def test_an_edit_from_a_stale_page_is_refused_and_says_so(client, db, users, make_incident):
    incident = make_incident("open")
    item = _add(db, users, incident)
    drawn = item.version
    service.update_follow_up(session=db, actor=users["lead"], incident_id=incident.id, follow_up_id=item.id, title="A")
    db.commit()
    sign_in(client, users["member"])
    response = client.post(
        f"/incidents/{incident.key}/follow-ups/{item.id}/edit",
        data={"title": "B", "owner": "", "due_date": "", "version": str(drawn)},
    )
    assert response.status_code == 409
    assert "Someone else changed the follow-up “A” since you opened this page." in response.get_data(as_text=True)
    assert db.get(FollowUp, item.id).title == "A"


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"title": ""}, "new-follow-up-title", "Give the follow-up a title: what is to be done."),
        ({"title": "x" * 201}, "new-follow-up-title", "The title is too long: use at most 200 characters."),
        ({"title": "ok", "owner": "99999"}, "new-follow-up-owner", "Choose an active user as the follow-up"),
        ({"title": "ok", "due_date": "someday"}, "new-follow-up-due", "Enter the due date as a date, e.g. 2026-12-31."),
    ],
)
def test_a_refused_follow_up_comes_back_with_the_problem_beside_its_field(
    client, db, users, make_incident, data, field, message
):
    incident = make_incident("open")
    sign_in(client, users["member"])
    before = snapshot(db)

    response = client.post(f"/incidents/{incident.key}/follow-ups", data=data)

    assert response.status_code == 422
    html = response.get_data(as_text=True)
    control = _section(html).find(id=field)
    assert control.attrs["aria-invalid"] == "true"
    assert message in _section(html).find(id=control.attrs["aria-describedby"]).text
    assert "Check the follow-up" not in html  # the field says it (and takes focus), not the top of the page
    # What was typed is kept; the incident's own due date form is not marked.
    assert _section(html).find("input", id="new-follow-up-title").attrs["value"] == data["title"]
    assert 'id="due-date-error"' not in html
    assert snapshot(db) == before


def test_delete_is_offered_to_its_creator_while_open_and_to_leads(client, db, users, make_incident):
    incident = make_incident("open")
    mine = _add(db, users, incident, "member", title="Mine")
    done = _add(db, users, incident, "member", title="Done one")
    service.set_done(session=db, actor=users["member"], incident_id=incident.id, follow_up_id=done.id, done=True)
    theirs = _add(db, users, incident, "other", title="Theirs")
    db.commit()

    sign_in(client, users["member"])
    names = _button_names(_page(client, incident))
    assert "Delete follow-up “Mine”" in names
    assert "Delete follow-up “Done one”" not in names
    assert "Delete follow-up “Theirs”" not in names
    refused = client.post(f"/incidents/{incident.key}/follow-ups/{theirs.id}/delete")
    assert refused.status_code == 403
    assert "Only whoever added a follow-up (while it is open), a lead or an admin can delete it." in refused.get_data(
        as_text=True
    )

    response = client.post(
        f"/incidents/{incident.key}/follow-ups/{mine.id}/delete", data={"confirm": "1", "version": str(mine.version)}
    )
    assert response.headers["Location"] == SECTION.format(key=incident.key)
    html = _page(client, incident)
    assert _section(html).find("p", id="follow-up-notice").text == "Deleted the follow-up “Mine”."
    assert f'id="follow-up-{mine.id}"' not in html
    assert "Mo Member deleted the follow-up “Mine”" in timeline(html)

    lead = client.application.test_client()
    sign_in(lead, users["lead"])
    names = _button_names(_page(lead, incident))
    assert {"Delete follow-up “Done one”", "Delete follow-up “Theirs”"} <= set(names)


@pytest.mark.parametrize("status", ["resolved", "closed"])
def test_a_resolved_or_closed_incident_says_how_many_follow_ups_are_open(client, db, users, make_incident, status):
    incident = make_incident(status)
    _add(db, users, incident, title="One")
    _add(db, users, incident, title="Two")
    done = _add(db, users, incident, title="Three")
    service.set_done(session=db, actor=users["lead"], incident_id=incident.id, follow_up_id=done.id, done=True)
    db.commit()
    sign_in(client, users["member"])
    html = _page(client, incident)
    assert _section(html).find("p", class_="follow-ups-open").text == "2 open follow-ups"
    # A closed incident still takes follow-ups.
    response = client.post(f"/incidents/{incident.key}/follow-ups", data={"title": "Four"})
    assert response.status_code == 302
    assert "3 open follow-ups" in _page(client, incident)


def test_an_active_incident_does_not_count_its_open_follow_ups_up_top(client, db, users, make_incident):
    incident = make_incident("in_progress")
    _add(db, users, incident)
    sign_in(client, users["member"])
    assert "follow-ups-open" not in _page(client, incident)


def test_no_follow_ups_yet(client, db, users, make_incident):
    incident = make_incident("open")
    sign_in(client, users["member"])
    assert "No follow-ups yet." in _section(_page(client, incident)).text


def test_a_follow_up_of_another_incident_is_not_found(client, db, users, make_incident):
    first, second = make_incident("open"), make_incident("open")
    item = _add(db, users, first)
    sign_in(client, users["lead"])
    response = client.post(f"/incidents/{second.key}/follow-ups/{item.id}/done", data={"done": "1"})
    assert response.status_code == 404
    assert not db.get(FollowUp, item.id).is_done


def test_a_title_is_only_text_on_the_page(client, db, users, make_incident):
    incident = make_incident("open")
    _add(db, users, incident, title="<script>alert(1)</script> **bold**")
    sign_in(client, users["member"])
    html = _page(client, incident)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; **bold**" in html


# -- CSRF: the same protection as every other form -----------------------------------------------


@pytest.mark.parametrize("action", ["add", "done", "edit", "delete"])
def test_a_follow_up_post_without_its_csrf_token_is_refused(csrf_app, db, users, make_incident, action):
    incident = make_incident("open")
    item = _add(db, users, incident, "lead")
    client = csrf_app.test_client()
    sign_in(client, users["lead"])
    paths = {
        "add": (f"/incidents/{incident.key}/follow-ups", {"title": "Forged"}),
        "done": (f"/incidents/{incident.key}/follow-ups/{item.id}/done", {"done": "1"}),
        "edit": (f"/incidents/{incident.key}/follow-ups/{item.id}/edit", {"title": "Forged", "version": "1"}),
        "delete": (f"/incidents/{incident.key}/follow-ups/{item.id}/delete", {"confirm": "1", "version": "1"}),
    }
    path, data = paths[action]
    before = snapshot(db)

    response = client.post(path, data=data)

    assert response.status_code == 400
    assert "CSRF token is missing" in response.get_data(as_text=True)
    assert snapshot(db) == before
    # With the page's token the same post goes through.
    token = csrf_token_from(client.get(f"/incidents/{incident.key}").get_data(as_text=True))
    assert client.post(path, data={**data, "csrf_token": token}).status_code == 302


def test_every_follow_up_form_carries_a_csrf_token(csrf_app, db, users, make_incident):
    incident = make_incident("open")
    _add(db, users, incident, "lead")
    client = csrf_app.test_client()
    sign_in(client, users["lead"])
    section = _section(client.get(f"/incidents/{incident.key}").get_data(as_text=True))
    forms = section.find_all("form")
    assert len(forms) == 4  # done, edit, delete, add
    for form in forms:
        assert form.attrs["method"] == "post"
        assert re.match(r"^/incidents/INC-\d+/follow-ups", form.attrs["action"])
        assert form.find("input", name="csrf_token").attrs["value"]
