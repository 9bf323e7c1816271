"""Issue 8, defect 1: a stale edit can be saved. After a conflict the edit form shows the
latest values for the fields this person left alone, keeps what they typed where they
changed something (beside the current value where both changed it), and carries the current
version, so one more save keeps both people's changes."""

from __future__ import annotations

from datetime import timedelta
from html.parser import HTMLParser

import pytest
from sqlalchemy import update
from web_helpers import parse, reload, sign_in, texts, timeline

from shared.incidents import timers
from shared.incidents.models import Incident


class _FormValues(HTMLParser):
    """The values a browser would submit from the page's edit form."""

    def __init__(self):
        super().__init__()
        self.values: dict[str, str] = {}
        self._textarea: str | None = None
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = {name: value or "" for name, value in attrs}
        if tag == "input" and attrs.get("name") and attrs.get("type") != "submit":
            self.values[attrs["name"]] = attrs.get("value", "")
        elif tag == "textarea" and attrs.get("name"):
            self._textarea = attrs["name"]
            self.values[self._textarea] = ""
        elif tag == "select":
            self._select = attrs.get("name")
        elif tag == "option" and self._select and "selected" in attrs:
            self.values[self._select] = attrs.get("value", "")

    def handle_endtag(self, tag):
        if tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None

    def handle_data(self, data):
        if self._textarea:
            # The browser drops one line break straight after <textarea>.
            first = not self.values[self._textarea]
            self.values[self._textarea] += data.removeprefix("\r\n").removeprefix("\n") if first else data


def form_values(html: str) -> dict[str, str]:
    form = html.split('<form method="post" novalidate>')[1].split("</form>")[0]
    parser = _FormValues()
    parser.feed(form)
    return parser.values


def _open_edit_form(client, key: str) -> dict[str, str]:
    return form_values(client.get(f"/incidents/{key}/edit").get_data(as_text=True))


def test_a_stale_edit_of_another_field_saves_on_the_next_try_without_undoing_the_other(app, db, users, make_incident):
    incident = make_incident("open", description="Started after the 09:00 deploy.")
    first, second = app.test_client(), app.test_client()
    sign_in(first, users["lead"])
    sign_in(second, users["admin"])
    first_form, second_form = _open_edit_form(first, incident.key), _open_edit_form(second, incident.key)

    assert (
        first.post(f"/incidents/{incident.key}/edit", data={**first_form, "title": "RDS CPU at 100%"}).status_code
        == 302
    )
    conflict = second.post(
        f"/incidents/{incident.key}/edit", data={**second_form, "description": "Rolled back at 09:40."}
    )

    assert conflict.status_code == 409
    html = conflict.get_data(as_text=True)
    # Who saved meanwhile is named (the lead, as this admin was editing).
    assert texts(html, "p", "role", "alert")[0].startswith("Lee Lead saved changes to INC-1 while you were editing.")
    shown = form_values(html)
    assert shown["title"] == "RDS CPU at 100%"  # theirs: this person did not touch the title
    assert shown["description"] == "Rolled back at 09:40."  # mine, as typed
    assert shown["version"] == str(reload(db, incident).version)

    retry = second.post(f"/incidents/{incident.key}/edit", data=shown)
    assert retry.status_code == 302
    saved = reload(db, incident)
    assert (saved.title, saved.description) == ("RDS CPU at 100%", "Rolled back at 09:40.")


def test_when_both_changed_the_same_field_mine_is_kept_and_theirs_is_shown_beside_it(app, db, users, make_incident):
    incident = make_incident("open")
    first, second = app.test_client(), app.test_client()
    sign_in(first, users["lead"])
    sign_in(second, users["admin"])
    first_form, second_form = _open_edit_form(first, incident.key), _open_edit_form(second, incident.key)
    first.post(f"/incidents/{incident.key}/edit", data={**first_form, "title": "Theirs: writer at 100% CPU"})

    conflict = second.post(f"/incidents/{incident.key}/edit", data={**second_form, "title": "Mine: reader lagging"})

    html = conflict.get_data(as_text=True)
    assert conflict.status_code == 409
    assert form_values(html)["title"] == "Mine: reader lagging"
    (beside,) = texts(html, "div", "class", "theirs")
    assert "Theirs: writer at 100% CPU" in beside
    assert 'aria-describedby="title-theirs"' in html  # read out with the field
    assert second.post(f"/incidents/{incident.key}/edit", data=form_values(html)).status_code == 302
    assert reload(db, incident).title == "Mine: reader lagging"


def test_a_validation_error_keeps_the_version_the_form_was_drawn_from(client, db, users, make_incident):
    incident = make_incident("open")
    sign_in(client, users["lead"])
    form = _open_edit_form(client, incident.key)
    response = client.post(f"/incidents/{incident.key}/edit", data={**form, "title": ""})
    assert response.status_code == 422
    assert form_values(response.get_data(as_text=True))["version"] == form["version"]


# --- The due date on the Edit page ------------------------------------------------------------


def test_the_edit_page_sets_moves_and_clears_the_due_date(client, db, users, make_incident):
    incident = make_incident("in_progress", owner="member")
    sign_in(client, users["member"])
    form = _open_edit_form(client, incident.key)
    assert form["due_date"] == ""
    due = timers.today() + timedelta(days=5)

    assert client.post(f"/incidents/{incident.key}/edit", data={**form, "due_date": due.isoformat()}).status_code == 302
    assert reload(db, incident).due_date == due
    form = _open_edit_form(client, incident.key)
    assert form["due_date"] == due.isoformat()  # drawn from what is stored

    assert client.post(f"/incidents/{incident.key}/edit", data={**form, "due_date": ""}).status_code == 302
    assert reload(db, incident).due_date is None
    entries = timeline(client.get(f"/incidents/{incident.key}").get_data(as_text=True))
    assert any("due date" in entry and due.isoformat() in entry for entry in entries), entries


def test_an_overdue_due_date_left_alone_does_not_block_editing_the_title(client, db, users, make_incident):
    incident = make_incident("in_progress", owner="member")
    overdue = timers.today() - timedelta(days=20)
    db.execute(update(Incident).where(Incident.id == incident.id).values(due_date=overdue))
    db.commit()
    sign_in(client, users["member"])
    form = _open_edit_form(client, incident.key)
    assert form["due_date"] == overdue.isoformat()
    response = client.post(f"/incidents/{incident.key}/edit", data={**form, "title": "Still failing over"})
    assert response.status_code == 302
    saved = reload(db, incident)
    assert (saved.title, saved.due_date) == ("Still failing over", overdue)


@pytest.mark.parametrize(
    ("typed", "problem"),
    [("not-a-date", "Enter the due date as a date"), ("past", "or a later day as the due date.")],
)
def test_a_bad_due_date_is_named_beside_the_field_and_nothing_is_saved(
    client, db, users, make_incident, typed, problem
):
    incident = make_incident("open", owner="member")
    sign_in(client, users["member"])
    if typed == "past":
        typed = (timers.today() - timedelta(days=10)).isoformat()
    form = _open_edit_form(client, incident.key)
    response = client.post(f"/incidents/{incident.key}/edit", data={**form, "title": "Renamed", "due_date": typed})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert problem in parse(html).find(id="due_date-error").text
    assert form_values(html)["due_date"] == typed
    assert form_values(html)["title"] == "Renamed"
    saved = reload(db, incident)
    assert (saved.title, saved.due_date) == (incident.title, None)


def test_a_stale_due_date_edit_keeps_the_other_person_s_title_and_shows_their_date_beside_mine(
    app, db, users, make_incident
):
    incident = make_incident("open")
    first, second = app.test_client(), app.test_client()
    sign_in(first, users["lead"])
    sign_in(second, users["admin"])
    first_form, second_form = _open_edit_form(first, incident.key), _open_edit_form(second, incident.key)
    theirs, mine = timers.today() + timedelta(days=3), timers.today() + timedelta(days=7)
    saved = first.post(
        f"/incidents/{incident.key}/edit",
        data={**first_form, "title": "Theirs: replica lag", "due_date": theirs.isoformat()},
    )
    assert saved.status_code == 302

    conflict = second.post(f"/incidents/{incident.key}/edit", data={**second_form, "due_date": mine.isoformat()})

    assert conflict.status_code == 409
    html = conflict.get_data(as_text=True)
    shown = form_values(html)
    assert (shown["title"], shown["due_date"]) == ("Theirs: replica lag", mine.isoformat())
    assert theirs.isoformat() in parse(html).find(id="due_date-theirs").text
    assert "due_date-theirs" in parse(html).find("input", name="due_date").attrs["aria-describedby"]
    assert second.post(f"/incidents/{incident.key}/edit", data=shown).status_code == 302
    stored = reload(db, incident)
    assert (stored.title, stored.due_date) == ("Theirs: replica lag", mine)


def test_a_form_drawn_before_the_names_were_kept_still_says_someone_saved_meanwhile(app, db, users, make_incident):
    """A form without `seen_event` (drawn by an older release, still open in a tab) cannot
    know who saved meanwhile: the page says someone did, and the merge works the same."""
    incident = make_incident("open")
    first, second = app.test_client(), app.test_client()
    sign_in(first, users["lead"])
    sign_in(second, users["admin"])
    first_form = _open_edit_form(first, incident.key)
    second_form = {k: v for k, v in _open_edit_form(second, incident.key).items() if k != "seen_event"}
    assert first.post(f"/incidents/{incident.key}/edit", data={**first_form, "title": "Renamed"}).status_code == 302

    conflict = second.post(f"/incidents/{incident.key}/edit", data={**second_form, "title": "Also renamed"})

    assert conflict.status_code == 409
    html = conflict.get_data(as_text=True)
    assert texts(html, "p", "role", "alert")[0].startswith("Someone else saved changes to INC-1")
    assert "Saved meanwhile by someone else:" in html
    assert form_values(html)["seen_event"].isdigit()  # the retry's form knows again
