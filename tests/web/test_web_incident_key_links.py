"""An incident key typed in a comment or a description ("same cause as INC-12") is a link to
that incident's page, as GitHub links "#12": only a key of its own, as keys are written, and
never inside code, inside another link, or inside a longer word. A key of no incident links
too (its page says there is none): what a text renders to must not depend on the database."""

from __future__ import annotations

import pytest
from web_helpers import parse, sign_in

from shared.incidents import service as incidents
from web.filters import render_markdown


def _links(app, source: str, *, root: str = "") -> list[tuple[str, str]]:
    """(text, href) of each link `source` renders to on a page of `app` under URL root `root`."""
    with app.test_request_context("/", base_url=f"http://localhost{root}"):
        html = render_markdown(source)
    return [(link.text, link.attrs["href"]) for link in parse(html).find_all("a")]


@pytest.mark.parametrize(
    ("source", "links"),
    [
        ("Same as INC-12.", [("INC-12", "/incidents/INC-12")]),
        ("(INC-3, INC-40) and **INC-5**", [(f"INC-{n}", f"/incidents/INC-{n}") for n in (3, 40, 5)]),
        (
            "- [ ] check INC-7\n\n| Key |\n|---|\n| INC-8 |",
            [("INC-7", "/incidents/INC-7"), ("INC-8", "/incidents/INC-8")],
        ),
        ("# Follow-up of INC-9", [("INC-9", "/incidents/INC-9")]),
        ("Branch fix/INC-6-timeouts", [("INC-6", "/incidents/INC-6")]),
        ("INC-1\nINC-2", [("INC-1", "/incidents/INC-1"), ("INC-2", "/incidents/INC-2")]),
    ],
)
def test_a_bare_incident_key_links_to_its_page(app, source, links):
    assert _links(app, source) == links


@pytest.mark.parametrize(
    "source",
    [
        "`INC-12` in a code span",
        "```\nsee INC-12\n```",
        "    INC-12 in an indented code block",
        "XINC-12 and INC-12abc and INC-12_b and a_INC-12",
        "an escaped INC\\-12, and \\_INC-12",
        "inc-12 and Inc-12 (keys are written in capitals)",
        "INC-012 and INC-0 are no key",
        "oncall+INC-12@example.com",
    ],
)
def test_a_key_in_code_in_a_word_or_not_written_as_a_key_stays_text(app, source):
    # Beside a key that does link, in the same text.
    assert _links(app, f"{source}\n\nunlike INC-99") == [("INC-99", "/incidents/INC-99")]


def test_a_key_in_a_link_stays_that_links_text_or_address(app):
    links = _links(
        app,
        "[the INC-12 runbook](https://wiki.example/INC-13) https://status.example/INC-14 <https://x.example/INC-15>"
        " then INC-16",
    )
    assert links == [
        ("the INC-12 runbook", "https://wiki.example/INC-13"),
        ("https://status.example/INC-14", "https://status.example/INC-14"),
        ("https://x.example/INC-15", "https://x.example/INC-15"),
        ("INC-16", "/incidents/INC-16"),
    ]


def test_under_a_url_root_the_link_has_it_and_the_cache_keeps_the_two_apart(app):
    """The rendered HTML is cached by its text: the URL root is part of the key."""
    assert _links(app, "See INC-12", root="/tracker") == [("INC-12", "/tracker/incidents/INC-12")]
    assert _links(app, "See INC-12") == [("INC-12", "/incidents/INC-12")]


def test_a_comment_links_another_incident_its_own_and_one_that_does_not_exist(client, db, users, make_incident):
    earlier = make_incident("resolved", title="Payments DB failover")
    current = make_incident("in_progress", title="Checkout errors")
    missing = f"INC-{current.id + 1000}"
    sign_in(client, users["member"])
    body = f"Same cause as {earlier.key}? Tracked here as {current.key}; not {missing}."
    posted = client.post(f"/incidents/{current.key}/comments", data={"body": body})
    assert posted.status_code == 302
    page = parse(client.get(f"/incidents/{current.key}").get_data(as_text=True))
    (comment,) = page.find_all("div", class_="comment")
    links = {link.text: link.attrs for link in comment.find_all("a")}
    assert {key: attrs["href"] for key, attrs in links.items()} == {
        earlier.key: f"/incidents/{earlier.key}",
        current.key: f"/incidents/{current.key}",
        missing: f"/incidents/{missing}",
    }
    # The app's own pages: the same tab, nothing said of a new one.
    assert all("target" not in attrs and "aria-describedby" not in attrs for attrs in links.values())

    followed = client.get(links[earlier.key]["href"])
    assert followed.status_code == 200
    assert "Payments DB failover" in parse(followed.get_data(as_text=True)).find("h1").text

    nothing = client.get(links[missing]["href"])
    assert nothing.status_code == 404
    page = parse(nothing.get_data(as_text=True))
    assert page.find("h1").text == "Not found"
    assert page.find("p", role="alert").text == f"No incident {missing}."
    assert "Back to incidents" in [link.text for link in page.find_all("a", href="/")]


def test_the_link_does_not_depend_on_whether_the_incident_exists(client, db, users, make_incident):
    """Rendered once while INC-n does not exist, the cached HTML is still right once it does."""
    current = make_incident("open", title="Checkout errors")
    upcoming = f"INC-{current.id + 1}"
    sign_in(client, users["member"])
    client.post(f"/incidents/{current.key}/comments", data={"body": f"Split out as {upcoming}"})
    before = client.get(f"/incidents/{current.key}").get_data(as_text=True)
    created = incidents.create_incident(session=db, actor=users["lead"], title="Split out")
    db.commit()
    assert created.key == upcoming
    after = client.get(f"/incidents/{current.key}").get_data(as_text=True)
    for html in (before, after):
        (comment,) = parse(html).find_all("div", class_="comment")
        assert [(a.text, a.attrs["href"]) for a in comment.find_all("a")] == [(upcoming, f"/incidents/{upcoming}")]
