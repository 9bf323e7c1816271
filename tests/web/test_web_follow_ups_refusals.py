"""Follow-ups on the incident page, QA's findings (without JavaScript): an owner whose account
was disabled since survives an edit of the title (and the incident's own owner survives its
Assign); a refused edit or delete comes back beside the form concerned, naming who changed the
follow-up, with what was typed kept; Delete asks first, and a reload of a refused Yes never
deletes what changed since; who marked a follow-up done, on the page and in the export; the
open count is plain text."""

from __future__ import annotations

import pytest
from web_helpers import Element, parse, sign_in, timeline

from shared.accounts import service as accounts
from shared.incidents import follow_ups as service
from shared.incidents.models import FollowUp, Incident


def _page(client, incident) -> str:
    response = client.get(f"/incidents/{incident.key}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _section(html: str) -> Element:
    return parse(html).find("section", id="follow-ups")


def _item(html: str, item) -> Element:
    return _section(html).find("li", id=f"follow-up-{item.id}")


def _add(db, users, incident, who="member", title="Add replica lag alert", **more):
    item = service.add_follow_up(session=db, actor=users[who], incident_id=incident.id, title=title, **more)
    db.commit()
    return item


def _disable(db, users, who: str) -> None:
    accounts.set_active(session=db, actor=users["admin"], user_id=users[who].id, active=False)
    db.commit()


def _as_drawn(form: Element, **typed: str) -> dict[str, str]:
    """What the browser sends for `form` as the page drew it, with `typed` filled in."""
    data = {}
    for control in form.find_all():
        name = control.attrs.get("name")
        if not name:
            continue
        if control.tag == "input":
            data[name] = control.attrs.get("value", "")
        elif control.tag == "select":
            options = control.find_all("option")
            chosen = [option for option in options if "selected" in option.attrs] or options[:1]
            data[name] = chosen[0].attrs.get("value", "")
    return data | typed


def _selected(select: Element) -> str:
    return next(option.text for option in select.find_all("option") if "selected" in option.attrs)


def _refusal(html: str) -> Element:
    return _section(html).find("p", id="follow-up-refusal")


def _top_error(html: str) -> list[Element]:
    """A refusal drawn at the top of the page (outside every section)."""
    main = parse(html).find("main")
    return [child for child in main.children if isinstance(child, Element) and "error" in child.attrs.get("class", "")]


# -- 1. An owner disabled since -----------------------------------------------------------------


def test_editing_only_the_title_keeps_an_owner_whose_account_was_disabled_since(client, db, users, make_incident):
    incident = make_incident("open")
    item = _add(db, users, incident, owner_id=users["other"].id)
    _disable(db, users, "other")
    sign_in(client, users["lead"])

    form = _item(_page(client, incident), item).find("form", class_="follow-up-form")
    owner = form.find("select", name="owner")
    assert _selected(owner) == "Oti Other (other@example.com, disabled)"
    response = client.post(form.attrs["action"], data=_as_drawn(form, title="Alert on replica lag"))

    assert response.status_code == 302
    db.expire_all()
    assert db.get(FollowUp, item.id).owner_id == users["other"].id
    html = _page(client, incident)
    assert "Owned by Oti Other" in _item(html, item).text
    assert "Lee Lead edited the follow-up “Add replica lag alert”: title from “Add replica lag alert” to " in (
        " ".join(timeline(html))
    )
    assert "owner from" not in " ".join(timeline(html))
    # Only the owner it already has: a disabled account is not offered, nor taken, as a new one.
    other = _add(db, users, incident, title="Unowned")
    other_form = _item(_page(client, incident), other).find("form", class_="follow-up-form")
    assert "disabled" not in other_form.find("select", name="owner").text
    refused = client.post(other_form.attrs["action"], data=_as_drawn(other_form, owner=str(users["other"].id)))
    assert refused.status_code == 422
    assert "Choose an active user as the follow-up" in refused.get_data(as_text=True)


def test_the_incident_owner_picker_keeps_an_owner_disabled_since(client, db, users, make_incident):
    incident = make_incident("in_progress", owner="other")
    _disable(db, users, "other")
    sign_in(client, users["lead"])

    html = _page(client, incident)
    owner = parse(html).find("select", id="assign-owner")
    assert _selected(owner) == "Oti Other (other@example.com, disabled)"
    form = next(f for f in parse(html).find_all("form") if f.attrs.get("action", "").endswith("/assign"))
    response = client.post(form.attrs["action"], data=_as_drawn(form))

    assert response.status_code == 302
    db.expire_all()
    assert db.get(Incident, incident.id).owner_id == users["other"].id


# -- 2. Refusals come back to the section ---------------------------------------------------------


def test_a_stale_edit_names_who_changed_it_beside_the_open_form_with_what_was_typed(client, db, users, make_incident):
    incident = make_incident("open")
    item = _add(db, users, incident, title="Rotate the key")
    sign_in(client, users["member"])
    form = _item(_page(client, incident), item).find("form", class_="follow-up-form")
    service.update_follow_up(
        session=db, actor=users["lead"], incident_id=incident.id, follow_up_id=item.id, title="Rotate both keys"
    )
    db.commit()

    response = client.post(form.attrs["action"], data=_as_drawn(form, title="Rotate the key today"))

    assert response.status_code == 409
    html = response.get_data(as_text=True)
    message = _refusal(html)
    assert message.text == (
        "Lee Lead changed the follow-up “Rotate both keys” since you opened this page. It is shown as it is now, "
        "and the form below keeps what you typed: check it, then save again."
    )
    assert "autofocus" in message.attrs
    assert "reload the page" not in html
    assert "You are now looking at the latest version" not in html
    assert _top_error(html) == []
    edit = _item(html, item).find("details", class_="follow-up-edit")
    assert "open" in edit.attrs
    assert edit.find("p", id="follow-up-refusal")  # beside the form concerned
    again = edit.find("form")
    assert again.find("input", name="title").attrs["value"] == "Rotate the key today"
    # Saving again, as drawn, replaces their title with the one typed.
    assert client.post(again.attrs["action"], data=_as_drawn(again)).status_code == 302
    db.expire_all()
    assert db.get(FollowUp, item.id).title == "Rotate the key today"


def test_an_edit_of_a_follow_up_deleted_meanwhile_says_who_deleted_it(client, db, users, make_incident):
    incident = make_incident("open")
    item = _add(db, users, incident, title="Rotate the key")
    sign_in(client, users["member"])
    form = _item(_page(client, incident), item).find("form", class_="follow-up-form")
    service.delete_follow_up(session=db, actor=users["lead"], incident_id=incident.id, follow_up_id=item.id)
    db.commit()

    response = client.post(form.attrs["action"], data=_as_drawn(form, title="Rotate it today"))

    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert _refusal(html).text == "Lee Lead deleted the follow-up “Rotate the key” since you opened this page."
    assert _top_error(html) == []


# -- 4. Delete asks first -------------------------------------------------------------------------


def test_delete_asks_first_in_the_follow_ups_place_and_cancel_goes_back_to_it(client, db, users, make_incident):
    incident = make_incident("open")
    item = _add(db, users, incident, title="Rotate the key")
    item_id = item.id
    sign_in(client, users["member"])
    delete = _item(_page(client, incident), item).find("form", class_="follow-up-delete")

    asked = client.post(delete.attrs["action"], data=_as_drawn(delete))

    assert asked.status_code == 200
    db.expire_all()
    assert db.get(FollowUp, item.id) is not None  # nothing deleted yet
    question = _item(asked.get_data(as_text=True), item).find("form", class_="confirm")
    words = question.find("p")
    assert words.text == "Delete the follow-up “Rotate the key”? There is no undo; the timeline keeps that it existed."
    assert "autofocus" in words.attrs
    assert question.find("button").text == "Yes, delete follow-up “Rotate the key”"
    cancel = question.find("a")
    assert (cancel.text, cancel.attrs["href"]) == ("Cancel", f"/incidents/{incident.key}#follow-up-{item.id}-delete")
    # Cancel lands on the Delete button itself (it has that id), which takes focus.
    assert parse(_page(client, incident)).find("button", id=f"follow-up-{item.id}-delete").text.startswith("Delete")

    response = client.post(question.attrs["action"], data=_as_drawn(question))
    assert response.headers["Location"] == f"/incidents/{incident.key}#follow-up-notice"
    db.expire_all()
    assert db.get(FollowUp, item_id) is None


def test_a_delete_refused_as_done_meanwhile_is_said_beside_it_and_a_reload_never_deletes(
    client, db, users, make_incident
):
    incident = make_incident("open")
    item = _add(db, users, incident, title="Rotate the key")
    sign_in(client, users["member"])
    delete = _item(_page(client, incident), item).find("form", class_="follow-up-delete")
    question = _item(client.post(delete.attrs["action"], data=_as_drawn(delete)).get_data(as_text=True), item).find(
        "form", class_="confirm"
    )
    service.set_done(session=db, actor=users["other"], incident_id=incident.id, follow_up_id=item.id, done=True)
    db.commit()
    yes = _as_drawn(question)

    refused = client.post(question.attrs["action"], data=yes)

    assert refused.status_code == 403
    html = refused.get_data(as_text=True)
    message = _item(html, item).find("p", id="follow-up-refusal")
    assert message.text == (
        "The follow-up “Rotate the key” is done: only a lead or an admin can delete it now. "
        "Reopen it if it is not done."
    )
    assert "autofocus" in message.attrs
    assert _top_error(html) == []
    assert "Done by Oti Other" in _item(html, item).text
    # Someone reopens it; a reload of the refused page sends the same Yes again: the follow-up
    # is not the one asked about any more, so it stays.
    service.set_done(session=db, actor=users["other"], incident_id=incident.id, follow_up_id=item.id, done=False)
    db.commit()
    reloaded = client.post(question.attrs["action"], data=yes)
    assert reloaded.status_code == 409
    assert _refusal(reloaded.get_data(as_text=True)).text == (
        "Oti Other changed the follow-up “Rotate the key” since you opened this page, so it was not deleted. It is "
        "shown as it is now: check it, then delete it again if you still mean to."
    )
    db.expire_all()
    assert db.get(FollowUp, item.id) is not None


def test_someone_who_may_not_delete_is_told_so_beside_it_not_asked(client, db, users, make_incident):
    incident = make_incident("open")
    theirs = _add(db, users, incident, "other", title="Theirs")
    sign_in(client, users["member"])

    response = client.post(f"/incidents/{incident.key}/follow-ups/{theirs.id}/delete")

    assert response.status_code == 403
    html = response.get_data(as_text=True)
    assert _item(html, theirs).find("p", id="follow-up-refusal").text == (
        "Only whoever added a follow-up (while it is open), a lead or an admin can delete it."
    )
    assert "confirm" not in html.split('id="follow-ups"')[1].split("</section>")[0].split("follow-up-new")[0]


# -- 5. After adding; done by; the open count ------------------------------------------------------


def test_adding_says_so_in_the_section_where_focus_lands(client, db, users, make_incident):
    incident = make_incident("open")
    sign_in(client, users["member"])

    response = client.post(f"/incidents/{incident.key}/follow-ups", data={"title": "Add replica lag alert"})

    anchor = response.headers["Location"].split("#")[1]
    notice = _section(_page(client, incident)).find(id=anchor)
    assert notice.text == "Added the follow-up “Add replica lag alert”."
    assert (notice.attrs["role"], notice.attrs["tabindex"]) == ("status", "-1")
    # Said once: not at the top of the page too, nor again on the next visit.
    html = _page(client, incident)
    assert "Added the follow-up" not in html


def test_who_marked_it_done_is_on_the_page_and_in_the_export(client, db, users, make_incident):
    incident = make_incident("open")
    item = _add(db, users, incident, title="Rotate the key")
    done = service.set_done(session=db, actor=users["lead"], incident_id=incident.id, follow_up_id=item.id, done=True)
    db.commit()
    sign_in(client, users["member"])

    meta = _item(_page(client, incident), item).find("p", class_="follow-up-meta").text
    assert meta.startswith(f"Owned by nobody · Done by Lee Lead, {done.done_at:%Y-%m-%d}")
    export = client.get(f"/incidents/{incident.key}/timeline.md").get_data(as_text=True)
    line = next(line for line in export.splitlines() if line.startswith("- [x] Rotate the key"))
    assert line.endswith(" UTC by Lee Lead)")


@pytest.mark.parametrize("status", ["resolved", "closed"])
def test_the_open_count_is_plain_text_not_a_link_to_where_it_stands(client, db, users, make_incident, status):
    incident = make_incident(status)
    _add(db, users, incident, title="One")
    sign_in(client, users["member"])

    count = _section(_page(client, incident)).find("p", class_="follow-ups-open")

    assert count.text == "1 open follow-up"
    assert count.find_all("a") == []
