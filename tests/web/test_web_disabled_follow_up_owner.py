"""A follow-up whose owner's account is disabled says so on the incident page and in the
Markdown export, as the incident's own owner and "Everyone's follow-ups" already did: it read
"Owned by Dana Dev" on the page and "(owner Dana Dev, …)" in the checklist (found by QA)."""

from __future__ import annotations

from web_helpers import sign_in

from shared.incidents import follow_ups


def test_a_disabled_owner_of_a_follow_up_is_named_so_on_the_page_and_in_the_export(app, db, users, make_incident):
    incident = make_incident("in_progress", title="Leaked key", owner="lead")
    follow_ups.add_follow_up(
        session=db, actor=users["lead"], incident_id=incident.id, title="Rotate leaked key", owner_id=users["member"].id
    )
    users["member"].is_active = False
    db.commit()
    lead = app.test_client()
    sign_in(lead, users["lead"])

    page = lead.get(f"/incidents/{incident.key}").get_data(as_text=True)
    export = lead.get(f"/incidents/{incident.key}/timeline.md").get_data(as_text=True)

    assert "Owned by Mo Member (disabled)" in " ".join(page.split())
    assert "- [ ] Rotate leaked key (owner Mo Member (disabled)" in export
