"""Every timeline entry has a permalink, as a GitHub comment does: its time links to the entry's
own id on the incident page (comment-<id> for a comment, event-<audit event id> for any other
entry), named for a screen reader as a link to this comment or entry."""

from __future__ import annotations

from web_helpers import parse, sign_in

from shared.audit.models import AuditEvent
from shared.incidents import service as incidents
from shared.incidents.models import Comment


def test_each_timeline_entry_links_to_itself_by_its_time(client, db, users, make_incident):
    incident = make_incident("open", title="Checkout errors")
    comment = incidents.add_comment(session=db, incident_id=incident.id, actor=users["member"], body="Rolling back.")
    db.commit()
    sign_in(client, users["member"])
    page = parse(client.get(f"/incidents/{incident.key}").get_data(as_text=True))
    entries = page.find("ol", class_="timeline").find_all("li")
    assert entries
    events = {event.id for event in db.query(AuditEvent).filter(AuditEvent.incident_id == incident.id)}
    comments = {row.id for row in db.query(Comment).filter(Comment.incident_id == incident.id)}
    assert comments == {comment.id}
    ids = [entry.attrs.get("id", "") for entry in entries]
    assert all(ids), "an entry without an id cannot be linked to"
    assert f"comment-{comment.id}" in ids
    assert {int(i.removeprefix("event-")) for i in ids if i.startswith("event-")} <= events
    assert len(set(ids)) == len(ids) == len(entries)
    for entry in entries:
        link = entry.find("a", class_="permalink")
        assert link.attrs["href"] == f"/incidents/{incident.key}#{entry.attrs['id']}"
        # The name: what it links to, then the time as shown (a <time> the reader's zone replaces).
        what = "comment" if entry.attrs["id"].startswith("comment-") else "entry"
        assert link.text.startswith(f"Link to this {what}, ")
        assert link.find("time").attrs["datetime"]
