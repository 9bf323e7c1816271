"""A search result that matched only outside its title says where: "Matched in a comment by Lee
Lead: “…rolled back CHG-4411 at 02:10…”" under the title (the QA report: a row found by a word
of its discussion gave no hint why it was listed)."""

from __future__ import annotations

import re
from html import unescape

from web_helpers import row_keys, sign_in

from shared.incidents import service as incidents


def _row(html: str, key: str) -> str:
    found = re.search(rf'<tr id="row-{key}".*?</tr>', html, re.DOTALL)
    assert found, f"{key} is not listed"
    return found[0]


def _hint(html: str, key: str) -> str | None:
    """The row's hint as HTML (its <mark> tags kept), or None."""
    found = re.search(r'<span class="search-hint">(.*?)</span>', _row(html, key), re.DOTALL)
    return found[1] if found else None


def _text(hint: str) -> str:
    return unescape(re.sub(r"</?mark>", "", hint))


def _search(client, query: str, live: bool = False) -> str:
    headers = {"HX-Request": "true", "HX-Target": "results"} if live else {}
    return client.get("/", query_string={"q": query}, headers=headers).get_data(as_text=True)


def test_a_comment_only_match_names_the_comment_author_and_marks_the_word(client, db, users, make_incident):
    incident = make_incident("open", title="Checkout latency after the deploy")
    incidents.add_comment(
        session=db, incident_id=incident.id, actor=users["member"], body="An older note: nothing about tickets."
    )
    incidents.add_comment(
        session=db,
        incident_id=incident.id,
        actor=users["lead"],
        body="Paged the payments team.\n\n  We rolled back   CHG-4411 at 02:10 and latency recovered.",
    )
    db.commit()
    sign_in(client, users["member"])

    for live in (False, True):
        html = _search(client, "CHG-4411", live=live)
        assert row_keys(html) == [incident.key]
        hint = _hint(html, incident.key)
        assert hint is not None, "the row says nothing of where CHG-4411 was found"
        text = _text(hint)
        assert text.startswith(f"Matched in a comment by {users['lead'].name}: “")
        # The excerpt: around the word, its whitespace collapsed, the word marked.
        assert "rolled back CHG-4411 at 02:10" in text
        assert "<mark>CHG</mark>-<mark>4411</mark>" in hint
        assert len(text) < 200


def test_the_description_is_named_before_the_comments(client, db, users, make_incident):
    incident = make_incident("open", title="Checkout latency", description="Started after change CHG-4411 went out.")
    incidents.add_comment(session=db, incident_id=incident.id, actor=users["lead"], body="CHG-4411 rolled back.")
    db.commit()
    sign_in(client, users["member"])

    hint = _hint(_search(client, "checkout chg-4411"), incident.key)
    assert hint is not None
    assert _text(hint) == "Matched in the description: “Started after change CHG-4411 went out.”"


def test_a_block_reason_is_named(client, db, users, make_incident):
    incident = make_incident("in_progress", title="Payments 5xx spike")
    incidents.transition(
        session=db, incident_id=incident.id, actor=users["lead"], to="blocked", reason="Waiting on CHG-4411 approval."
    )
    db.commit()
    sign_in(client, users["member"])

    hint = _hint(_search(client, "CHG-4411"), incident.key)
    assert hint is not None
    assert _text(hint).startswith("Matched in the block reason: “Waiting on CHG-4411 approval.")


def test_a_title_match_has_no_hint(client, db, users, make_incident):
    incident = make_incident("open", title="CHG-4411 failed on the checkout cluster", priority="P1")
    incidents.add_comment(session=db, incident_id=incident.id, actor=users["lead"], body="CHG-4411 again.")
    discussed = make_incident("open", title="Checkout latency", priority="P2")
    incidents.add_comment(session=db, incident_id=discussed.id, actor=users["lead"], body="Caused by CHG-4411.")
    db.commit()
    sign_in(client, users["member"])

    html = _search(client, "chg-4411")
    assert row_keys(html) == [incident.key, discussed.key]
    assert _hint(html, incident.key) is None
    # The same page's row found by its comment has one.
    assert _hint(html, discussed.key) is not None
    # Nor without a search: the same row, drawn from the row cache, never carries a hint.
    html = _search(client, "")
    assert _hint(html, incident.key) is None


def test_a_cached_row_is_drawn_again_with_and_without_its_hint(client, db, users, make_incident):
    incident = make_incident("open", title="Checkout latency")
    incidents.add_comment(session=db, incident_id=incident.id, actor=users["lead"], body="See CHG-4411.")
    db.commit()
    sign_in(client, users["member"])

    assert _hint(_search(client, ""), incident.key) is None
    assert _hint(_search(client, "CHG-4411"), incident.key) is not None
    assert _hint(_search(client, "checkout"), incident.key) is None
    assert _hint(_search(client, "4411"), incident.key) is not None


def test_a_redacted_comment_gives_neither_a_match_nor_a_hint(client, db, users, make_incident):
    incident = make_incident("open", title="Checkout latency")
    comment = incidents.add_comment(
        session=db, incident_id=incident.id, actor=users["lead"], body="Rolled back CHG-4411 with token s3cr3t."
    )
    incidents.add_comment(session=db, incident_id=incident.id, actor=users["member"], body="Latency is back to normal.")
    incidents.redact_comment(
        session=db, incident_id=incident.id, comment_id=comment.id, actor=users["admin"], reason="A pasted token."
    )
    db.commit()
    sign_in(client, users["member"])

    assert row_keys(_search(client, "CHG-4411")) == []
    # Found by a word of the other comment, the hint quotes that one, never the redacted one.
    html = _search(client, "checkout normal")
    assert row_keys(html) == [incident.key]
    hint = _hint(html, incident.key)
    assert hint is not None
    assert "CHG-4411" not in hint
    assert "s3cr3t" not in hint
    assert _text(hint) == f"Matched in a comment by {users['member'].name}: “Latency is back to normal.”"


def test_html_in_a_comment_is_escaped_in_the_hint(client, db, users, make_incident):
    incident = make_incident("open", title="Checkout latency")
    incidents.add_comment(
        session=db,
        incident_id=incident.id,
        actor=users["lead"],
        body='<script>alert("CHG-4411")</script> <b onmouseover="x()">bold</b> CHG-4411 & more',
    )
    db.commit()
    sign_in(client, users["member"])

    html = _search(client, "CHG-4411")
    hint = _hint(html, incident.key)
    assert hint is not None
    row = _row(html, incident.key)
    assert "<script>" not in row
    assert "<b " not in row
    assert "&lt;script&gt;" in hint
    assert "&amp; more" in hint
    # Only the marks are markup.
    assert set(re.findall(r"<(/?\w+)", hint)) == {"mark", "/mark"}
    assert _text(hint).startswith(f'Matched in a comment by {users["lead"].name}: “<script>alert("CHG-4411")')


def test_a_long_comment_is_cut_to_an_excerpt_around_the_word(client, db, users, make_incident):
    incident = make_incident("open", title="Checkout latency")
    before = " ".join(f"word{n}" for n in range(60))
    after = " ".join(f"later{n}" for n in range(60))
    incidents.add_comment(
        session=db, incident_id=incident.id, actor=users["lead"], body=f"{before} keytab rotated {after}"
    )
    db.commit()
    sign_in(client, users["member"])

    hint = _hint(_search(client, "keytab"), incident.key)
    assert hint is not None
    excerpt = _text(hint).split(": “", 1)[1].rstrip("”")
    assert excerpt.startswith("…")
    assert excerpt.endswith("…")
    assert "keytab rotated" in excerpt
    assert len(excerpt) <= 122
    assert "word0 " not in excerpt
