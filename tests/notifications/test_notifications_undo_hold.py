"""A dashboard row's quick move offers Undo, and holds its mail and webhooks for as long ("Undo
send"): an Undo in time takes them back and tells nobody itself, so a slip of the hand mails
nobody "INC-1 is now Blocked" and then "INC-1 is now In Progress".

Through the web app (Flask test client, the row's own Undo form) and the real relay: the app's
after-commit hook (`publish_after_commit`) and the beat's sweep (`relay_in_transaction`, given a
later `now` for "after the window") publish to a stand-in broker; its tasks then run the worker's
fan-out and delivery against the real SMTP server (aiosmtpd) and a webhook receiver. What a
watcher finds in their mailbox is what is asserted. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from notification_helpers import deliver_all, mailed_to, notification_settings
from sqlalchemy import select

from shared.accounts import service as accounts
from shared.accounts.models import User
from shared.audit.models import AuditEvent
from shared.db import make_session_factory, transaction, utcnow
from shared.events import NOTIFY_TASK_PREFIX, EventType
from shared.incidents import service as incidents
from shared.incidents.models import Incident
from shared.notifications import service
from shared.outbox import service as outbox
from web.app import create_app

HOLD = 20.0
HTMX = {"HX-Request": "true"}
TITLE = "Disk full on log shipper"


class Broker:
    """Stands in for Redis and the worker: the relays publish to it; `work()` runs the fan-out
    tasks it received as the worker would (notification_helpers sends what they create)."""

    def __init__(self) -> None:
        self.tasks: list[tuple[str, dict, str]] = []

    def __call__(self, task_name: str, kwargs: dict, message_id: str) -> None:
        self.tasks.append((task_name, kwargs, message_id))

    def work(self, factory, settings) -> None:
        tasks, self.tasks = self.tasks, []
        for task_name, kwargs, message_id in tasks:
            if not task_name.startswith(NOTIFY_TASK_PREFIX):
                continue  # evidence re-tagging: not about notifications
            payload = {key: value for key, value in kwargs.items() if key != "message_id"}
            with transaction(factory) as session:
                created = service.fan_out(
                    session=session,
                    settings=settings,
                    topic=task_name.removeprefix(NOTIFY_TASK_PREFIX),
                    payload=payload,
                    message_id=message_id,
                )
            deliver_all(factory, settings, created)


class Stack:
    """The web app with its after-commit relay, the beat's sweep and the worker, on one database."""

    def __init__(self, settings, factory) -> None:
        self.settings = settings
        self.factory = factory
        self.broker = Broker()
        self.app = create_app(settings)
        self.app.config.update(TESTING=True, WTF_CSRF_ENABLED=False)
        outbox.publish_after_commit(self.app.extensions["db_session_factory"], self.broker)
        outbox.publish_after_commit(factory, self.broker)

    def client(self, user: User):
        client = self.app.test_client()
        with self.factory() as session:
            token = accounts.start_session(
                session=session, user=session.get(User, user.id), lifetime=timedelta(hours=1)
            )
            session.commit()
        with client.session_transaction() as cookie:
            cookie["_user_id"] = token
            cookie["_fresh"] = True
        return client

    def deliver(self, *, seconds_later: float = 0.0) -> None:
        """The beat's sweep at that moment, then the worker: everything due by then goes out."""
        later = utcnow() + timedelta(seconds=seconds_later)
        outbox.relay_in_transaction(self.factory, self.broker, now=later)
        self.broker.work(self.factory, self.settings)


@pytest.fixture
def stack_for(db, users, database_url, inbox, receiver):
    stacks: list[Stack] = []

    def make(*, hold: float = HOLD) -> Stack:
        settings = notification_settings(
            database_url,
            inbox=inbox,
            receivers=[receiver],
            notification_undo_hold_seconds=hold,
            rate_limit_login="10000 per minute",
        )
        with transaction(make_session_factory(db.get_bind())) as session:
            service.create_endpoint(
                session=session,
                actor=session.get(User, users["admin"].id),
                settings=settings,
                url=receiver.url(),
                event_types=["incident.status_changed"],
            )
        stack = Stack(settings, make_session_factory(db.get_bind()))
        stacks.append(stack)
        return stack

    yield make
    for stack in stacks:
        stack.app.extensions["db_engine"].dispose()


@pytest.fixture
def in_progress(stack_for, users, inbox, receiver):
    """INC-1, filed by the lead (who watches it) for the member, who has started on it; what
    that mailed is read and forgotten."""

    def make(**options):
        stack = stack_for(**options)
        with transaction(stack.factory) as session:
            incident = incidents.create_incident(
                session=session,
                actor=session.get(User, users["lead"].id),
                title=TITLE,
                owner_id=users["member"].id,
            )
        with transaction(stack.factory) as session:
            incidents.transition(
                session=session, incident_id=incident.id, actor=session.get(User, users["member"].id), to="in_progress"
            )
        stack.deliver()
        inbox.messages.clear()
        receiver.requests.clear()
        return stack, incident

    return make


class _Inputs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        found = dict(attrs)
        if tag == "input" and found.get("name"):
            self.fields[found["name"]] = found.get("value") or ""


def _undo_fields(html: str) -> dict[str, str]:
    """What the row's Undo button posts (its form's fields)."""
    form = re.search(r"<form[^>]*>(?:(?!</form>).)*>Undo</button>\s*</form>", html, re.S)
    assert form is not None, "the row offers no Undo"
    parser = _Inputs()
    parser.feed(form.group(0))
    return parser.fields


def _version(db, incident) -> int:
    db.expire_all()
    return db.get(Incident, incident.id).version


def _row_move(client, db, incident, **data):
    """A move chosen in the row's status control (the row drawn as the incident is now)."""
    response = client.post(
        f"/incidents/{incident.key}/transition",
        data={"from_row": "1", "version": _version(db, incident), **data},
        headers=HTMX,
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_data(as_text=True)


def _subjects(inbox) -> list[str]:
    return [message.message["Subject"] for message in inbox.messages]


def _posted(receiver) -> list[tuple[str, str | None]]:
    """Each webhook the receiver got: its event type and the move's target status."""
    bodies = [json.loads(request.body) for request in receiver.requests]
    return [(body["type"], body["data"].get("status_change", {}).get("to")) for body in bodies]


def _moves(db, incident) -> list[tuple[str, str]]:
    db.expire_all()
    events = db.scalars(
        select(AuditEvent)
        .where(AuditEvent.incident_id == incident.id, AuditEvent.action == EventType.INCIDENT_STATUS_CHANGED)
        .order_by(AuditEvent.id)
    )
    return [(event.data["from"], event.data["to"]) for event in events]


def test_a_row_move_is_mailed_only_once_its_undo_window_has_passed(db, users, in_progress, inbox, receiver):
    stack, incident = in_progress()
    member = stack.client(users["member"])

    html = _row_move(member, db, incident, to="blocked", reason="Waiting on the vendor")
    assert "INC-1 is now Blocked." in html
    assert _undo_fields(html)["to"] == "in_progress"
    stack.deliver()  # the request's own relay has run; the sweep now finds nothing due either
    assert mailed_to(inbox) == []
    assert receiver.requests == []

    stack.deliver(seconds_later=HOLD)
    assert mailed_to(inbox) == ["lead@example.com"]
    assert _subjects(inbox) == [f"[INC-1] Blocked: {TITLE}"]
    assert _posted(receiver) == [("incident.status_changed", "blocked")]


def test_an_undo_within_the_window_mails_and_posts_nothing_and_the_timeline_keeps_both(
    db, users, in_progress, inbox, receiver
):
    stack, incident = in_progress()
    member = stack.client(users["member"])
    moved = _row_move(member, db, incident, to="blocked", reason="Waiting on the vendor")

    undone = member.post(f"/incidents/{incident.key}/transition", data=_undo_fields(moved), headers=HTMX)
    assert "INC-1 is back to In Progress." in undone.get_data(as_text=True)

    stack.deliver()
    stack.deliver(seconds_later=HOLD * 3)
    assert mailed_to(inbox) == []
    assert receiver.requests == []
    assert _moves(db, incident) == [("open", "in_progress"), ("in_progress", "blocked"), ("blocked", "in_progress")]
    # Nothing left to go out later either.
    assert outbox.pending(session=db) == []


def test_an_undo_after_the_move_went_out_is_mailed_as_before(db, users, in_progress, inbox, receiver):
    stack, incident = in_progress()
    member = stack.client(users["member"])
    moved = _row_move(member, db, incident, to="blocked", reason="Waiting on the vendor")
    stack.deliver(seconds_later=HOLD)
    assert _subjects(inbox) == [f"[INC-1] Blocked: {TITLE}"]

    member.post(f"/incidents/{incident.key}/transition", data=_undo_fields(moved), headers=HTMX)
    stack.deliver()  # an Undo offers no Undo of its own: it is not held
    assert _subjects(inbox) == [f"[INC-1] Blocked: {TITLE}", f"[INC-1] Unblocked: {TITLE}"]
    assert _posted(receiver) == [("incident.status_changed", "blocked"), ("incident.status_changed", "in_progress")]


def test_a_second_move_in_the_window_that_is_no_undo_leaves_the_first_to_go_out_and_both_in_order(
    db, users, in_progress, inbox, receiver
):
    stack, incident = in_progress()
    member = stack.client(users["member"])
    _row_move(member, db, incident, to="blocked", reason="Waiting on the vendor")
    # The row's status control, not its Undo button: a move of its own (with its own Undo), even
    # though it goes back to where the first came from.
    second = _row_move(member, db, incident, to="in_progress")
    assert _undo_fields(second)["to"] == "blocked"

    stack.deliver(seconds_later=HOLD * 2)
    assert _subjects(inbox) == [f"[INC-1] Blocked: {TITLE}", f"[INC-1] Unblocked: {TITLE}"]
    assert _posted(receiver) == [("incident.status_changed", "blocked"), ("incident.status_changed", "in_progress")]


def test_undoing_the_second_of_two_moves_takes_back_only_the_second(db, users, in_progress, inbox, receiver):
    stack, incident = in_progress()
    member = stack.client(users["member"])
    _row_move(member, db, incident, to="blocked", reason="Waiting on the vendor")
    second = _row_move(member, db, incident, to="in_progress")
    member.post(f"/incidents/{incident.key}/transition", data=_undo_fields(second), headers=HTMX)

    stack.deliver(seconds_later=HOLD * 3)
    assert _subjects(inbox) == [f"[INC-1] Blocked: {TITLE}"]
    assert _posted(receiver) == [("incident.status_changed", "blocked")]


def test_someone_else_posting_the_undo_takes_back_nothing_and_is_told_after_the_move(
    db, users, in_progress, inbox, receiver
):
    """An Undo is the mover's: the row is theirs. The same form posted by a lead is a move of
    the lead's own; the member's move still goes out, and the lead's after it."""
    stack, incident = in_progress()
    member, lead = stack.client(users["member"]), stack.client(users["lead"])
    moved = _row_move(member, db, incident, to="blocked", reason="Waiting on the vendor")
    lead.post(f"/incidents/{incident.key}/transition", data=_undo_fields(moved), headers=HTMX)

    stack.deliver(seconds_later=HOLD * 2)
    # The lead watches (is not told of their own move); the member owns it (not told of theirs).
    assert [(m.rcpt_tos, m.message["Subject"]) for m in inbox.messages] == [
        (["lead@example.com"], f"[INC-1] Blocked: {TITLE}"),
        (["member@example.com"], f"[INC-1] Unblocked: {TITLE}"),
    ]
    assert _posted(receiver) == [("incident.status_changed", "blocked"), ("incident.status_changed", "in_progress")]


def test_a_move_on_the_incident_page_is_not_held_but_never_overtakes_a_held_one(
    db, users, in_progress, inbox, receiver
):
    stack, incident = in_progress()
    member = stack.client(users["member"])
    _row_move(member, db, incident, to="blocked", reason="Waiting on the vendor")
    # The incident page offers no Undo: its move would go out at once, but the reader must not
    # read "Resolved" before the "Blocked" it followed.
    page = member.post(
        f"/incidents/{incident.key}/transition",
        data={"version": _version(db, incident), "to": "resolved", "reason": "Vendor fixed it"},
    )
    assert page.status_code in (302, 303)
    stack.deliver()
    assert mailed_to(inbox) == []

    stack.deliver(seconds_later=HOLD)
    assert _subjects(inbox) == [f"[INC-1] Blocked: {TITLE}", f"[INC-1] Resolved: {TITLE}"]


def test_a_page_move_alone_goes_out_at_once(db, users, in_progress, inbox):
    stack, incident = in_progress()
    member = stack.client(users["member"])
    member.post(
        f"/incidents/{incident.key}/transition",
        data={"version": _version(db, incident), "to": "blocked", "reason": "Vendor"},
    )
    stack.deliver()
    assert _subjects(inbox) == [f"[INC-1] Blocked: {TITLE}"]


def test_with_no_hold_a_row_move_and_its_undo_are_both_mailed_at_once(db, users, in_progress, inbox, receiver):
    stack, incident = in_progress(hold=0)
    member = stack.client(users["member"])
    moved = _row_move(member, db, incident, to="blocked", reason="Waiting on the vendor")
    stack.deliver()
    assert _subjects(inbox) == [f"[INC-1] Blocked: {TITLE}"]

    member.post(f"/incidents/{incident.key}/transition", data=_undo_fields(moved), headers=HTMX)
    stack.deliver()
    assert _subjects(inbox) == [f"[INC-1] Blocked: {TITLE}", f"[INC-1] Unblocked: {TITLE}"]
    assert _posted(receiver) == [("incident.status_changed", "blocked"), ("incident.status_changed", "in_progress")]
