"""Links in comments and descriptions: a bare URL is a link (as on GitHub), a link to another
site opens in a new tab (the live incident page stays open) and says so to a screen reader
(the link's description, not its text: copying a comment copies the address as typed), a link
to the app itself stays in the tab, and the sanitiser still keeps javascript: and the like out.
A comment over the length limit says how long it is and where a long log goes instead."""

from __future__ import annotations

from web_helpers import parse, sign_in

from shared.incidents import service as incidents

NEW_TAB_REL = "noopener noreferrer nofollow"
OWN_ORIGIN = "http://127.0.0.1:8133"


def _description_of(page, link) -> str:
    """What a screen reader adds after the link's name: the text of the elements its
    aria-describedby names, each of which must be on the page (exactly once)."""
    described = []
    for ref in link.attrs["aria-describedby"].split():
        (element,) = page.find_all(id=ref)
        described.append(element.text.strip())
    return " ".join(described)


def _comment_links(client, incident, body: str):
    """The links of `body` posted as a comment, as the incident page then shows them."""
    posted = client.post(f"/incidents/{incident.key}/comments", data={"body": body})
    assert posted.status_code == 302
    page = parse(client.get(f"/incidents/{incident.key}").get_data(as_text=True))
    (comment,) = page.find_all("div", class_="comment")
    return page, comment, comment.find_all("a")


def test_bare_urls_in_a_comment_are_links_that_open_in_a_new_tab(client, users, make_incident):
    incident = make_incident("in_progress")
    sign_in(client, users["member"])
    page, comment, links = _comment_links(
        client,
        incident,
        "Status page: https://status.example.com/incidents/abc123\n\nraw https://example.com/x?y=1&z=2",
    )
    assert [link.attrs["href"] for link in links] == [
        "https://status.example.com/incidents/abc123",
        "https://example.com/x?y=1&z=2",
    ]
    for link in links:
        assert link.attrs["target"] == "_blank"
        assert link.attrs["rel"] == NEW_TAB_REL
        assert _description_of(page, link) == "Opens in a new tab"
    # The link's text (its name, and what copying the comment copies) is the URL as typed and
    # nothing else; a screen reader hears "Opens in a new tab" as its description.
    assert [link.text for link in links] == [
        "https://status.example.com/incidents/abc123",
        "https://example.com/x?y=1&z=2",
    ]
    assert " ".join(comment.text.split()) == (
        "Status page: https://status.example.com/incidents/abc123 raw https://example.com/x?y=1&z=2"
    )


def test_a_typed_link_in_a_description_opens_in_a_new_tab(client, users, make_incident):
    incident = make_incident("open", description="Follow [the failover runbook](https://wiki.example/failover).")
    sign_in(client, users["member"])
    page = parse(client.get(f"/incidents/{incident.key}").get_data(as_text=True))
    description = page.find("div", class_="markdown")
    (link,) = description.find_all("a")
    assert link.attrs["href"] == "https://wiki.example/failover"
    assert link.attrs["target"] == "_blank"
    assert link.attrs["rel"] == NEW_TAB_REL
    assert link.text == "the failover runbook"
    assert _description_of(page, link) == "Opens in a new tab"


def test_a_link_to_the_app_itself_stays_in_the_tab(make_app, users, make_incident):
    """The README: "a link to another site opens in a new tab"; one to another incident of
    this app (its BASE_URL's scheme, host and port) does not, and says nothing of a tab."""
    client = make_app(base_url=OWN_ORIGIN).test_client()
    incident = make_incident(
        "open",
        description=(
            f"Same as {OWN_ORIGIN}/incidents/INC-2 and [the earlier one]({OWN_ORIGIN}/incidents/INC-1); "
            "not http://127.0.0.1:9999/x nor https://127.0.0.1:8133/y."
        ),
    )
    sign_in(client, users["member"])
    page, _comment, links = _comment_links(client, incident, f"Duplicate of {OWN_ORIGIN}/incidents/INC-2")
    (own_in_comment,) = links
    description = page.find("div", class_="markdown")
    own, earlier, other_port, other_scheme = description.find_all("a")
    for link in (own_in_comment, own, earlier):
        assert "target" not in link.attrs
        assert "aria-describedby" not in link.attrs
    for link in (own_in_comment, own):
        assert link.attrs["href"] == f"{OWN_ORIGIN}/incidents/INC-2"
        assert link.text == f"{OWN_ORIGIN}/incidents/INC-2"
    for link in (other_port, other_scheme):  # another port or scheme is another site
        assert link.attrs["target"] == "_blank"
        assert _description_of(page, link) == "Opens in a new tab"


def test_a_scheme_relative_link_to_another_site_is_told_as_one(make_app, users, make_incident):
    """Found by a security review: [text](//evil.example/x) leads to another site from the
    page, yet was taken for one of the app's own paths: same tab, no "Opens in a new tab"."""
    client = make_app(base_url=OWN_ORIGIN).test_client()
    own_host = OWN_ORIGIN.split("://", 1)[1]
    incident = make_incident("open")
    sign_in(client, users["member"])
    page, _comment, links = _comment_links(
        client, incident, f"See [the runbook](//evil.example/runbook) and [this app](//{own_host}/incidents/INC-1)."
    )
    elsewhere, own = links
    assert elsewhere.attrs["href"] == "//evil.example/runbook"
    assert elsewhere.attrs["target"] == "_blank"
    assert _description_of(page, elsewhere) == "Opens in a new tab"
    assert "target" not in own.attrs
    assert "aria-describedby" not in own.attrs


def test_only_web_and_mail_links_are_made_and_javascript_is_still_stripped(client, db, users, make_incident):
    incident = make_incident("in_progress")
    hostile = (
        '[click me](javascript:alert(1)) javascript:alert(2) <a href="javascript:alert(3)">raw</a>\n\n'
        "JAVASCRIPT:alert(4) vbscript:msgbox(5) data:text/html,<script>alert(6)</script>\n\n"
        "ftp://files.example/dump //cdn.example/x.js setup.py www.example.com ubuntu@bastion.example.com\n\n"
        "Mail mailto:oncall@example.com or see [the last comment](#comment-1)."
    )
    incidents.add_comment(session=db, incident_id=incident.id, actor=users["other"], body=hostile)
    db.commit()
    sign_in(client, users["member"])
    page = parse(client.get(f"/incidents/{incident.key}").get_data(as_text=True))
    (comment,) = page.find_all("div", class_="comment")
    links = {link.attrs.get("href"): link.attrs for link in comment.find_all("a")}
    assert set(links) == {"mailto:oncall@example.com", "#comment-1"}
    # Neither leaves the page for another site: no new tab for them.
    assert all("target" not in attrs for attrs in links.values())
    assert not comment.find_all("script")
    assert "javascript:alert(2)" in comment.text  # shown as the text it is


def test_an_over_long_comment_says_its_length_and_where_a_long_log_goes(client, db, users, make_incident):
    incident = make_incident("in_progress")
    sign_in(client, users["member"])
    log = "\n".join(f"2026-12-01T08:{n % 60:02d}:00Z ERROR payments-api " + "x" * 153 for n in range(200))
    assert len(log) == 38_799  # a 200-line log, pasted
    refused = client.post(f"/incidents/{incident.key}/comments", data={"body": log})
    assert refused.status_code == 422
    page = parse(refused.get_data(as_text=True))
    assert page.find("p", id="comment-error").text == (
        "This comment is 38,799 characters; comments can be up to 20,000. "
        "Attach a long log as a file instead, under Evidence on the incident page."
    )
    box = page.find("textarea", id="comment-body")
    assert box.attrs["aria-describedby"] == "comment-error"
    assert box.text.startswith("2026-12-01T08:00:00Z ERROR payments-api")  # what was pasted is kept
    assert incidents.comments_by_id(session=db, incident_id=incident.id) == {}
