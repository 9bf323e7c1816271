"""An Undo refused because someone changed another field meanwhile (a priority raised while the
move's Undo was showing) says what changed and offers the Undo again on what is now shown; it
was refused with the Undo gone, leaving only the status control (found by QA). Once the status
itself moved on, no Undo is offered: it would no longer take back this move."""

from __future__ import annotations

import re

from web_helpers import reload, sign_in, tags

from shared.incidents import service as incidents

HTMX = {"HX-Request": "true"}
UNDO_FORM = re.compile(r"<form[^>]*>(?:(?!</form>).)*>Undo</button>\s*</form>", re.S)


def _undo_fields(html: str) -> dict[str, str | None]:
    """The row's Undo form as app.js sends it: with the event the row was drawn after."""
    form = UNDO_FORM.search(html)
    assert form is not None, html
    fields = {attrs["name"]: attrs.get("value") for tag, attrs in tags(form.group(0)) if tag == "input"}
    seen = re.search(r'data-seen-event="(\d+)"', html)
    assert seen is not None, html
    return {**fields, "seen_event": seen.group(1)}


def _move_to_blocked(client, db, incident) -> dict[str, str | None]:
    moved = client.post(
        f"/incidents/{incident.key}/transition",
        data={"from_row": "1", "version": reload(db, incident).version, "to": "blocked", "reason": "Vendor"},
        headers=HTMX,
    )
    return _undo_fields(moved.get_data(as_text=True))


def test_an_undo_refused_for_another_change_is_offered_again_and_then_moves_it_back(client, db, users, make_incident):
    incident = make_incident("in_progress", priority="P2")
    sign_in(client, users["member"])
    undo = _move_to_blocked(client, db, incident)
    db.expire_all()  # the move was made by the browser's request
    incidents.change_priority(session=db, incident_id=incident.id, actor=users["admin"], priority="P1")
    db.commit()

    refused = client.post(f"/incidents/{incident.key}/transition", data=undo, headers=HTMX)

    html = refused.get_data(as_text=True)
    assert refused.status_code == 409
    assert "What changed: priority P2 → P1." in html
    assert reload(db, incident).status == "blocked"
    again = client.post(f"/incidents/{incident.key}/transition", data=_undo_fields(html), headers=HTMX)
    assert again.status_code == 200
    assert f"{incident.key} is back to In Progress." in again.get_data(as_text=True)
    assert reload(db, incident).status == "in_progress"


def test_an_undo_refused_after_the_status_moved_on_is_not_offered_again(client, db, users, make_incident):
    incident = make_incident("in_progress")
    sign_in(client, users["member"])
    undo = _move_to_blocked(client, db, incident)
    db.expire_all()  # the move was made by the browser's request
    incidents.transition(session=db, incident_id=incident.id, actor=users["admin"], to="in_progress")
    incidents.transition(session=db, incident_id=incident.id, actor=users["admin"], to="resolved", reason="Fixed")
    db.commit()

    refused = client.post(f"/incidents/{incident.key}/transition", data=undo, headers=HTMX)

    assert refused.status_code == 409
    assert UNDO_FORM.search(refused.get_data(as_text=True)) is None


def test_an_undo_refused_after_someone_moved_it_away_and_back_is_not_offered_again(client, db, users, make_incident):
    """Blocked by me, unblocked and blocked again by someone else: the status reads as my move
    left it, but it is their block now (their reason, their time): my Undo would take back
    theirs, so it is refused and not offered again (it was, on the status alone)."""
    incident = make_incident("in_progress")
    sign_in(client, users["member"])
    undo = _move_to_blocked(client, db, incident)
    db.expire_all()  # the move was made by the browser's request
    incidents.transition(session=db, incident_id=incident.id, actor=users["admin"], to="in_progress")
    incidents.transition(session=db, incident_id=incident.id, actor=users["admin"], to="blocked", reason="DNS")
    db.commit()

    refused = client.post(f"/incidents/{incident.key}/transition", data=undo, headers=HTMX)

    assert refused.status_code == 409
    assert UNDO_FORM.search(refused.get_data(as_text=True)) is None
    assert reload(db, incident).status == "blocked"
