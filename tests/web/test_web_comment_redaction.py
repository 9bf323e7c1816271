"""The timeline reads comments from incident_comments; an admin redacts one from the page."""

from __future__ import annotations

from web_helpers import label_for, parse, sign_in, tags, timeline

from shared.db import clock_at, utcnow
from shared.incidents import service as incidents

SECRET = "password=hunter2hunter2"


def test_an_admin_redacts_a_comment_from_the_incident_page(client, db, users, make_incident):
    incident = make_incident("open")
    with clock_at(utcnow().replace(second=0, microsecond=0)):  # one minute for the comment and its event
        comment = incidents.add_comment(session=db, incident_id=incident.id, actor=users["member"], body=SECRET)
        db.commit()

    sign_in(client, users["lead"])
    html = client.get(f"/incidents/{incident.key}").get_data(as_text=True)
    assert SECRET in html
    assert "Reason for redacting" not in html

    sign_in(client, users["admin"])
    html = client.get(f"/incidents/{incident.key}").get_data(as_text=True)
    action = f"/incidents/{incident.key}/comments/{comment.id}/redact"
    forms = [attrs for tag, attrs in tags(html) if tag == "form" and attrs.get("action") == action]
    assert forms
    when = comment.created_at.strftime("%Y-%m-%d %H:%M:%S UTC")  # the entry's time as drawn (app.js localises both)
    # Each comment's controls name it (found by QA: every field read "Reason for redacting this comment").
    label = _tight(label_for(html, f"redact-reason-{comment.id}"))
    assert label == f"Reason for redacting comment 1 (Mo Member, {when})"
    assert f"Redact comment 1 (Mo Member, {when})" in _redact_buttons(html)

    response = client.post(action, data={"reason": "Pasted a password"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"#comment-{comment.id}")
    html = client.get(f"/incidents/{incident.key}").get_data(as_text=True)
    assert SECRET not in html
    entries = timeline(html)
    assert any(entry.startswith(f"Mo Member commented: {incidents.REDACTION_NOTICE}") for entry in entries), entries
    assert "Ada Admin redacted a comment: Pasted a password" in entries


def test_a_lead_cannot_redact(client, db, users, make_incident):
    incident = make_incident("open")
    comment = incidents.add_comment(session=db, incident_id=incident.id, actor=users["member"], body=SECRET)
    db.commit()
    sign_in(client, users["lead"])
    response = client.post(f"/incidents/{incident.key}/comments/{comment.id}/redact", data={"reason": "No"})
    assert response.status_code == 403
    db.expire_all()
    assert SECRET in client.get(f"/incidents/{incident.key}").get_data(as_text=True)


def test_two_comments_of_one_person_in_one_minute_have_distinct_redact_names(client, db, users, make_incident):
    """Found by the regression walk: four comments by one person in a minute read alike."""
    incident = make_incident("open")
    with clock_at(utcnow().replace(second=0, microsecond=0)):
        for body in ("Rolling back", "Rolled back"):
            incidents.add_comment(session=db, incident_id=incident.id, actor=users["member"], body=body)
        db.commit()
    sign_in(client, users["admin"])
    html = client.get(f"/incidents/{incident.key}").get_data(as_text=True)
    names = _redact_buttons(html)
    assert len(names) == 2
    assert len(set(names)) == 2


def _tight(text: str) -> str:
    """`Element.text` puts a space after an element's text (the <time>): a browser does not."""
    return text.replace(" )", ")")


def _redact_buttons(html: str) -> list[str]:
    """The names of the Redact buttons (their text, a visually hidden part included)."""
    return [_tight(button.text) for button in parse(html).find_all("button") if button.text.startswith("Redact")]
