"""The dashboard as a person uses it: qualifiers in the search box, dropdown filters, live
(htmx) results, counters, sorting, paging and messages about a bad qualifier."""

from __future__ import annotations

import re
from html import unescape

import pytest
from seeding import built_once
from sqlalchemy import event, insert
from web_helpers import parse, row_keys, sign_in, status_counters, tags, texts

from shared.db import utcnow
from shared.incidents import service as incidents
from shared.incidents.models import Incident

# name -> (title, priority, component, environment, owner, status)
INCIDENTS = {
    "disk-db": ("Disk full on db-1", "P1", "rds", "prod", "member", "open"),
    "lag": ("Replication lag on the replica", "P2", "rds", "staging", "member", "open"),
    "alb": ("ALB 502 spikes", "P1", "alb", "prod", "lead", "in_progress"),
    "disk-ci": ("Disk full on build agent", "P3", "ci", "dev", None, "open"),
    "storage": ("Storage alarm on the writer", "P1", "rds", "prod", "other", "resolved"),
}


@pytest.fixture
def seeded(db, users, make_incident, database_url) -> dict[str, str]:
    """The incidents above; returns name -> key. Built through the services by the first test
    of each backend, put back as the same rows for the others (seeding.built_once)."""

    def build() -> dict[str, str]:
        keys = {}
        for name, (title, priority, component, environment, owner, status) in INCIDENTS.items():
            incident = make_incident(
                status, title=title, priority=priority, component=component, environment=environment, owner=owner
            )
            keys[name] = incident.key
        return keys

    return built_once(db, database_url, "test_web_dashboard.seeded", build)


@pytest.fixture
def member_client(client, users):
    sign_in(client, users["member"])
    return client


SEARCHES = [
    ("status:open", {"disk-db", "lag", "disk-ci"}),
    ("priority:p1", {"disk-db", "alb", "storage"}),
    ("owner:me", {"disk-db", "lag"}),
    ("owner:none", {"disk-ci"}),
    ("owner:lead@example.com", {"alb"}),
    ("component:rds", {"disk-db", "lag", "storage"}),
    ("env:prod", {"disk-db", "alb", "storage"}),
    ("disk", {"disk-db", "disk-ci"}),
    ("status:open priority:p1 owner:me component:rds env:prod disk", {"disk-db"}),
    ("status:open,in_progress priority:p1", {"disk-db", "alb"}),
    ("STATUS:Open env:dev", {"disk-ci"}),
    ("replica", {"lag"}),
    ("status:closed", set()),
]


@pytest.mark.parametrize(("query", "expected"), SEARCHES, ids=[q for q, _ in SEARCHES])
def test_search_box_qualifiers_filter_the_rows(member_client, seeded, query, expected):
    html = member_client.get("/", query_string={"q": query}).get_data(as_text=True)
    assert set(row_keys(html)) == {seeded[name] for name in expected}
    assert f'value="{query}"' in html  # the box keeps what was typed
    if not expected:
        assert "No incidents match." in html


def test_dropdown_filters_combine_with_the_search_box(member_client, seeded):
    """Without JavaScript the form sends the dropdowns too: they are folded into one canonical
    query in the URL, and the page shows what it says."""
    response = member_client.get("/", query_string={"status": "open", "priority": "P1", "q": "disk"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/?q=status:open+priority:p1+disk"
    html = member_client.get(response.headers["Location"]).get_data(as_text=True)
    assert row_keys(html) == [seeded["disk-db"]]


def test_a_dropdown_replaces_the_same_qualifier_typed_in_the_box_never_ors_it(member_client, seeded):
    """Defect 4: `status:open` typed + "In Progress" picked used to show both (OR)."""
    response = member_client.get("/", query_string={"q": "status:open", "status": "in_progress"})
    assert response.headers["Location"] == "/?q=status:in_progress"
    html = member_client.get(response.headers["Location"]).get_data(as_text=True)
    assert row_keys(html) == [seeded["alb"]]


@pytest.mark.parametrize(
    ("sent", "canonical"),
    [
        # The form without JavaScript: the box edited, the dropdown left as drawn -> the box wins.
        ({"q": "status:blocked", "status": "open", "was_status": "open"}, "/?q=status:blocked"),
        # The dropdown changed, the box left as drawn -> the dropdown wins.
        ({"q": "status:open disk", "status": "blocked", "was_status": "open"}, "/?q=status:blocked+disk"),
        # The dropdown set back to its default (Active) -> the qualifier goes.
        ({"q": "status:open", "status": "", "was_status": "open"}, "/"),
        ({"q": "disk", "status": "", "was_status": "", "sort": "recent", "was_sort": ""}, "/?q=disk+sort:recent"),
    ],
)
def test_the_form_without_javascript_keeps_box_and_dropdowns_consistent(member_client, seeded, sent, canonical):
    response = member_client.get("/", query_string=sent)
    assert response.status_code == 302
    assert response.headers["Location"] == canonical


def test_the_dropdowns_show_what_the_query_says(member_client, seeded):
    html = member_client.get("/", query_string={"q": "status:open priority:p1 env:prod sort:recent disk"}).get_data(
        as_text=True
    )
    selected = dict(re.findall(r'<select id="(f-[a-z]+)"[\s\S]*?<option value="([^"]*)" selected>', html))
    assert selected == {
        "f-status": "open",
        "f-priority": "P1",
        "f-owner": "",
        "f-component": "",
        "f-env": "prod",
        "f-sort": "recent",
    }
    several = member_client.get("/", query_string={"q": "status:open,blocked"}).get_data(as_text=True)
    assert [o.attrs["value"] for o in parse(several).find_all("option") if "selected" in o.attrs].count(
        "open,blocked"
    ) == 1  # the Status dropdown shows what was typed
    fragment = member_client.get(
        "/", query_string={"q": "status:blocked"}, headers={"HX-Request": "true", "HX-Target": "results"}
    ).get_data(as_text=True)
    assert 'id="filter-state"' in fragment
    assert 'data-status="blocked"' in fragment


def _component_options(html: str) -> list[str]:
    dropdown = re.search(r'<select id="f-component"[\s\S]*?</select>', html).group(0)
    return re.findall(r'<option value="([^"]+)"', dropdown)


def test_a_new_component_is_in_the_dropdown_on_the_next_load(member_client, seeded, db, users):
    # The component list is reused between requests while nothing changes (it costs ~200 index
    # probes at a million incidents); a new incident's component must still show at once.
    assert _component_options(member_client.get("/").get_data(as_text=True)) == ["alb", "ci", "rds"]
    incidents.create_incident(session=db, actor=users["lead"], title="Queue backlog", component="sqs")
    db.commit()
    assert _component_options(member_client.get("/").get_data(as_text=True)) == ["alb", "ci", "rds", "sqs"]


def test_htmx_search_returns_only_the_results_fragment(member_client, seeded):
    response = member_client.get(
        "/", query_string={"q": "disk"}, headers={"HX-Request": "true", "HX-Target": "results"}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" not in html
    assert '<form id="filters"' not in html
    assert set(row_keys(html)) == {seeded["disk-db"], seeded["disk-ci"]}
    assert "HX-Request" in response.headers["Vary"]  # a cached fragment never stands in for the page

    full = member_client.get("/", query_string={"q": "disk"}).get_data(as_text=True)
    assert "<html" in full
    assert 'id="search"' in full
    assert set(row_keys(full)) == set(row_keys(html))


def test_counters_per_status_follow_every_filter_but_status(member_client, seeded):
    html = member_client.get("/").get_data(as_text=True)
    assert status_counters(html) == {"Open": 3, "In Progress": 1, "Blocked": 0, "Resolved": 1, "Closed": 0}
    html = member_client.get("/", query_string={"q": "status:open priority:p1"}).get_data(as_text=True)
    assert status_counters(html) == {"Open": 1, "In Progress": 1, "Blocked": 0, "Resolved": 1, "Closed": 0}
    assert row_keys(html) == [seeded["disk-db"]]


def test_sort_by_priority_or_by_recency(member_client, db, users, seeded):
    # Touch the P3 incident last, so "recent" puts it first while "priority" puts it last.
    incidents.change_priority(
        session=db, incident_id=int(seeded["disk-ci"].split("-")[1]), actor=users["lead"], priority="P4"
    )
    db.commit()
    by_priority = row_keys(member_client.get("/", query_string={"q": "sort:priority"}).get_data(as_text=True))
    by_recent = row_keys(member_client.get("/", query_string={"q": "sort:recent"}).get_data(as_text=True))
    default = row_keys(member_client.get("/").get_data(as_text=True))

    db.expire_all()
    rows = {i.key: i for i in db.query(Incident).all()}
    assert [rows[key].priority for key in by_priority] == sorted(rows[key].priority for key in by_priority)
    assert by_priority[-1] == seeded["disk-ci"]
    assert by_recent[0] == seeded["disk-ci"]
    assert by_recent == sorted(by_recent, key=lambda key: rows[key].updated_at, reverse=True)
    assert default == by_priority


def test_page_two_past_fifty_rows(member_client, db, users):
    for number in range(55):
        incidents.create_incident(session=db, actor=users["lead"], title=f"Noisy alarm {number:02d}", priority="P3")
    db.commit()
    first = member_client.get("/", query_string={"q": "sort:recent"}).get_data(as_text=True)
    second = member_client.get("/", query_string={"q": "sort:recent", "page": "2"}).get_data(as_text=True)
    assert len(row_keys(first)) == 50
    assert len(row_keys(second)) == 5
    assert set(row_keys(first)).isdisjoint(row_keys(second))
    assert "55 incidents · page 1 of 2" in first
    assert "Next page" in first
    assert "page 2 of 2" in second
    assert "Previous page" in second
    assert "Next page" not in second
    next_link = next(attrs["href"] for tag, attrs in tags(first) if tag == "a" and attrs.get("rel") == "next")
    assert next_link == "/?q=sort:recent&page=2"  # the link keeps the filters
    assert row_keys(second)[-1] == "INC-1"  # the oldest comes last


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("priority:p9", "Unknown priority &#39;p9&#39;"),
        ("status:nope", "Unknown status &#39;nope&#39;"),
        ("env:moon", "Unknown environment &#39;moon&#39;"),
        ("owner:", "&#39;owner:&#39; needs a value"),
    ],
)
def test_a_bad_qualifier_is_named_in_a_message(member_client, seeded, query, message):
    response = member_client.get("/", query_string={"q": f"{query} disk"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert message in html
    assert any(message.replace("&#39;", "'") in alert for alert in texts(html, "div", "role", "status"))
    assert set(row_keys(html)) == {seeded["disk-db"], seeded["disk-ci"]}  # the rest of the search still applies


def test_row_offers_only_the_moves_this_user_may_make(client, users, seeded):
    sign_in(client, users["member"])
    html = client.get("/").get_data(as_text=True)
    own_row = parse(html).find("tr", id=f"row-{seeded['disk-db']}")
    others_row = parse(html).find("tr", id=f"row-{seeded['storage']}")
    offered = {option.attrs.get("value"): option.text for option in own_row.find_all("option")}
    assert offered.get("in_progress") == "In Progress"
    assert "closed" not in offered  # closing is a lead's move
    assert others_row.find_all("select") == []  # not the member's incident: no control at all


@pytest.mark.parametrize("page", ["0", "-3", "abc", "", "100000000000", "99999999999999999999"])
def test_any_page_number_gets_a_page(member_client, seeded, page):
    response = member_client.get("/", query_string={"page": page})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert len(row_keys(html)) == len(INCIDENTS)  # one page holds them all: past it, that page


def test_the_dashboard_asks_the_database_a_fixed_number_of_questions(member_client, db, users):
    """Loading the signed-in user is one query, users are listed once, and the statement count
    does not grow with the number of incidents (no per-row queries, no watchers loaded)."""
    engine = member_client.application.extensions["db_engine"]

    def count_statements() -> int:
        seen: list[str] = []

        def capture(_conn, _cursor, statement, *_args):
            seen.append(statement)

        event.listen(engine, "before_cursor_execute", capture)
        try:
            assert member_client.get("/").status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", capture)
        assert sum("FROM login_sessions" in s for s in seen) == 1
        assert sum(s.lstrip().startswith("SELECT users.") for s in seen) <= 1
        assert not any("incident_watchers" in s for s in seen)
        return len(seen)

    for number in range(3):
        incidents.create_incident(session=db, actor=users["lead"], title=f"First batch {number}")
    db.commit()
    few = count_statements()
    for number in range(30):
        incidents.create_incident(session=db, actor=users["lead"], title=f"Second batch {number}")
    db.commit()
    assert count_statements() == few


def test_past_a_thousand_matches_the_dashboard_says_1000_plus(member_client, db, users):
    """Counting stops at the cap: the summary and the counter say "1,000+", paging still works."""
    now = utcnow()
    rows = [
        {
            "key": f"INC-{n}",
            "title": f"Noisy alarm {n}",
            "description": "",
            "status": "open",
            "priority": "P3",
            "component": "monitoring",
            "environment": "prod",
            "reporter_id": users["lead"].id,
            "created_at": now,
            "updated_at": now,
            "version": 1,
        }
        for n in range(1, 1006)
    ]
    db.execute(insert(Incident), rows)
    db.commit()
    html = member_client.get("/").get_data(as_text=True)
    assert "1,000+ incidents" in html
    assert any(link.text == "1,000+ Open" for link in parse(html).find_all("a", class_="counter"))
    assert status_counters(html)["Closed"] == 0
    assert "Next page" in html
    last = member_client.get("/", query_string={"page": "21"}).get_data(as_text=True)
    assert len(row_keys(last)) == 5
    assert "Next page" not in last
    assert "Previous page" in last


# --- Defect 3: a new incident joins the list only if it matches ------------------------------


@pytest.mark.parametrize(
    ("dashboard_url", "listed"),
    [
        ("http://localhost/?q=priority:p4", False),  # the reported case: a P1 filed on a P4 view
        ("http://localhost/?q=priority:p1", True),
        ("http://localhost/", True),
        ("http://localhost/?q=status:closed", False),
        ("http://localhost/?q=nothing+like+it", False),
        ("http://localhost/incidents/INC-1", False),  # not the dashboard: no list to add to
    ],
)
def test_a_new_incident_joins_the_list_only_if_it_matches(member_client, db, seeded, dashboard_url, listed):
    data = {"title": "Checkout 500s", "priority": "P1", "component": "alb", "environment": "prod", "owner": ""}
    response = member_client.post(
        "/incidents/new", data=data, headers={"HX-Request": "true", "HX-Current-URL": dashboard_url}
    )
    html = response.get_data(as_text=True)
    key = db.query(Incident).order_by(Incident.id.desc()).first().key
    assert response.status_code == 200
    assert row_keys(html) == ([key] if listed else [])
    # Visible either way (not only for screen readers), with a link to the new incident.
    notice = parse(html).find(hx_swap_oob="innerHTML:#created-notice")
    assert notice.text.startswith(f"{key} created: Checkout 500s.")
    assert [link.attrs["href"] for link in notice.find_all("a") if link.text == key] == [f"/incidents/{key}"]
    assert ("isn't listed below" in html) is not listed
    # The counts the page fetches afterwards agree with the rows shown.
    query = dashboard_url.partition("?")[2]
    if dashboard_url.startswith("http://localhost/?") or dashboard_url == "http://localhost/":
        page = member_client.get("/?" + query).get_data(as_text=True)
        shown = len(row_keys(page))
        assert re.search(rf"<p class=\"summary\" role=\"status\">{shown} incident", page)


# --- The Active default view, age and time in status ----------------------------------------


def test_the_dashboard_opens_on_active_incidents_with_closed_one_click_away(member_client, make_incident, seeded):
    closed = make_incident("closed", title="Old closed outage", priority="P2")
    html = member_client.get("/").get_data(as_text=True)
    assert closed.key not in row_keys(html)
    assert set(row_keys(html)) == set(seeded.values())
    assert "Closed ones are left out" in html
    assert status_counters(html)["Closed"] == 1  # the counter still counts it...
    closed_link = re.search(r'<a class="counter" href="([^"]+)"[^>]*>\s*<span class="count">1</span> Closed', html)
    assert closed_link
    assert closed_link.group(1) == "/?q=status:closed"
    assert row_keys(member_client.get(closed_link.group(1)).get_data(as_text=True)) == [closed.key]
    everything = member_client.get("/", query_string={"q": "status:all"}).get_data(as_text=True)
    assert set(row_keys(everything)) == {*seeded.values(), closed.key}
    pills = {link.text: link.attrs["href"] for link in parse(html).find("nav", class_="counters").find_all("a")}
    # Active and All count too: every status but Closed, and every status.
    active, everything_count = len(seeded), len(seeded) + 1
    assert pills[f"{active} Active"] == "/"
    assert pills[f"{everything_count} All"] == "/?q=status:all"


@pytest.mark.parametrize("query", ["", "-status:closed", "-status:open", "-status:open,resolved", "status:all"])
def test_the_summary_counts_the_rows_a_status_exclusion_leaves(member_client, make_incident, seeded, query):
    """The default Active view and a typed -status: leave incidents out: the count above the
    table says how many rows it holds, not how many there are in all."""
    make_incident("closed", title="Old closed outage", priority="P2")
    html = member_client.get("/", query_string={"q": query}).get_data(as_text=True)
    shown = len(row_keys(html))
    summary = parse(html).find("p", class_="summary").text
    assert summary == f"{shown} incident{'' if shown == 1 else 's'}"


def test_rows_show_age_and_time_in_status(member_client, db, make_incident):
    from datetime import timedelta

    incident = make_incident("in_progress", title="Slow queries")
    incident.created_at = utcnow() - timedelta(days=3)
    incident.in_progress_at = utcnow() - timedelta(hours=5)
    db.commit()
    html = member_client.get("/").get_data(as_text=True)
    row = html.split(f'id="row-{incident.key}"')[1].split("</tr>")[0]
    assert {"Age", "In status for"} <= {header.text for header in parse(html).find_all("th", scope="col")}
    assert ">3 d</time>" in row
    assert ">5 h</time>" in row
    assert 'title="In Progress since' in row


# --- Search that explains itself --------------------------------------------------------------

MORE_SEARCHES = [
    ("-status:open", {"alb", "storage"}),
    ("-env:prod", {"lag", "disk-ci"}),
    ("-env:prod,dev", {"lag"}),
    ("-priority:p1 -component:ci", {"lag"}),
    ("title:disk", {"disk-db", "disk-ci"}),
    ("title:replica", {"lag"}),
    ("title:full title:agent", {"disk-ci"}),
    ("owner:Mo", {"disk-db", "lag"}),  # a partial name ("Mo Member")
    ("owner:memb", {"disk-db", "lag"}),  # a partial email
    ("-owner:me", {"alb", "disk-ci", "storage"}),
    ("-owner:none", {"disk-db", "lag", "alb", "storage"}),
]


@pytest.mark.parametrize(("query", "expected"), MORE_SEARCHES, ids=[q for q, _ in MORE_SEARCHES])
def test_negation_title_and_partial_owner(member_client, seeded, query, expected):
    html = member_client.get("/", query_string={"q": query}).get_data(as_text=True)
    assert set(row_keys(html)) == {seeded[name] for name in expected}


def test_a_negated_word_is_named_and_not_searched(member_client, seeded):
    """Searched as a word, "-disk" found the disk incidents: the opposite of what was asked."""
    html = member_client.get("/", query_string={"q": "-disk"}).get_data(as_text=True)
    unfiltered = set(row_keys(member_client.get("/").get_data(as_text=True)))
    assert unfiltered > {seeded["disk-db"], seeded["disk-ci"]}
    assert set(row_keys(html)) == unfiltered  # not searched at all, rather than searched for
    assert "Words can&#39;t be left out: &#39;-disk&#39; was not searched." in html


def test_sort_qualifier_orders_the_rows(member_client, seeded):
    by_recent = row_keys(member_client.get("/", query_string={"q": "sort:recent"}).get_data(as_text=True))
    by_oldest = row_keys(member_client.get("/", query_string={"q": "sort:oldest"}).get_data(as_text=True))
    assert by_recent == list(reversed(by_oldest))
    html = member_client.get("/", query_string={"q": "sort:sideways"}).get_data(as_text=True)
    assert "Unknown sort &#39;sideways&#39;" in html


@pytest.mark.parametrize(
    ("query", "reasons"),
    [
        ("env:dev priority:p1", ["env:dev excludes every incident", "priority:p1 excludes every incident"]),
        ("component:nosuch disk", ["Nothing matches component:nosuch on its own."]),
        ("zzyzx", ["Nothing matches zzyzx on its own."]),
        # Each alone finds one incident, any two find none: no single part is to blame.
        ("env:dev priority:p2 component:alb", ["no incident matches them all: removing any one part is not enough"]),
    ],
)
def test_when_nothing_matches_the_page_says_which_part_excluded_everything(member_client, seeded, query, reasons):
    html = member_client.get("/", query_string={"q": query}).get_data(as_text=True)
    assert row_keys(html) == []
    explained = " ".join(texts(html, "ul", "class", "why-empty"))
    for reason in reasons:
        assert reason in explained
    assert [link.attrs["href"] for link in parse(html).find_all("a") if link.text == "Clear filters"] == ["/"]


def test_a_typo_still_finds_the_incident_on_every_backend(member_client, seeded):
    for typo in ("replcation", "replicaton", "replicattion"):
        html = member_client.get("/", query_string={"q": typo}).get_data(as_text=True)
        assert row_keys(html), typo
    html = member_client.get("/", query_string={"q": "replcation"}).get_data(as_text=True)
    assert seeded["lag"] in row_keys(html)


# --- Saved views -------------------------------------------------------------------------------


def _view_links(html: str) -> dict[str, str]:
    section = html.split('id="saved-views-heading"')[1].split("</section>")[0]
    return dict((name, href) for href, name in re.findall(r'<a href="([^"]+)"[^>]*>([^<]+)</a>', section))


def test_a_view_name_with_quotes_reads_as_typed_in_the_messages(client, users, seeded):
    """Found by QA: "Saved the view 'O\\'Brien\\'s ...'" (Python's repr) in the flash message."""
    sign_in(client, users["member"])
    name = "O'Brien's \"hot\"\tlist"
    saved = client.post("/views", data={"name": name, "q": "disk"}, follow_redirects=True)
    assert "Saved the view “O'Brien's \"hot\" list”." in unescape(saved.get_data(as_text=True))
    again = client.post("/views", data={"name": name, "q": "rds"}, follow_redirects=True)
    assert "You already have a view named “O'Brien's \"hot\" list”" in unescape(again.get_data(as_text=True))


def test_save_the_current_search_as_a_named_view_and_open_it(client, users, seeded):
    sign_in(client, users["member"])
    response = client.post("/views", data={"name": "My open disks", "q": "disk  status:open"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/?q=status:open+disk"
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Saved the view “My open disks”." in html
    assert _view_links(html) == {"My open disks": "/?q=status:open+disk"}
    opened = client.get(_view_links(html)["My open disks"]).get_data(as_text=True)
    assert set(row_keys(opened)) == {seeded["disk-db"], seeded["disk-ci"]}

    # The same name twice is refused with a message; nothing else is saved.
    again = client.post("/views", data={"name": "my open disks", "q": "priority:p1"}, follow_redirects=True)
    assert "already have a view named" in again.get_data(as_text=True)
    assert list(_view_links(again.get_data(as_text=True))) == ["My open disks"]
    empty = client.post("/views", data={"name": "  ", "q": "x"}, follow_redirects=True)
    assert "Give the view a name." in empty.get_data(as_text=True)


def test_a_refused_view_name_keeps_the_save_form_open_with_what_was_typed(client, users, seeded):
    """Found by QA: the refusal closed "Save view", losing the typed name and the ticked boxes."""
    sign_in(client, users["lead"])
    client.post("/views", data={"name": "P1 prod", "q": "priority:p1 env:prod", "team": "1"})
    refused = client.post(
        "/views", data={"name": "P1 prod", "q": "priority:p1,p2 env:prod", "team": "1"}, follow_redirects=True
    )
    html = refused.get_data(as_text=True)
    details = next(attrs for tag, attrs in tags(html) if tag == "details" and "save-view" in attrs.get("class", ""))
    assert "open" in details
    name = next(attrs for tag, attrs in tags(html) if attrs.get("id") == "view-name")
    assert (name["value"], name["aria-invalid"], name["aria-describedby"]) == ("P1 prod", "true", "view-name-error")
    assert "You already have a team view named “P1 prod”" in unescape(texts(html, "p", "id", "view-name-error")[0])
    team = next(attrs for tag, attrs in tags(html) if attrs.get("name") == "team")
    assert "checked" in team
    # Drawn once: the next visit shows the form closed and empty.
    again = client.get("/").get_data(as_text=True)
    assert "open" not in next(a for t, a in tags(again) if t == "details" and "save-view" in a.get("class", ""))


def test_a_view_is_refined_by_saving_it_again_with_replace(client, users, seeded):
    """Found by QA: a saved view could not be changed, only deleted and saved again."""
    sign_in(client, users["member"])
    client.post("/views", data={"name": "Disks", "q": "disk"})
    refused = client.post("/views", data={"name": "disks", "q": "disk status:open"}, follow_redirects=True)
    assert "tick “Replace my view of that name”" in unescape(refused.get_data(as_text=True))
    replaced = client.post(
        "/views", data={"name": "disks", "q": "disk status:open", "replace": "1"}, follow_redirects=True
    )
    html = replaced.get_data(as_text=True)
    assert "Saved the view “Disks”." in unescape(html)
    assert _view_links(html) == {"Disks": "/?q=status:open+disk"}  # one view, the new search


def test_a_persons_views_are_their_own_and_a_team_view_is_everyones(app, users, seeded):
    lead, member, other = app.test_client(), app.test_client(), app.test_client()
    sign_in(lead, users["lead"])
    sign_in(member, users["member"])
    sign_in(other, users["other"])
    member.post("/views", data={"name": "Mine", "q": "owner:me"})
    lead.post("/views", data={"name": "All P1s", "q": "priority:p1", "team": "1"})
    # A member cannot make a team view (the box is not even offered).
    assert member.post("/views", data={"name": "Sneaky", "q": "", "team": "1"}).status_code == 403
    assert 'name="team"' not in member.get("/").get_data(as_text=True)
    assert 'name="team"' in lead.get("/").get_data(as_text=True)

    assert _view_links(member.get("/").get_data(as_text=True)) == {"All P1s": "/?q=priority:p1", "Mine": "/?q=owner:me"}
    assert _view_links(other.get("/").get_data(as_text=True)) == {"All P1s": "/?q=priority:p1"}
    assert _view_links(lead.get("/").get_data(as_text=True)) == {"All P1s": "/?q=priority:p1"}


def test_delete_your_own_views_only(app, db, users, seeded):
    from shared.incidents.saved_views import SavedView

    member, other = app.test_client(), app.test_client()
    sign_in(member, users["member"])
    sign_in(other, users["other"])
    member.post("/views", data={"name": "Mine", "q": "owner:me"})
    view_id = db.query(SavedView).one().id
    html = member.get("/").get_data(as_text=True)
    buttons = parse(html).find_all("button")
    assert any(button.attrs.get("aria-label") == "Delete view Mine" for button in buttons)  # its accessible name
    assert other.post(f"/views/{view_id}/delete").status_code == 404  # not theirs: not even there
    response = member.post(f"/views/{view_id}/delete", data={"confirm": "1"}, follow_redirects=True)  # Yes
    assert "Deleted the view “Mine”." in response.get_data(as_text=True)
    db.expire_all()
    assert db.query(SavedView).count() == 0


# --- Live dashboard: polling with an ETag ----------------------------------------------------------


def test_changes_answers_304_until_an_incident_changes(member_client, db, users, seeded):
    html = member_client.get("/").get_data(as_text=True)
    marker = re.search(r'data-change-marker="([^"]+)"', html).group(1)
    first = member_client.get("/changes")
    assert first.status_code == 204
    assert first.headers["ETag"] == f'"{marker}"'
    assert "no-store" in first.headers["Cache-Control"]  # the page asks with If-None-Match itself
    assert member_client.get("/changes", headers={"If-None-Match": f'"{marker}"'}).status_code == 304

    incidents.change_priority(
        session=db, incident_id=int(seeded["lag"].split("-")[1]), actor=users["lead"], priority="P1"
    )
    db.commit()
    changed = member_client.get("/changes", headers={"If-None-Match": f'"{marker}"'})
    assert changed.status_code == 204
    assert changed.headers["ETag"] != f'"{marker}"'

    incidents.create_incident(session=db, actor=users["lead"], title="Brand new")
    db.commit()
    newer = member_client.get("/changes", headers={"If-None-Match": changed.headers["ETag"]})
    assert newer.status_code == 204


def test_an_incident_pages_changes_answer_304_until_anything_it_shows_changes(member_client, db, users, seeded):
    key = seeded["lag"]
    incident_id = int(key.split("-")[1])
    html = member_client.get(f"/incidents/{key}").get_data(as_text=True)
    marker = re.search(r'data-change-marker="([^"]+)"', html).group(1)
    url = re.search(r'data-changes-url="([^"]+)"', html).group(1)
    assert url == f"/incidents/{key}/changes"
    first = member_client.get(url)
    assert first.status_code == 204
    assert first.headers["ETag"] == f'"{marker}"'
    assert member_client.get(url, headers={"If-None-Match": f'"{marker}"'}).status_code == 304

    # A comment leaves the incident row alone but is on the page: it counts as a change.
    incidents.add_comment(session=db, incident_id=incident_id, actor=users["lead"], body="Looking")
    db.commit()
    commented = member_client.get(url, headers={"If-None-Match": f'"{marker}"'})
    assert commented.status_code == 204
    incidents.change_priority(session=db, incident_id=incident_id, actor=users["lead"], priority="P1")
    db.commit()
    assert member_client.get(url, headers={"If-None-Match": commented.headers["ETag"]}).status_code == 204
    # Another incident's change is not this page's.
    incidents.create_incident(session=db, actor=users["lead"], title="Elsewhere")
    db.commit()
    latest = member_client.get(url).headers["ETag"]
    assert member_client.get(url, headers={"If-None-Match": latest}).status_code == 304
    assert member_client.get("/incidents/INC-9999/changes").status_code == 404


def test_a_poll_is_one_small_question_whatever_the_number_of_incidents(member_client, db, users):
    engine = member_client.application.extensions["db_engine"]
    seen: list[str] = []

    def capture(_conn, _cursor, statement, *_args):
        seen.append(statement)

    for number in range(20):
        incidents.create_incident(session=db, actor=users["lead"], title=f"Alarm {number}")
    db.commit()
    event.listen(engine, "before_cursor_execute", capture)
    try:
        assert member_client.get("/changes").status_code == 204
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    on_incidents = [s for s in seen if "incidents" in s]
    assert len(on_incidents) == 1
    assert "max(incidents.activity_at)" in on_incidents[0]
    assert "count(" not in on_incidents[0].lower()
