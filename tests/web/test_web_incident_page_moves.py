"""Moves on the incident page without JavaScript: Closed asks "Close INC-n?" first, as a
dashboard row does, and changes nothing until "Yes, close INC-n"; the page then says what
happened. Reopen asks why in words that fit it; the due date's refusal names the earliest day
it accepts."""

from __future__ import annotations

from datetime import timedelta

from web_helpers import parse, reload, sign_in, snapshot, tags, texts

from shared.incidents import timers

HTMX = {"HX-Request": "true"}


def _post_move(client, db, incident, headers=None, **data):
    return client.post(
        f"/incidents/{incident.key}/transition",
        data={"version": reload(db, incident).version, **data},
        headers=headers or {},
    )


def _form_with_button(html: str, button: str) -> dict[str, str]:
    """The fields the form holding `button` sends, as a browser would."""
    form = html.split(f">{button}</button>")[0].rsplit("<form", 1)[1]
    return {attrs["name"]: attrs.get("value", "") for tag, attrs in tags("<form" + form) if tag == "input"}


def test_closing_from_the_incident_page_asks_first_and_closes_on_yes(client, db, users, make_incident):
    incident = make_incident("resolved")
    key = incident.key
    sign_in(client, users["lead"])
    before = snapshot(db)

    # Not asked on a page drawn before someone changed the incident: refused, naming the change.
    stale = client.post(f"/incidents/{key}/transition", data={"to": "closed", "version": incident.version - 1})
    assert stale.status_code == 409
    assert f"Close {key}?" not in stale.get_data(as_text=True)

    asked = _post_move(client, db, incident, to="closed")
    html = asked.get_data(as_text=True)
    assert asked.status_code == 200
    assert "<h1>" in html  # the incident page, drawn again with the question in the Closed button's place
    question = parse(html).find(id=f"confirm-{key}")
    assert question.text == f"Close {key}? Closing ends the work on it."
    assert "autofocus" in question.attrs  # keyboard focus and the screen reader start at the question
    assert f"Yes, close {key}" in texts(html, "button")
    assert "Closed" not in texts(html, "button")  # asked instead of offered again
    cancel = next(attrs for tag, attrs in tags(html) if tag == "a" and "data-cancel-question" in attrs)
    assert cancel["href"] == f"/incidents/{key}#move-closed-button"  # back to the Closed button
    assert snapshot(db) == before  # asking changed nothing
    assert reload(db, incident).status == "resolved"

    closed = client.post(f"/incidents/{key}/transition", data=_form_with_button(html, f"Yes, close {key}"))
    assert closed.status_code == 302
    assert reload(db, incident).status == "closed"
    page = client.get(closed.headers["Location"]).get_data(as_text=True)
    assert f"{key} is now Closed." in texts(page, "p", "class", "flash")  # the page says what happened


def test_the_closed_button_is_where_cancel_lands(client, users, make_incident):
    incident = make_incident("resolved")
    sign_in(client, users["lead"])
    html = client.get(f"/incidents/{incident.key}").get_data(as_text=True)
    assert parse(html).find(id="move-closed-button").text == "Closed"


def test_closing_an_open_incident_asks_for_the_reason_then_the_question(client, db, users, make_incident):
    incident = make_incident("open")
    key = incident.key
    sign_in(client, users["lead"])

    refused = _post_move(client, db, incident, to="closed", reason=" ")
    assert refused.status_code == 422
    assert f"Say why {key} moves to Closed." in refused.get_data(as_text=True)
    assert f"Close {key}?" not in refused.get_data(as_text=True)

    asked = _post_move(client, db, incident, to="closed", reason="Duplicate of INC-1")
    html = asked.get_data(as_text=True)
    assert asked.status_code == 200
    assert parse(html).find(id=f"confirm-{key}").text == f"Close {key}? Closing ends the work on it."
    fields = _form_with_button(html, f"Yes, close {key}")
    assert fields["reason"] == "Duplicate of INC-1"  # the typed reason goes with Yes
    assert reload(db, incident).status == "open"

    assert client.post(f"/incidents/{key}/transition", data=fields).status_code == 302
    saved = reload(db, incident)
    assert saved.status == "closed"


def test_with_htmx_the_question_comes_alone_and_a_refusal_is_sent_as_a_page(client, db, users, make_incident):
    incident = make_incident("resolved")
    key = incident.key
    sign_in(client, users["lead"])

    asked = _post_move(client, db, incident, HTMX, to="closed")
    html = asked.get_data(as_text=True)
    assert asked.status_code == 200
    assert "<h1>" not in html  # only the question, swapped in where the Closed form was
    assert parse(html).find(id=f"confirm-{key}").text == f"Close {key}? Closing ends the work on it."
    assert parse(html).find("form").attrs["id"] == "move-closed"  # what Cancel takes back from the page

    stale = client.post(f"/incidents/{key}/transition", data={"to": "closed", "version": 0}, headers=HTMX)
    assert stale.status_code == 204
    assert stale.headers["HX-Trigger"] == "answerIsAPage"  # app.js sends the form again, as a page
    assert reload(db, incident).status == "resolved"


def test_a_move_on_the_incident_page_says_what_happened(client, db, users, make_incident):
    incident = make_incident("open", reporter="member")
    sign_in(client, users["member"])
    moved = _post_move(client, db, incident, to="in_progress")
    assert moved.status_code == 302
    page = client.get(moved.headers["Location"]).get_data(as_text=True)
    assert texts(page, "p", "class", "flash") == [f"{incident.key} is now In Progress."]


def test_reopening_asks_why_it_is_reopened(client, db, users, make_incident):
    incident = make_incident("closed")
    key = incident.key
    sign_in(client, users["lead"])

    refused = _post_move(client, db, incident, to="in_progress", reason="")
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert texts(html, "p", "class", "field-error") == [f"Say why {key} is reopened."]
    assert "moves to Reopen" not in html

    reopened = _post_move(client, db, incident, to="in_progress", reason="Errors are back")
    assert reopened.status_code == 302  # a lead's Reopen needs no question, only its reason
    assert reload(db, incident).status == "in_progress"


def test_a_due_date_refusal_names_the_earliest_day_accepted(client, db, users, make_incident):
    incident = make_incident("open", owner="member")
    sign_in(client, users["member"])
    yesterday = timers.today() - timedelta(days=1)

    refused = client.post(
        f"/incidents/{incident.key}/due-date",
        data={"due_date": (yesterday - timedelta(days=1)).isoformat(), "version": incident.version},
    )
    assert refused.status_code == 422
    message = parse(refused.get_data(as_text=True)).find(id="due-date-error").text
    assert message == f"Choose {yesterday.isoformat()} or a later day as the due date."

    # The day the message names is accepted (today, for a reader west of UTC).
    accepted = client.post(
        f"/incidents/{incident.key}/due-date",
        data={"due_date": yesterday.isoformat(), "version": incident.version},
    )
    assert accepted.status_code == 302
    assert reload(db, incident).due_date == yesterday
