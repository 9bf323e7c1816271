"""A long comment's mail is cut after 40 lines with a link to the rest: a cut inside a block of
code closes that block first, so the link is never read as code; and a comment that starts with
an indented code block (a pasted command) stays a code block, on the page and in the mail."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from markdown_it import MarkdownIt
from notification_helpers import BASE_URL, notification_settings, run_pipeline

from shared.accounts import service as accounts
from shared.accounts.models import User
from shared.errors import ValidationFailed
from shared.incidents import service as incidents
from shared.notifications.email import EXCERPT_LINES, MailEvent, MailRecipient, build_message
from shared.notifications.rules import EventKind
from web.app import create_app

TITLE = "Checkout errors after deploy"
LINK = f"{BASE_URL}/incidents/INC-31#comment-7"
PRE = re.compile(r"<pre [^>]*><code>(.*?)</code></pre>", re.DOTALL)


def _plain(message) -> str:
    return message.get_body(("plain",)).get_content().replace("\r\n", "\n")


def _html(message) -> str:
    return message.get_body(("html",)).get_content().replace("\r\n", "\n")


def _comment_mail(body: str):
    event = MailEvent(
        event_id="c1",
        kind=EventKind.COMMENT_CREATED,
        incident_id=31,
        incident_key="INC-31",
        incident_title=TITLE,
        incident_status="In Progress",
        incident_priority="P1",
        actor_name="Alice",
        occurred_at=datetime(2026, 11, 29, 3, 0, tzinfo=UTC),
        comment_excerpt=body,
        comment_id=7,
    )
    return build_message(
        event=event,
        recipient=MailRecipient(user_id=1, email="bob@example.com"),
        base_url=BASE_URL,
        sender="t@x.example",
    )


def _code_read_by_markdown(text: str) -> list[str]:
    """The code blocks a Markdown reader (CommonMark) sees in the plain-text part."""
    return [t.content for t in MarkdownIt("commonmark").parse(text) if t.type in ("fence", "code_block")]


LOG = [f"03:{n:02}:00 checkout-7f9c upstream timed out" for n in range(60)]  # 40 lines: under 2,000 characters


@pytest.mark.parametrize(
    ("opening", "inside", "closing"),
    [
        ("```", [], "```"),
        ("~~~ text", [], "~~~"),
        # A longer fence around a shorter one: only a fence as long as the opening closes it.
        ("````markdown", ["```bash", "kubectl get pods"], "````"),
    ],
)
def test_a_cut_inside_a_code_block_closes_it_before_the_link(opening, inside, closing):
    body = "\n".join(["The log:", "", opening, *inside, *LOG, closing, "That is all."])
    message = _comment_mail(body)
    text, html = _plain(message), _html(message)
    shown = EXCERPT_LINES - 3 - len(inside)  # the lines of the log that fit in the 40
    last = LOG[shown - 1]
    assert LOG[shown] not in text
    # Plain part: the block's closing fence comes right after the last line shown, then the link.
    assert f"{last}\n{closing}\n…\nRead the whole comment: {LINK}" in text
    code = _code_read_by_markdown(text)
    assert len(code) == 1
    assert code[0].endswith(f"{last}\n")
    assert "Read the whole comment" not in code[0]
    # HTML part: one complete <pre><code> holding the code, the link after it, outside.
    blocks = PRE.findall(html)
    assert len(blocks) == 1
    assert blocks[0].endswith(last)
    assert "Read the whole comment" not in blocks[0]
    after = html.split("</code></pre>", 1)[1]
    assert f'… <a href="{LINK}">Read the whole comment</a>' in after


def test_a_cut_outside_code_adds_no_fence():
    body = "\n".join(["```", "kubectl get pods", "```", *[f"note {n}" for n in range(60)]])
    text = _plain(_comment_mail(body))
    assert "```\nkubectl get pods\n```\nnote 0" in text
    assert text.count("```") == 2
    assert f"note {EXCERPT_LINES - 4}\n…\nRead the whole comment: {LINK}" in text


# --- through the site: the comment as stored, on the page and in the mail ----------------------

COMMAND = ["    $ kubectl -n prod get pods -l app=checkout", "    NAME              READY   STATUS"]


@pytest.fixture
def site(db, users, database_url, session_factory, inbox, reused_apps):
    """(settings, factory, client signed in as the member); INC-1 filed and owned by the lead."""
    settings = notification_settings(database_url, inbox=inbox)
    incident = incidents.create_incident(session=db, actor=users["lead"], title=TITLE, owner_id=users["lead"].id)
    db.commit()
    run_pipeline(session_factory, settings)
    inbox.messages.clear()

    def build():
        app = create_app(settings)
        app.config.update(TESTING=True, WTF_CSRF_ENABLED=False)
        return app

    app = reused_apps.get(settings, csrf=False, build=build)
    client = app.test_client()
    with session_factory() as session:
        token = accounts.start_session(
            session=session, user=session.get(User, users["member"].id), lifetime=timedelta(hours=1)
        )
        session.commit()
    with client.session_transaction() as cookie:
        cookie["_user_id"] = token
        cookie["_fresh"] = True
    yield settings, session_factory, client, incident
    app.extensions["db_engine"].dispose()


def test_a_comment_starting_with_an_indented_command_is_code_on_the_page_and_in_the_mail(site, inbox):
    settings, factory, client, incident = site
    # As a browser sends a textarea: CRLF line ends; a blank line first is dropped, the indent is not.
    body = "\r\n".join(["", *COMMAND, "", "Then it crashed.", "  "])
    posted = client.post(f"/incidents/{incident.key}/comments", data={"body": body})
    assert posted.status_code == 302

    page = client.get(f"/incidents/{incident.key}").get_data(as_text=True)
    command = "$ kubectl -n prod get pods -l app=checkout\nNAME              READY   STATUS"
    assert f'<pre tabindex="0"><code>{command}\n</code></pre>' in page
    assert "<p>Then it crashed.</p>" in page

    run_pipeline(factory, settings)
    (received,) = inbox.messages
    text, html = _plain(received.message), _html(received.message)
    assert "\n".join([*COMMAND, "", "Then it crashed."]) in text
    assert PRE.findall(html) == [command]


@pytest.mark.parametrize("body", ["   ", " \r\n\t\r\n   ", "\n\n"])
def test_an_all_whitespace_comment_is_still_refused(site, db, users, body):
    _settings, _factory, client, incident = site
    refused = client.post(f"/incidents/{incident.key}/comments", data={"body": body})
    assert refused.status_code == 422
    assert "Write something to comment." in refused.get_data(as_text=True)
    with pytest.raises(ValidationFailed) as error:
        incidents.add_comment(session=db, incident_id=incident.id, actor=users["member"], body=body)
    assert error.value.field_errors == {"body": "Write something to comment."}
