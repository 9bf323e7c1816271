"""An incident whose owner's account was disabled says so wherever its owner is named: the
dashboard row (a phone's card is that row), the incident page's header and details, the
Markdown timeline export and the dashboard's Owner filter; and `owner:disabled` finds that work
(the dashboard's box, the API's `owner=`). Found in a lead's postmortem walk: after Dana was
disabled, every page still read "Owner Dana Dev", as if someone were on it."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy import event
from web_helpers import definitions, parse, row_keys, sign_in, texts

from shared.accounts import tokens
from shared.accounts.models import User

OWNER = "Mo Member"  # users["member"], who owns the incidents below unless said otherwise
MARKED = f"{OWNER} (disabled)"


def _set_active(admin: FlaskClient, user: User, active: bool) -> None:
    """What an admin does on the Users page: Disable (confirmed), or Enable."""
    form = {"active": "1"} if active else {"active": "0", "confirm": "1"}
    assert admin.post(f"/admin/users/{user.id}/active", data=form).status_code == 302


@pytest.fixture
def admin(app, users) -> FlaskClient:
    browser = app.test_client()
    sign_in(browser, users["admin"])
    return browser


@pytest.fixture
def lead(app, users) -> FlaskClient:
    browser = app.test_client()
    sign_in(browser, users["lead"])
    return browser


def _owner_cell(html: str, key: str) -> str:
    row = html.split(f'id="row-{key}"')[1].split("</tr>")[0]
    (cell,) = [
        cell
        for cell in parse("<table><tr" + row + "</tr></table>").find_all("td")
        if cell.attrs.get("data-label") == "Owner"
    ]
    return cell.text


def test_a_row_seen_before_the_owner_was_disabled_says_so_and_forgets_it_once_enabled(
    admin, lead, users, make_incident
):
    incident = make_incident("in_progress", title="Replica lag on db-2", owner="member")
    # Drawn once: the row is now in the per-process row cache.
    assert _owner_cell(lead.get("/").get_data(as_text=True), incident.key) == OWNER

    _set_active(admin, users["member"], active=False)
    assert _owner_cell(lead.get("/").get_data(as_text=True), incident.key) == MARKED

    _set_active(admin, users["member"], active=True)
    assert _owner_cell(lead.get("/").get_data(as_text=True), incident.key) == OWNER


def test_the_incident_page_names_a_disabled_owner_in_its_header_and_details(admin, lead, users, make_incident):
    incident = make_incident("blocked", title="Replica lag on db-2", owner="member")
    _set_active(admin, users["member"], active=False)
    html = lead.get(f"/incidents/{incident.key}").get_data(as_text=True)
    assert f"Owner: {MARKED}" in texts(html, "p", "class", "head-glance")[0]
    assert definitions(html)["Owner"] == MARKED


def test_an_active_owner_and_no_owner_read_as_before(lead, users, make_incident):
    owned = make_incident(title="Owned", owner="member")
    unowned = make_incident(title="Nobody's", owner=None)
    dashboard = lead.get("/").get_data(as_text=True)
    assert _owner_cell(dashboard, owned.key) == OWNER
    assert _owner_cell(dashboard, unowned.key) == "—"
    assert definitions(lead.get(f"/incidents/{owned.key}").get_data(as_text=True))["Owner"] == OWNER
    assert definitions(lead.get(f"/incidents/{unowned.key}").get_data(as_text=True))["Owner"] == "Unassigned"


def test_the_markdown_export_names_a_disabled_owner(admin, lead, users, make_incident):
    incident = make_incident("resolved", title="Replica lag on db-2", owner="member")
    before = lead.get(f"/incidents/{incident.key}/timeline.md").get_data(as_text=True)
    assert f"| Owner | {OWNER} |" in before.splitlines()

    _set_active(admin, users["member"], active=False)
    after = lead.get(f"/incidents/{incident.key}/timeline.md").get_data(as_text=True)
    assert f"| Owner | {MARKED} |" in after.splitlines()


def _owner_options(html: str) -> list[tuple[str, str, bool]]:
    select = parse(html).find("select", id="f-owner")
    return [(o.attrs["value"], o.text, "selected" in o.attrs) for o in select.find_all("option")]


def test_the_owner_filter_names_disabled_people_and_offers_all_their_work(admin, lead, users, make_incident):
    make_incident(title="Replica lag on db-2", owner="member")
    _set_active(admin, users["member"], active=False)
    options = _owner_options(lead.get("/").get_data(as_text=True))
    labels = {value: label for value, label, _ in options}
    assert labels["member@example.com"] == MARKED
    assert labels["other@example.com"] == "Oti Other"  # the active ones as before
    assert labels["disabled"] == "Any disabled account"

    # Chosen, she is named, not a bare email added after the names.
    chosen = _owner_options(lead.get("/?q=owner:member@example.com").get_data(as_text=True))
    assert [(value, label) for value, label, selected in chosen if selected] == [("member@example.com", MARKED)]
    assert [value for value, _, _ in chosen].count("member@example.com") == 1


def test_owner_disabled_finds_the_work_left_with_disabled_people_and_the_negation_the_rest(
    admin, lead, users, make_incident
):
    left = make_incident(title="Left with Mo", owner="member")
    kept = make_incident(title="With Oti", owner="other")
    unowned = make_incident(title="Nobody's", owner=None)
    _set_active(admin, users["member"], active=False)

    found = lead.get("/?q=owner:disabled").get_data(as_text=True)
    assert row_keys(found) == [left.key]
    assert "Any disabled account" in [label for _, label, selected in _owner_options(found) if selected]
    assert sorted(row_keys(lead.get("/?q=-owner:disabled").get_data(as_text=True))) == sorted([kept.key, unowned.key])
    # The dropdown writes the same qualifier.
    assert lead.get("/?owner=disabled").headers["Location"].endswith("/?q=owner:disabled")

    _set_active(admin, users["member"], active=True)
    empty = lead.get("/?q=owner:disabled").get_data(as_text=True)
    assert row_keys(empty) == []
    assert "Nothing matches owner:disabled on its own." in empty


def test_the_api_owner_parameter_and_q_take_disabled(app, admin, db, users, make_incident):
    left = make_incident(title="Left with Mo", owner="member")
    make_incident(title="With Oti", owner="other")
    _set_active(admin, users["member"], active=False)
    _, value = tokens.create_token(session=db, user=users["lead"], name="postmortem", scope="read")
    db.commit()
    headers = {"Authorization": f"Bearer {value}"}
    api = app.test_client()
    for query in ({"owner": "disabled"}, {"owner": "DISABLED"}, {"q": "owner:disabled"}):
        listed = api.get("/api/v1/incidents", query_string=query, headers=headers)
        assert listed.status_code == 200, listed.get_json()
        assert [item["key"] for item in listed.get_json()["items"]] == [left.key], query


def test_the_dashboard_reads_no_more_for_many_rows_of_disabled_owners(app, admin, lead, users, make_incident):
    """Each row's owner comes with the page's incidents (one joined load): twelve rows owned by
    disabled accounts cost the same statements as two."""
    engine = app.extensions["db_engine"]

    def statements_for_dashboard() -> int:
        seen: list[str] = []

        def count(_conn, _cursor, statement, *_args):
            seen.append(statement)

        event.listen(engine, "before_cursor_execute", count)
        try:
            assert lead.get("/?q=owner:disabled").status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(seen)

    for _ in range(2):
        make_incident(title="Left with Mo", owner="member")
    for _ in range(10):
        make_incident(title="Left with Oti", owner="other")
    _set_active(admin, users["member"], active=False)
    assert len(row_keys(lead.get("/?q=owner:disabled").get_data(as_text=True))) == 2
    two = statements_for_dashboard()
    _set_active(admin, users["other"], active=False)
    page = lead.get("/?q=owner:disabled").get_data(as_text=True)
    assert len(row_keys(page)) == 12
    assert texts(page, "td", "data-label", "Owner").count("Oti Other (disabled)") == 10
    assert statements_for_dashboard() == two
