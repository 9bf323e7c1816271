"""The dashboard finds an incident by what was said about it (the QA report: "CHG-4411", a change
ticket named only in a comment and in a resolution summary, listed nothing)."""

from __future__ import annotations

from web_helpers import row_keys, sign_in

from shared.incidents import service as incidents


def test_the_dashboard_lists_incidents_whose_discussion_names_the_words(client, db, users, make_incident):
    commented = make_incident("open", title="Checkout latency after the deploy")
    incidents.add_comment(
        session=db, incident_id=commented.id, actor=users["member"], body="Rolled back under CHG-4411."
    )
    resolved = make_incident("in_progress", title="Payments 5xx spike")
    incidents.transition(
        session=db, incident_id=resolved.id, actor=users["lead"], to="resolved", reason="Reverted by CHG-4411."
    )
    make_incident("open", title="Disk full on db-7")
    db.commit()
    sign_in(client, users["member"])

    html = client.get("/", query_string={"q": "CHG-4411"}).get_data(as_text=True)
    assert set(row_keys(html)) == {commented.key, resolved.key}
    # Live (htmx) results are the same search: a word of the comment and one of the title.
    html = client.get(
        "/", query_string={"q": "checkout chg-4411"}, headers={"HX-Request": "true", "HX-Target": "results"}
    ).get_data(as_text=True)
    assert row_keys(html) == [commented.key]
