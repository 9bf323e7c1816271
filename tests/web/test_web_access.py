"""Every route x every kind of user: who gets the page, who is refused, and that a refused
request (or any GET) changes nothing in the database."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from factories import build_incident
from flask import Flask
from flask.testing import FlaskClient
from seeding import DataSet, seed_users, wipe
from sqlalchemy.orm import Session
from web_helpers import build_app, login, make_settings, snapshot

from shared.accounts import service as accounts
from shared.accounts.models import User
from shared.incidents import follow_ups, saved_views

ROLES = ("anonymous", "member-unrelated", "member-owner", "lead", "admin")
# kind of user -> the `users` fixture key it signs in as. The incident is reported by the lead
# and owned by "member"; "other" is a member with no tie to it.
SIGN_IN_AS = {"member-unrelated": "other", "member-owner": "member", "lead": "lead", "admin": "admin"}

LOGIN = "login"  # a 302 to the sign-in page
HOME = "home"  # a 302 to the dashboard

# route id -> (method, path, form data)
ROUTES = {
    "dashboard": ("GET", "/", None),
    "incident page": ("GET", "/incidents/{key}", None),
    "new incident form": ("GET", "/incidents/new", None),
    "create incident": (
        "POST",
        "/incidents/new",
        {"title": "ALB 502s", "priority": "P2", "component": "alb", "environment": "prod", "owner": ""},
    ),
    "transition": ("POST", "/incidents/{key}/transition", {"to": "in_progress", "version": "{version}"}),
    "transition not in the lifecycle": (
        "POST",
        "/incidents/{key}/transition",
        {"to": "resolved", "reason": "x", "version": "{version}"},
    ),
    "close without a reason": ("POST", "/incidents/{key}/transition", {"to": "closed", "version": "{version}"}),
    "assign": ("POST", "/incidents/{key}/assign", {"owner": "{other_id}", "version": "{version}"}),
    "priority": ("POST", "/incidents/{key}/priority", {"priority": "P1", "version": "{version}"}),
    "comment": ("POST", "/incidents/{key}/comments", {"body": "Failover done, watching replication lag."}),
    "watch": ("POST", "/incidents/{key}/watch", {"watching": "1"}),
    "edit form": ("GET", "/incidents/{key}/edit", None),
    "dashboard row": ("GET", "/incidents/{key}/row", None),
    "edit": (
        "POST",
        "/incidents/{key}/edit",
        {"title": "RDS CPU pinned", "component": "rds", "environment": "prod", "version": "{version}"},
    ),
    "due date": ("POST", "/incidents/{key}/due-date", {"due_date": "2099-12-31", "version": "{version}"}),
    "add follow-up": ("POST", "/incidents/{key}/follow-ups", {"title": "Add an alert on replica lag"}),
    "tick follow-up": ("POST", "/incidents/{key}/follow-ups/{follow_up_id}/done", {"done": "1"}),
    "edit follow-up": (
        "POST",
        "/incidents/{key}/follow-ups/{follow_up_id}/edit",
        {"title": "Rotate the AWS key", "owner": "", "due_date": "", "version": "{follow_up_version}"},
    ),
    "delete follow-up": (
        "POST",
        "/incidents/{key}/follow-ups/{follow_up_id}/delete",
        {"confirm": "1", "version": "{follow_up_version}"},  # Yes to "Delete the follow-up …?"
    ),
    "insights": ("GET", "/insights", None),
    "admin users": ("GET", "/admin/users", None),
    "create user": (
        "POST",
        "/admin/users",
        {"email": "new@example.com", "name": "New", "role": "member", "password": "long-enough-password"},
    ),
    "change role": ("POST", "/admin/users/{bystander_id}/role", {"role": "lead", "confirm": "1"}),
    "disable user": ("POST", "/admin/users/{bystander_id}/active", {"active": "0", "confirm": "1"}),
    "audit log": ("GET", "/audit", None),
    "audit log csv": ("GET", "/audit.csv", None),
    "save view": ("POST", "/views", {"name": "My P1s", "q": "priority:p1"}),
    "save team view": ("POST", "/views", {"name": "Team P1s", "q": "priority:p1", "team": "1"}),
    "delete team view": ("POST", "/views/{team_view_id}/delete", {"confirm": "1"}),  # Yes to "Delete …?"
    "logout": ("POST", "/logout", {}),
    "healthz": ("GET", "/healthz", None),
    "readyz": ("GET", "/readyz", None),
    "login page": ("GET", "/login", None),
    "resend invite": ("POST", "/admin/users/{bystander_id}/invite", {}),
}

# route id -> expected answer for (anonymous, member-unrelated, member-owner, lead, admin)
EXPECTED = {
    "dashboard": (LOGIN, 200, 200, 200, 200),
    "incident page": (LOGIN, 200, 200, 200, 200),
    "new incident form": (LOGIN, 200, 200, 200, 200),
    "create incident": (LOGIN, 302, 302, 302, 302),
    "transition": (LOGIN, 403, 302, 302, 302),
    "transition not in the lifecycle": (LOGIN, 409, 409, 409, 409),
    "close without a reason": (LOGIN, 403, 403, 422, 422),
    "assign": (LOGIN, 403, 403, 302, 302),
    "priority": (LOGIN, 403, 403, 302, 302),
    "comment": (LOGIN, 302, 302, 302, 302),
    "watch": (LOGIN, 302, 302, 302, 302),
    "edit form": (LOGIN, 403, 200, 200, 200),
    "dashboard row": (LOGIN, HOME, HOME, HOME, HOME),  # a fragment for htmx; a plain GET goes to the dashboard
    "edit": (LOGIN, 403, 302, 302, 302),
    "due date": (LOGIN, 403, 302, 302, 302),
    # Follow-ups are team work: anyone who may comment adds, ticks and edits them. Deleting one is
    # for leads and admins, or its creator (the lead here) while it is open.
    "add follow-up": (LOGIN, 302, 302, 302, 302),
    "tick follow-up": (LOGIN, 302, 302, 302, 302),
    "edit follow-up": (LOGIN, 302, 302, 302, 302),
    "delete follow-up": (LOGIN, 403, 403, 302, 302),
    "insights": (LOGIN, 200, 200, 200, 200),
    "admin users": (LOGIN, 403, 403, 403, 200),
    "create user": (LOGIN, 403, 403, 403, 302),
    "change role": (LOGIN, 403, 403, 403, 302),
    "disable user": (LOGIN, 403, 403, 403, 302),
    "audit log": (LOGIN, 403, 403, 200, 200),
    "audit log csv": (LOGIN, 403, 403, 200, 200),
    "save view": (LOGIN, 302, 302, 302, 302),
    "save team view": (LOGIN, 403, 403, 302, 302),
    "delete team view": (LOGIN, 403, 403, 302, 302),  # its owner (a lead), and admins tidying up
    "logout": (LOGIN, 302, 302, 302, 302),
    "healthz": (200, 200, 200, 200, 200),
    "readyz": (200, 200, 200, 200, 200),
    "login page": (200, HOME, HOME, HOME, HOME),
    # Admins only; this app mails nothing (and the bystander chose a password): 409, nothing sent.
    # tests/web/test_web_admin_invites.py resends one.
    "resend invite": (LOGIN, 403, 403, 403, 409),
}
assert EXPECTED.keys() == ROUTES.keys()

# Allowed POSTs that may legitimately leave the database as it was (already watching).
MAY_BE_NO_OP = {("watch", "member-owner"), ("watch", "lead")}

CASES = [
    pytest.param(route, role, expected, id=f"{route}-{role}")
    for route, answers in EXPECTED.items()
    for role, expected in zip(ROLES, answers, strict=True)
]


@dataclass
class Seeded:
    app: Flask
    session: Session
    world: dict[str, str]
    users: dict[str, User]
    signed_in: dict[str, str]  # users-fixture key -> a login session's token
    data: DataSet
    # Set by a case whose own before/after snapshots show it changed nothing: the put-back check
    # (another read of every table) is then skipped.
    untouched: bool = False


@pytest.fixture(scope="module")
def seeded(database_url, engine, session_factory, reused_apps) -> Iterator[Seeded]:
    """The incident, users, team view and a login session per user, built once per backend
    (278 cases each built them before); put back after a case that changed them (`world`)."""
    root_logger = logging.getLogger()
    handlers, level = root_logger.handlers[:], root_logger.level
    settings = make_settings(database_url)
    app = reused_apps.get(settings, csrf=False, build=lambda: build_app(settings))
    session = session_factory()
    users = seed_users(session, database_url)
    incident = build_incident(session, users, "open", reporter="lead", owner="member")
    bystander = accounts.create_user(
        session=session,
        actor=None,
        email="bystander@example.com",
        name="Bo Bystander",
        role="member",
        password="plum-orbit-velvet",
    )
    follow_up = follow_ups.add_follow_up(
        session=session, actor=users["lead"], incident_id=incident.id, title="Rotate the leaked key"
    )
    team_view = saved_views.save_view(session=session, actor=users["lead"], name="Open P1s", query="p1", team=True)
    signed_in = {
        who: accounts.start_session(session=session, user=user, lifetime=timedelta(hours=2))
        for who, user in users.items()
    }
    session.commit()
    world = {
        "team_view_id": str(team_view.id),
        "key": incident.key,
        "version": str(incident.version),
        "other_id": str(users["other"].id),
        "bystander_id": str(bystander.id),
        "follow_up_id": str(follow_up.id),
        "follow_up_version": str(follow_up.version),
    }
    yield Seeded(app, session, world, users, signed_in, DataSet(engine))
    session.close()
    wipe(engine)
    root_logger.handlers[:] = handlers
    root_logger.setLevel(level)


@pytest.fixture
def world(seeded: Seeded) -> Iterator[dict[str, str]]:
    """The file's data as every case starts from it; put back after a case that changed it."""
    seeded.untouched = False
    yield seeded.world
    seeded.session.rollback()
    if not seeded.untouched and seeded.data.changed():
        seeded.data.restore()


def _client(seeded: Seeded, who: str | None) -> FlaskClient:
    """A browser signed in as `who` (a users-fixture key) through the file's login session."""
    client = seeded.app.test_client()
    if who is not None:
        with client.session_transaction() as cookie:
            cookie["_user_id"] = seeded.signed_in[who]
            cookie["_fresh"] = True
    return client


@pytest.mark.parametrize(("route", "role", "expected"), CASES)
def test_route_answers_each_role(seeded, world, route, role, expected):
    client, db = _client(seeded, SIGN_IN_AS.get(role)), seeded.session
    method, path, data = ROUTES[route]
    path = path.format(**world)
    data = {name: value.format(**world) for name, value in (data or {}).items()}
    before = snapshot(db)

    response = client.open(path, method=method, data=data or None)

    if expected == LOGIN:
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login")
    elif expected == HOME:
        assert response.status_code == 302
        assert response.headers["Location"] == "/"
    else:
        assert response.status_code == expected, response.get_data(as_text=True)[:500]

    after = snapshot(db)
    seeded.untouched = after == before
    refused = expected == LOGIN or (isinstance(expected, int) and expected >= 400)
    if method == "GET" or refused:
        assert after == before, "a refused request or a GET changed the database"
    elif (route, role) not in MAY_BE_NO_OP:
        assert after != before, "an allowed change left the database as it was"


@pytest.mark.parametrize(
    ("route", "message"),
    [
        ("transition", "Only its owner, its reporter, a lead or an admin can move"),
        ("assign", "Only a lead or an admin can assign incidents."),
        ("priority", "Only a lead or an admin can change the priority."),
        ("admin users", "You don&#39;t have permission to do that."),
    ],
)
def test_refusal_says_why(seeded, world, route, message):
    client = seeded.app.test_client()
    login(client, seeded.users["other"].email)
    method, path, data = ROUTES[route]
    data = {name: value.format(**world) for name, value in (data or {}).items()}
    response = client.open(path.format(**world), method=method, data=data or None)
    assert response.status_code == 403
    assert message in response.get_data(as_text=True)
