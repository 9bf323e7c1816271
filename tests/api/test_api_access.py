"""Every API route x role x token scope: who is answered, who is refused, and that a refused
call (or any GET) changes nothing in the database. The same policy as the pages decides."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from api_helpers import add_evidence, api_settings, bearer, build_api_app, empty_folder, stored_files
from factories import build_incident
from flask import Flask
from seeding import DataSet, seed_users, wipe
from sqlalchemy import update
from sqlalchemy.orm import Session
from web_helpers import snapshot

from shared.accounts import service as accounts
from shared.accounts import tokens
from shared.accounts.models import ApiToken, User
from shared.config import Settings
from shared.db import utcnow
from shared.incidents import follow_ups
from shared.notifications import service as notifications

ROLES = ("member-unrelated", "member-owner", "lead", "admin")
AS = {"member-unrelated": "other", "member-owner": "member", "lead": "lead", "admin": "admin"}
ROLE_OF = {who: role for role, who in AS.items()}
SCOPES = ("read", "write", "admin")
# The widest scope each role may hold (a member's or lead's admin-scope token cannot exist).
MAX_SCOPE = {"member-unrelated": "write", "member-owner": "write", "lead": "write", "admin": "admin"}

UPLOAD = object()  # the body is a multipart upload of one small text file, not JSON
EVIDENCE = "/api/v1/incidents/{key}/evidence"

# route id -> (method, path, json body, needs scope)
ROUTES = {
    "list": ("GET", "/api/v1/incidents", None, "read"),
    "list csv": ("GET", "/api/v1/incidents?format=csv", None, "read"),
    "get": ("GET", "/api/v1/incidents/{key}", None, "read"),
    "create": ("POST", "/api/v1/incidents", {"title": "ALB 502s", "priority": "P2", "component": "alb"}, "write"),
    "patch": ("PATCH", "/api/v1/incidents/{key}", {"title": "RDS CPU pinned"}, "write"),
    "transition": ("POST", "/api/v1/incidents/{key}/transition", {"to": "in_progress"}, "write"),
    "close without a reason": ("POST", "/api/v1/incidents/{key}/transition", {"to": "closed"}, "write"),
    "not in the lifecycle": ("POST", "/api/v1/incidents/{key}/transition", {"to": "resolved", "summary": "x"}, "write"),
    "assign": ("POST", "/api/v1/incidents/{key}/assign", {"owner_id": "{other_id}"}, "write"),
    "priority": ("POST", "/api/v1/incidents/{key}/priority", {"priority": "P1"}, "write"),
    "watch": ("POST", "/api/v1/incidents/{key}/watch", {"watching": True}, "write"),
    "comments": ("GET", "/api/v1/incidents/{key}/comments", None, "read"),
    "comment": ("POST", "/api/v1/incidents/{key}/comments", {"body": "Failover done."}, "write"),
    "events": ("GET", "/api/v1/incidents/{key}/events", None, "read"),
    "follow-ups": ("GET", "/api/v1/incidents/{key}/follow-ups", None, "read"),
    "follow-up": ("GET", "/api/v1/incidents/{key}/follow-ups/{follow_up_id}", None, "read"),
    "add follow-up": ("POST", "/api/v1/incidents/{key}/follow-ups", {"title": "Add an alert on replica lag"}, "write"),
    "tick follow-up": ("PATCH", "/api/v1/incidents/{key}/follow-ups/{follow_up_id}", {"done": True}, "write"),
    "delete follow-up": ("DELETE", "/api/v1/incidents/{key}/follow-ups/{follow_up_id}", None, "write"),
    "verify audit": ("POST", "/api/v1/audit/verify", None, "admin"),
    "audit events": ("GET", "/api/v1/audit/events", None, "read"),
    "audit events csv": ("GET", "/api/v1/audit/events?format=csv", None, "read"),
    "users": ("GET", "/api/v1/users", None, "admin"),
    "create user": (
        "POST",
        "/api/v1/users",
        {"email": "new@example.com", "name": "New", "role": "member", "password": "long-enough-password"},
        "admin",
    ),
    "change role": ("PATCH", "/api/v1/users/{bystander_id}", {"role": "lead"}, "admin"),
    "disable user": ("PATCH", "/api/v1/users/{bystander_id}", {"is_active": False}, "admin"),
    "evidence": ("GET", EVIDENCE, None, "read"),
    "evidence metadata": ("GET", EVIDENCE + "/{infected_id}", None, "read"),
    "upload": ("POST", EVIDENCE, UPLOAD, "write"),
    "download clean": ("GET", EVIDENCE + "/{clean_id}/download", None, "read"),
    "download pending": ("GET", EVIDENCE + "/{pending_id}/download", None, "read"),
    "download infected": ("GET", EVIDENCE + "/{infected_id}/download", None, "read"),
    "legal hold": ("POST", EVIDENCE + "/legal-hold", {"legal_hold": True}, "write"),
    "retry error": ("POST", EVIDENCE + "/{error_id}/retry", None, "write"),
    "retry clean": ("POST", EVIDENCE + "/{clean_id}/retry", None, "write"),
    "webhooks": ("GET", "/api/v1/webhooks", None, "admin"),
    "create webhook": (
        "POST",
        "/api/v1/webhooks",
        {"url": "https://93.184.215.14/in", "events": ["incident.created"]},
        "admin",
    ),
    "get webhook": ("GET", "/api/v1/webhooks/{webhook_id}", None, "admin"),
    "patch webhook": ("PATCH", "/api/v1/webhooks/{webhook_id}", {"description": "paging bridge"}, "admin"),
    "rotate webhook secret": ("POST", "/api/v1/webhooks/{webhook_id}/rotate-secret", None, "admin"),
    "test webhook": ("POST", "/api/v1/webhooks/{webhook_id}/test", None, "admin"),
    "webhook deliveries": ("GET", "/api/v1/webhooks/{webhook_id}/deliveries", None, "admin"),
    "delete webhook": ("DELETE", "/api/v1/webhooks/{webhook_id}", None, "admin"),
    "me": ("GET", "/api/v1/me", None, "read"),
    "my follow-ups": ("GET", "/api/v1/me/follow-ups", None, "read"),
    "insights": ("GET", "/api/v1/insights?days=7", None, "read"),
}

# What each role gets once its token's scope suffices: (member-unrelated, member-owner, lead, admin).
EXPECTED = {
    "list": (200, 200, 200, 200),
    "list csv": (200, 200, 200, 200),
    "get": (200, 200, 200, 200),
    "create": (201, 201, 201, 201),
    "patch": (403, 200, 200, 200),
    "transition": (403, 200, 200, 200),
    "close without a reason": (403, 403, 422, 422),
    "not in the lifecycle": (409, 409, 409, 409),
    "assign": (403, 403, 200, 200),
    "priority": (403, 403, 200, 200),
    "watch": (200, 200, 200, 200),
    "comments": (200, 200, 200, 200),
    "comment": (201, 201, 201, 201),
    "events": (200, 200, 200, 200),
    # Anyone who may comment adds and ticks follow-ups; deleting is for leads and admins, or the
    # follow-up's creator (the lead here) while it is open.
    "follow-ups": (200, 200, 200, 200),
    "follow-up": (200, 200, 200, 200),
    "add follow-up": (201, 201, 201, 201),
    "tick follow-up": (200, 200, 200, 200),
    "delete follow-up": (403, 403, 204, 204),
    "verify audit": (None, None, None, 200),
    "audit events": (403, 403, 200, 200),
    "audit events csv": (403, 403, 200, 200),
    "users": (None, None, None, 200),
    "create user": (None, None, None, 201),
    "change role": (None, None, None, 200),
    "disable user": (None, None, None, 200),
    "evidence": (200, 200, 200, 200),
    "evidence metadata": (200, 200, 200, 200),
    "upload": (201, 201, 201, 201),
    "download clean": (200, 200, 200, 200),
    "download pending": (409, 409, 409, 409),
    "download infected": (403, 403, 403, 403),
    "legal hold": (403, 403, 200, 200),
    "retry error": (403, 403, 200, 200),
    "retry clean": (403, 403, 409, 409),
    "webhooks": (None, None, None, 200),
    "create webhook": (None, None, None, 201),
    "get webhook": (None, None, None, 200),
    "patch webhook": (None, None, None, 200),
    "rotate webhook secret": (None, None, None, 200),
    "test webhook": (None, None, None, 202),
    "webhook deliveries": (None, None, None, 200),
    "delete webhook": (None, None, None, 204),
    "me": (200, 200, 200, 200),
    "my follow-ups": (200, 200, 200, 200),
    "insights": (200, 200, 200, 200),
}
assert EXPECTED.keys() == ROUTES.keys()
MAY_BE_NO_OP = {("watch", "member-owner"), ("watch", "lead"), ("verify audit", "admin")}
# Reads that are recorded: a download puts who took which file on the audit trail (custody).
AUDITED_READS = {"download clean"}
RANK = {scope: index for index, scope in enumerate(SCOPES)}


def _cases():
    for route, answers in EXPECTED.items():
        needed = ROUTES[route][3]
        for role, answer in zip(ROLES, answers, strict=True):
            for scope in SCOPES:
                if RANK[scope] > RANK[MAX_SCOPE[role]]:
                    continue  # no such token: test_a_member_cannot_hold_an_admin_scope_token
                expected = answer if RANK[scope] >= RANK[needed] else 403
                if expected is None:  # admin-only route, admin scope held by nobody else
                    expected = 403
                yield pytest.param(route, role, scope, expected, id=f"{route}-{role}-{scope}")


@dataclass
class Seeded:
    app: Flask
    session: Session
    world: dict[str, int | str]
    tokens: dict[tuple[str, str], str]
    data: DataSet
    files: dict[str, bytes]
    # Set by a case that saw, with its own before/after snapshots, that it changed nothing: the
    # put-back check (another read of every table) is then skipped.
    untouched: bool = False

    def files_changed(self) -> bool:
        return stored_files(self.app) != sorted(self.files)

    def restore(self) -> None:
        self.data.restore()
        root = Path(self.app.config["SETTINGS"].effective_local_storage_path)
        empty_folder(root)
        for name, content in self.files.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_bytes(content)


@pytest.fixture(scope="module")
def seeded(database_url, engine, session_factory, reused_apps, evidence_dir) -> Iterator[Seeded]:
    """The incident, users, webhook, evidence and every role's tokens, built once per backend
    (652 cases each built them before: half of this file's time). A case that changed the
    database or the stored files gets them put back before the next one (`world`)."""
    root_logger = logging.getLogger()
    handlers, level = root_logger.handlers[:], root_logger.level
    settings = api_settings(database_url, evidence_dir)
    app = reused_apps.get(settings, csrf=False, build=lambda: build_api_app(settings))
    session = session_factory()
    with pytest.MonkeyPatch.context() as patch:
        # Tokens are marked used once, and a read writes last_used_at again a minute later:
        # the file takes longer than that, and a GET must change nothing.
        patch.setattr(tokens, "LAST_USED_GRANULARITY", timedelta(days=1))
        users = seed_users(session, database_url)
        world = _build_world(session, app, users)
        made = {
            (who, scope): _token(session, users[who], scope)
            for who in AS.values()
            for scope in SCOPES
            if RANK[scope] <= RANK[MAX_SCOPE[ROLE_OF[who]]]
        }
        storage = Path(settings.effective_local_storage_path)
        files = {name: (storage / name).read_bytes() for name in stored_files(app)}
        yield Seeded(app, session, world, made, DataSet(engine), files)
    session.close()
    wipe(engine)
    empty_folder(evidence_dir)
    root_logger.handlers[:] = handlers
    root_logger.setLevel(level)


def _build_world(db: Session, app: Flask, users) -> dict[str, int | str]:
    incident = build_incident(db, users, "open", reporter="lead", owner="member")
    bystander = accounts.create_user(
        session=db,
        actor=None,
        email="bystander@example.com",
        name="Bo Bystander",
        role="member",
        password="plum-orbit-velvet",
    )
    endpoint, _ = notifications.create_endpoint(
        session=db,
        actor=users["admin"],
        settings=Settings(app_env="test", secret_key="x" * 40),
        url="https://93.184.215.14/hook",
        event_types=["incident.created"],
    )
    follow_up = follow_ups.add_follow_up(
        session=db, actor=users["lead"], incident_id=incident.id, title="Rotate the leaked key"
    )
    db.commit()
    files = {
        state: add_evidence(db, app, incident, users["member"], f"{state}.log", b"disk full\n", state=state, reason=why)
        for state, why in (("clean", ""), ("infected", "virus found: Eicar-Test-Signature"), ("error", "clamd down"))
    }
    pending = add_evidence(db, app, incident, users["member"], "pending.log", b"still checking\n")
    db.refresh(incident)
    return {
        "webhook_id": endpoint.id,
        "key": incident.key,
        "version": incident.version,
        "other_id": users["other"].id,
        "bystander_id": bystander.id,
        "follow_up_id": follow_up.id,
        "pending_id": pending.id,
        **{f"{state}_id": item.id for state, item in files.items()},
    }


def _token(db: Session, user: User, scope: str) -> str:
    """A bearer value, already marked used (so a read does not write last_used_at)."""
    token, value = tokens.create_token(session=db, user=user, name=f"{user.name}-{scope}", scope=scope)
    db.execute(update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=utcnow()))
    db.commit()
    return value


@pytest.fixture
def world(seeded: Seeded) -> Iterator[dict[str, int | str]]:
    """The file's data as every case starts from it; put back after a case that changed it."""
    seeded.untouched = False
    yield seeded.world
    seeded.session.rollback()
    if not seeded.untouched and (seeded.data.changed() or seeded.files_changed()):
        seeded.restore()


def _fill(value, world):
    if isinstance(value, str):
        text = value.format(**world)
        return int(text) if value.startswith("{") and text.isdigit() else text
    if isinstance(value, dict):
        return {k: _fill(v, world) for k, v in value.items()}
    return value


@pytest.mark.parametrize(("route", "role", "scope", "expected"), list(_cases()))
def test_route_answers_each_role_and_scope(seeded, world, route, role, scope, expected):
    app, db, client = seeded.app, seeded.session, seeded.app.test_client()
    token = seeded.tokens[(AS[role], scope)]
    method, path, body, _ = ROUTES[route]
    headers = bearer(token)
    if method == "PATCH" and path.endswith("/incidents/{key}"):  # the incident's own ETag
        headers["If-Match"] = f'"v{world["version"]}"'
    if body is UPLOAD:
        sent = {"data": {"file": (io.BytesIO(b"ERROR disk full\n"), "app.log", "text/plain")}}
    else:
        sent = {"json": _fill(body, world)}
    before, files_before = snapshot(db), stored_files(app)

    response = client.open(path.format(**world), method=method, headers=headers, **sent)
    body = response.get_data(as_text=True)
    response.close()  # as the server does: a streamed answer (CSV) holds its request's session until then

    after, files_after = snapshot(db), stored_files(app)
    seeded.untouched = after == before and files_after == files_before

    assert response.status_code == expected, body[:500]
    if expected >= 400:
        assert response.mimetype == "application/problem+json"
        assert response.get_json()["status"] == expected
        assert files_after == files_before, "a refused call left a file in storage"
    if expected >= 400 or (method == "GET" and route not in AUDITED_READS):
        assert after == before, "a refused call or a GET changed the database"
    elif (route, role) not in MAY_BE_NO_OP:
        assert after != before, "an allowed change (or an audited read) left the database as it was"


@pytest.mark.parametrize(("method", "path"), [("GET", "/api/v1/incidents"), ("POST", "/api/v1/incidents")])
def test_no_credentials_is_401_problem_and_changes_nothing(seeded, world, method, path):
    db, client = seeded.session, seeded.app.test_client()
    before = snapshot(db)
    response = client.open(path, method=method, json={"title": "x"})
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert snapshot(db) == before
