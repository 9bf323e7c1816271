"""Issue 8, defect 6 ("smaller"): each test is what a person noticed, asserted as they would
see it (or hear it, for screen-reader roles)."""

from __future__ import annotations

from web_helpers import sign_in, texts, timeline, version

HTMX = {"HX-Request": "true"}


def _facts(html: str) -> dict[str, str]:
    """The incident page's Details list: term -> value."""
    block = html.split('<dl class="facts">')[1].split("</dl>")[0]
    return dict(zip(texts(block, "dt"), texts(block, "dd"), strict=True))


def test_after_a_reopen_the_old_resolution_is_history_not_current(client, db, users, make_incident):
    incident = make_incident("resolved")  # resolved with "Restarted the writer"
    sign_in(client, users["lead"])
    client.post(
        f"/incidents/{incident.key}/transition",
        data={"to": "in_progress", "reason": "Came back at 02:00", "version": version(db, incident)},
    )
    html = client.get(f"/incidents/{incident.key}").get_data(as_text=True)
    assert "Resolution" not in _facts(html)
    assert any("Restarted the writer" in entry for entry in timeline(html))  # still in the history
