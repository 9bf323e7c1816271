"""`flask --app web ...`: users create, set-password, disable/enable and set-role; tokens list and
revoke; audit verify (and tamper detection); db upgrade and current."""

from __future__ import annotations

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, func, select, text
from web_helpers import PASSWORD, build_app, login, make_settings, sign_in, snapshot

from shared import migrate
from shared.accounts import tokens
from shared.accounts.models import ApiToken, LoginSession, User
from shared.audit.models import AuditEvent
from shared.incidents import service as incidents
from shared.outbox.models import OutboxMessage
from shared.timeutil import as_utc

STRONG = "cli-password-123"


def test_users_create_makes_an_account_with_that_role(runner, db):
    result = runner.invoke(
        args=["users", "create", "--email", "Ops@Example.com", "--role", "admin", "--password", STRONG, "--name", "Ops"]
    )
    assert result.exit_code == 0, result.output
    assert "Created ops@example.com (admin)." in result.output
    db.expire_all()
    user = db.scalar(select(User).where(User.email == "ops@example.com"))
    assert (user.role, user.name, user.is_active) == ("admin", "Ops", True)
    assert user.password_hash.startswith("$argon2id$")
    assert STRONG not in result.output


@pytest.mark.parametrize(
    ("args", "exit_code", "message"),
    [
        (["--email", "x@example.com", "--role", "owner", "--password", STRONG], 2, "Invalid value for '--role'"),
        (["--email", "member@example.com", "--role", "lead", "--password", STRONG], 1, "already has an account"),
        (["--email", "x@example.com", "--password", "short"], 1, "Use at least 12 characters."),
        (["--email", "nope", "--password", STRONG], 1, "Enter an email address"),
    ],
    ids=["bad-role", "duplicate", "short-password", "bad-email"],
)
def test_users_create_refuses_with_a_message_and_a_non_zero_exit(runner, db, users, args, exit_code, message):
    before = snapshot(db)
    result = runner.invoke(args=["users", "create", *args])
    assert result.exit_code == exit_code
    assert message in result.output
    assert snapshot(db) == before


def test_users_set_password_gives_a_locked_out_admin_a_way_back_in(runner, app, db, users):
    sign_in(app.test_client(), users["admin"])  # a session somewhere, e.g. a lost laptop
    result = runner.invoke(args=["users", "set-password", "--email", "ADMIN@example.com", "--password", STRONG])
    assert result.exit_code == 0, result.output
    assert "Set a new password for admin@example.com; their sessions were signed out." in result.output
    assert STRONG not in result.output
    login(app.test_client(), "admin@example.com", STRONG)
    db.expire_all()
    sessions = db.scalars(select(LoginSession).where(LoginSession.user_id == users["admin"].id)).all()
    assert [s.revoked_at is None for s in sessions].count(True) == 1  # only the sign-in just made


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--email", "nobody@example.com", "--password", STRONG], "No user nobody@example.com."),
        (["--email", "member@example.com", "--password", "password1234"], "This is a very common password."),
    ],
    ids=["unknown-user", "common-password"],
)
def test_users_set_password_refuses_with_a_message_and_a_non_zero_exit(runner, db, users, args, message):
    before = snapshot(db)
    result = runner.invoke(args=["users", "set-password", *args])
    assert result.exit_code == 1
    assert message in result.output
    assert snapshot(db) == before


def test_users_list(runner, users):
    result = runner.invoke(args=["users", "list"])
    assert result.exit_code == 0
    assert "member@example.com\tmember\tactive" in result.output.splitlines()


@pytest.fixture
def history(db, users, make_incident):
    """A few audit events: users, an incident, a transition, a comment."""
    incident = make_incident("in_progress")
    incidents.add_comment(session=db, incident_id=incident.id, actor=users["member"], body="On it.")
    db.commit()
    return list(db.scalars(select(AuditEvent).order_by(AuditEvent.id)))


def test_audit_verify_says_ok_on_an_intact_chain(runner, history):
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert f"OK: {len(history)} audit events, hash chain intact." in result.output


def _tamper(engine, statement: str, **params) -> None:
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            # The trigger refuses UPDATE/DELETE; an attacker with superuser rights could skip it.
            connection.execute(text("SET LOCAL session_replication_role = replica"))
        connection.execute(text(statement), params)


@pytest.mark.parametrize(
    ("statement", "problem"),
    [
        ("UPDATE audit_events SET data = :data WHERE id = :id", "its content does not match its hash"),
        ("DELETE FROM audit_events WHERE id = :id", "its previous-hash link does not match"),
    ],
    ids=["edited", "deleted"],
)
def test_audit_verify_names_the_first_broken_event(runner, engine, history, statement, problem):
    target = history[len(history) // 2]
    params = {"id": target.id}
    if "UPDATE" in statement:
        params["data"] = '{"from": "open", "to": "closed"}'
    _tamper(engine, statement, **params)

    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    broken = target.id if "UPDATE" in statement else history[len(history) // 2 + 1].id
    assert f"BROKEN: audit event {broken}: {problem}" in result.output
    assert f"({len(history) // 2} events before it are intact)" in result.output


def test_db_upgrade_is_idempotent(runner, db, users):
    before = snapshot(db)
    first = runner.invoke(args=["db", "upgrade"])
    second = runner.invoke(args=["db", "upgrade"])
    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    assert first.output.startswith("Database is at revision ")
    assert first.output == second.output
    assert snapshot(db) == before


def test_db_upgrade_leaves_a_database_a_newer_release_migrated(tmp_path):
    """A rollback runs the older release's migrate step against a schema it does not know.
    Found by a deploy review: Alembic failed ("Can't locate revision"), stopping the rollback."""
    url = f"sqlite:///{tmp_path / 'rolled-back.db'}"
    migrate.upgrade(url)
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = 'f00dfeedbeef'"))
    app = build_app(make_settings(url))
    result = app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert "Database is at revision f00dfeedbeef, which this release does not know" in result.output
    assert "Left as it is." in result.output
    assert migrate.current_revision(url) == "f00dfeedbeef"
    app.extensions["db_engine"].dispose()
    engine.dispose()


@pytest.mark.postgres_only
def test_demo_seed_scale_fills_the_database_once_with_a_chain_that_verifies(runner, db):
    result = runner.invoke(args=["demo", "seed-scale", "--incidents", "3000"])
    assert result.exit_code == 0, result.output
    comments = db.scalar(text("SELECT count(*) FROM incident_comments"))  # INC-1's 400 and the discussions
    assert f"3000 incidents (3000 added, {3000 + comments} audit events)" in result.output
    counts = dict(db.execute(text("SELECT status, count(*) FROM incidents GROUP BY status")).all())
    assert sum(counts.values()) == 3000
    assert 0.7 < counts["closed"] / 3000 < 0.9  # a team's history is mostly closed
    assert db.scalar(text("SELECT count(DISTINCT component) FROM incidents")) > 150
    again = runner.invoke(args=["demo", "seed-scale", "--incidents", "3000"])
    assert "3000 incidents (0 added, 0 audit events)" in again.output
    verify = runner.invoke(args=["audit", "verify", "--full"])
    assert verify.exit_code == 0, verify.output
    assert "hash chain intact" in verify.output


def test_audit_verify_resumes_from_its_checkpoint_and_full_starts_over(runner, db, users, history):
    first = runner.invoke(args=["audit", "verify"])
    assert f"OK: {len(history)} audit events, hash chain intact. ({len(history)} checked from the first event)" in (
        first.output
    )
    incidents.create_incident(session=db, actor=users["lead"], title="After the checkpoint")
    db.commit()
    second = runner.invoke(args=["audit", "verify"])
    assert second.exit_code == 0, second.output
    assert f"OK: the 1 event since the last checkpoint (event {history[-1].id}, " in second.output
    assert f"UTC) links up; run --full to check all {len(history) + 1}." in second.output
    full = runner.invoke(args=["audit", "verify", "--full"])
    assert f"({len(history) + 1} checked from the first event)" in full.output


def test_audit_verify_catches_a_rewrite_of_the_checkpointed_event(runner, engine, history):
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0
    last = history[-1]
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("SET LOCAL session_replication_role = replica"))
        connection.execute(text("UPDATE audit_events SET hash = :h WHERE id = :id"), {"h": "f" * 64, "id": last.id})
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"BROKEN: audit event {last.id}: it no longer matches the checkpoint" in result.output
    full = runner.invoke(args=["audit", "verify", "--full"])
    assert full.exit_code == 1
    assert f"BROKEN: audit event {last.id}" in full.output


def test_audit_verify_from_a_checkpoint_does_not_claim_the_whole_chain_after_full_found_a_break(
    runner, engine, history
):
    """Found by QA: right after `--full` reported BROKEN, the quick check printed "OK: N audit
    events, hash chain intact." although it had read only the events after its checkpoint."""
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0  # the checkpoint, at the last event
    _tamper(
        engine,
        "UPDATE audit_events SET data = :data WHERE id = :id",
        data='{"from": "open", "to": "closed"}',
        id=history[1].id,
    )
    full = runner.invoke(args=["audit", "verify", "--full"])
    assert full.exit_code == 1
    assert f"BROKEN: audit event {history[1].id}" in full.output

    quick = runner.invoke(args=["audit", "verify"])
    assert quick.exit_code == 0, quick.output
    assert "intact" not in quick.output
    assert f"OK: the 0 events since the last checkpoint (event {history[-1].id}, " in quick.output
    assert f"UTC) link up; run --full to check all {len(history)}." in quick.output


def test_demo_seed_says_it_added_nothing_to_a_database_with_accounts(runner, db, users):
    """Found by QA: it said "Demo data already present" where no demo was ever seeded; what it
    checks is whether any account exists."""
    before = snapshot(db)
    result = runner.invoke(args=["demo", "seed"])
    assert result.exit_code == 0, result.output
    assert result.output == (
        "This database has accounts already, so no demo data was added (the demo goes only into an empty database).\n"
    )
    assert snapshot(db) == before


def test_demo_seed_names_a_demo_password_too_easy_to_guess(db, database_url):
    app = build_app(make_settings(database_url, demo_password="password1234"))
    result = app.test_cli_runner().invoke(args=["demo", "seed"])
    assert result.exit_code == 1
    assert "DEMO_PASSWORD: This password is too easy to guess. This is a very common password." in result.output
    assert "Traceback" not in result.output
    assert db.scalar(select(func.count(User.id))) == 0  # nothing half-seeded
    app.extensions["db_engine"].dispose()


def test_users_create_can_invite_instead_of_taking_a_password(make_app, tmp_path, db, users):
    """The first admin on AWS: a password typed into a one-off task's overrides would be in
    CloudTrail; with --invite nobody types one, and the new admin chooses it by mail."""
    runner = make_app(mail_dir=str(tmp_path / "mail")).test_cli_runner()
    result = runner.invoke(args=["users", "create", "--email", "Ops@Example.com", "--role", "admin", "--invite"])
    assert result.exit_code == 0, result.output
    assert "A link to choose a password is on its way to ops@example.com" in result.output
    db.expire_all()
    assert db.scalar(select(User.role).where(User.email == "ops@example.com")) == "admin"
    invited = db.scalars(select(OutboxMessage).where(OutboxMessage.topic == "user.invited")).all()
    assert [(message.payload["user_id"], message.payload["actor_id"]) for message in invited] == [
        (users_by_email(db)["ops@example.com"], None)
    ]


@pytest.mark.parametrize(
    ("args", "exit_code", "message"),
    [
        (["--invite", "--password", STRONG], 2, "Give --password or --invite, not both."),
    ],
)
def test_users_create_invite_refusals(runner, db, users, args, exit_code, message):
    before = snapshot(db)
    result = runner.invoke(args=["users", "create", "--email", "x@example.com", *args])
    assert result.exit_code == exit_code
    assert message in result.output
    assert snapshot(db) == before


def test_users_create_still_prompts_for_a_password_twice(runner, db, users):
    result = runner.invoke(args=["users", "create", "--email", "p@example.com"], input=f"{STRONG}\n{STRONG}\n")
    assert result.exit_code == 0, result.output
    assert "Created p@example.com (member)." in result.output


def users_by_email(db) -> dict[str, int]:
    return dict(db.execute(select(User.email, User.id)).all())


# --- What an operator does when the web UI is out of reach or an account is taken over ---

NO_ADMIN_LEFT = "WARNING: no enabled admin is left, so nobody can manage users in the browser"


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


def make_token(db, user, name: str = "deploy", scope: str = "write", **options) -> tuple[int, str]:
    """(id, bearer value) of a new, committed token of `user`."""
    token, value = tokens.create_token(session=db, user=user, name=name, scope=scope, **options)
    db.commit()
    return token.id, value


def events(db, action: str) -> list[AuditEvent]:
    db.expire_all()
    return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def signs_in(app, email: str, password: str = PASSWORD) -> bool:
    response = app.test_client().post("/login", data={"email": email, "password": password})
    return response.status_code == 302


def test_users_disable_shuts_a_taken_over_account_out_and_enable_lets_only_its_owner_back(runner, app, db, users):
    _, value = make_token(db, users["member"])
    browser = app.test_client()
    sign_in(browser, users["member"])
    assert browser.get("/").status_code == 200
    assert app.test_client().get("/api/v1/incidents", headers=bearer(value)).status_code == 200

    result = runner.invoke(args=["users", "disable", "Member@Example.com"])
    assert (result.exit_code, result.output) == (
        0,
        "member@example.com was disabled, signed out everywhere and their API tokens revoked.\n",
    )
    assert browser.get("/").status_code == 302  # the open session ended
    assert not signs_in(app, "member@example.com")
    assert app.test_client().get("/api/v1/incidents", headers=bearer(value)).status_code == 401
    [disabled] = events(db, "user.disabled")
    assert (disabled.actor_id, disabled.entity_id) == (None, users["member"].id)  # None: the operator
    assert disabled.data == {"email": "member@example.com", "tokens_revoked": 1}

    again = runner.invoke(args=["users", "disable", "member@example.com"])
    assert (again.exit_code, again.output) == (0, "member@example.com is already disabled.\n")
    assert len(events(db, "user.disabled")) == 1

    enabled = runner.invoke(args=["users", "enable", "member@example.com"])
    assert enabled.exit_code == 0, enabled.output
    assert enabled.output == (
        "member@example.com was enabled; the API tokens revoked when it was disabled stay revoked "
        "(its owner makes new ones on the profile page).\n"
    )
    assert signs_in(app, "member@example.com")
    assert app.test_client().get("/api/v1/incidents", headers=bearer(value)).status_code == 401
    assert [event.actor_id for event in events(db, "user.enabled")] == [None]
    assert runner.invoke(args=["users", "enable", "member@example.com"]).output == (
        "member@example.com is already enabled.\n"
    )


def test_users_disable_of_the_last_enabled_admin_is_done_with_a_warning(runner, app, db, users):
    """The web cannot get there (an admin cannot disable or demote themselves); the operator can,
    for an only admin taken over, and `users enable` is the way back."""
    member = runner.invoke(args=["users", "disable", "member@example.com"])
    assert NO_ADMIN_LEFT not in member.output
    result = runner.invoke(args=["users", "disable", "admin@example.com"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "admin@example.com was disabled, signed out everywhere and their API tokens revoked.",
        f"{NO_ADMIN_LEFT}: `flask --app web users enable EMAIL` or `users set-role EMAIL admin` gives one back.",
    ]
    assert not signs_in(app, "admin@example.com")
    assert runner.invoke(args=["users", "enable", "admin@example.com"]).exit_code == 0
    assert signs_in(app, "admin@example.com")


def test_users_set_role_changes_the_rights_at_once(runner, app, db, users):
    browser = app.test_client()
    sign_in(browser, users["member"])
    result = runner.invoke(args=["users", "set-role", "member@example.com", "Lead"])
    assert (result.exit_code, result.output) == (
        0,
        "member@example.com is now lead (was member); their sessions were signed out.\n",
    )
    assert browser.get("/").status_code == 302
    db.expire_all()
    assert db.get(User, users["member"].id).role == "lead"
    [changed] = events(db, "user.role_changed")
    assert (changed.actor_id, changed.data) == (None, {"email": "member@example.com", "from": "member", "to": "lead"})

    again = runner.invoke(args=["users", "set-role", "member@example.com", "lead"])
    assert (again.exit_code, again.output) == (0, "member@example.com is already lead.\n")
    assert len(events(db, "user.role_changed")) == 1


def test_users_set_role_demoting_the_last_admin_warns(runner, db, users):
    result = runner.invoke(args=["users", "set-role", "admin@example.com", "member"])
    assert result.exit_code == 0, result.output
    assert (
        result.output.splitlines()[0] == "admin@example.com is now member (was admin); their sessions were signed out."
    )
    assert NO_ADMIN_LEFT in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["users", "disable", "nobody@example.com"], "No user nobody@example.com."),
        (["users", "enable", "nobody@example.com"], "No user nobody@example.com."),
        (["users", "set-role", "nobody@example.com", "lead"], "No user nobody@example.com."),
        (["users", "set-role", "member@example.com", "owner"], "Unknown role 'owner': use member, lead or admin."),
        (["tokens", "list", "--email", "nobody@example.com"], "No user nobody@example.com."),
        (["tokens", "revoke", "424242"], "No token 424242."),
        (["tokens", "revoke", "99999999999"], "No token 99999999999."),  # past the column: PostgreSQL would fail
        (
            ["tokens", "revoke", "itk_abc123..."],
            "Give the token's id, a number from the ID column of `flask --app web tokens list`, not 'itk_abc123...'.",
        ),
    ],
    ids=[
        "disable-unknown",
        "enable-unknown",
        "set-role-unknown-user",
        "set-role-unknown-role",
        "tokens-list-unknown",
        "revoke-unknown",
        "revoke-huge",
        "revoke-not-an-id",
    ],
)
def test_operator_commands_refuse_in_one_line_and_change_nothing(runner, db, users, args, message):
    make_token(db, users["member"])
    before = snapshot(db)
    result = runner.invoke(args=args)
    assert (result.exit_code, result.output) == (1, f"Error: {message}\n")
    assert snapshot(db) == before


def test_tokens_list_shows_every_token_but_never_its_value(runner, db, users):
    member_id, member_value = make_token(db, users["member"], "deploy", "write")
    lead_id, lead_value = make_token(db, users["lead"], "grafana", "read", expires_days=30)
    tokens.revoke_token(session=db, user=users["lead"], token_id=lead_id)
    db.commit()
    stored = {token.id: token for token in db.scalars(select(ApiToken))}

    result = runner.invoke(args=["tokens", "list"])
    assert result.exit_code == 0, result.output
    header, *rows = result.output.splitlines()
    assert header.split("\t") == [
        "ID", "TOKEN", "OWNER", "NAME", "SCOPE", "CREATED", "LAST USED", "EXPIRES", "REVOKED"
    ]  # fmt: skip
    lead = stored[lead_id]
    assert [row.split("\t") for row in rows] == [
        [
            str(lead_id),
            f"{lead.prefix}...",
            "lead@example.com",
            "grafana",
            "read",
            f"{as_utc(lead.created_at):%Y-%m-%d %H:%M} UTC",
            "never",
            f"{as_utc(lead.expires_at):%Y-%m-%d %H:%M} UTC",
            f"{as_utc(lead.revoked_at):%Y-%m-%d %H:%M} UTC",
        ],
        [
            str(member_id),
            f"{stored[member_id].prefix}...",
            "member@example.com",
            "deploy",
            "write",
            f"{as_utc(stored[member_id].created_at):%Y-%m-%d %H:%M} UTC",
            "never",
            "never",
            "-",
        ],
    ]
    assert member_value not in result.output
    assert lead_value not in result.output

    mine = runner.invoke(args=["tokens", "list", "--email", "MEMBER@example.com"])
    assert [row.split("\t")[0] for row in mine.output.splitlines()[1:]] == [str(member_id)]
    none = runner.invoke(args=["tokens", "list", "--email", "admin@example.com"])
    assert (none.exit_code, none.output) == (0, "No API tokens for admin@example.com.\n")


def test_tokens_revoke_stops_a_leaked_token_and_leaves_the_owners_others(runner, app, db, users):
    leaked_id, leaked = make_token(db, users["member"], "laptop")
    _, other = make_token(db, users["member"], "ci")
    api = app.test_client()
    assert api.get("/api/v1/incidents", headers=bearer(leaked)).status_code == 200
    prefix = db.get(ApiToken, leaked_id).prefix

    result = runner.invoke(args=["tokens", "revoke", str(leaked_id)])
    assert (result.exit_code, result.output) == (
        0,
        f"Revoked token {leaked_id} ({prefix}..., 'laptop' of member@example.com).\n",
    )
    refused = api.get("/api/v1/incidents", headers=bearer(leaked))
    assert refused.status_code == 401
    assert refused.get_json()["detail"] == "This token is unknown, revoked or expired."
    assert api.get("/api/v1/incidents", headers=bearer(other)).status_code == 200
    assert signs_in(app, "member@example.com")
    [revoked] = events(db, "api_token.revoked")
    assert (revoked.actor_id, revoked.entity_id) == (None, users["member"].id)
    assert revoked.data == {"token_id": leaked_id, "name": "laptop"}

    again = runner.invoke(args=["tokens", "revoke", str(leaked_id)])
    assert again.exit_code == 0, again.output
    assert again.output.startswith(
        f"Token {leaked_id} ({prefix}..., 'laptop' of member@example.com) was revoked already, on "
    )
    assert len(events(db, "api_token.revoked")) == 1


def test_db_current_says_up_to_date_behind_or_ahead(runner, temporary_database_url, tmp_path):
    head = ScriptDirectory.from_config(migrate.alembic_config("sqlite://")).get_current_head()
    current = runner.invoke(args=["db", "current"])
    assert (current.exit_code, current.output) == (
        0,
        f"Database revision: {head}\nThis release's head: {head}\nUp to date.\n",
    )

    url = temporary_database_url()
    app = build_app(make_settings(url))
    try:
        empty = app.test_cli_runner().invoke(args=["db", "current"])
        assert (empty.exit_code, empty.output) == (
            0,
            f"Database revision: none (no schema yet)\nThis release's head: {head}\n"
            "Behind: run `flask --app web db upgrade` (on AWS: the migrate task).\n",
        )
        migrate.upgrade(url, "0012")
        behind = app.test_cli_runner().invoke(args=["db", "current"])
        assert behind.output.splitlines() == [
            "Database revision: 0012",
            f"This release's head: {head}",
            "Behind: run `flask --app web db upgrade` (on AWS: the migrate task).",
        ]
        migrate.upgrade(url)
        engine = create_engine(url)
        with engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = 'f00dfeedbeef'"))
        engine.dispose()
        ahead = app.test_cli_runner().invoke(args=["db", "current"])
        assert ahead.exit_code == 0, ahead.output
        assert ahead.output.splitlines() == [
            "Database revision: f00dfeedbeef",
            f"This release's head: {head}",
            "Ahead: a newer release migrated it (a rollback?). This release runs on it (migrations are "
            "expand/contract) and db upgrade leaves it as it is.",
        ]
    finally:
        app.extensions["db_engine"].dispose()


@pytest.mark.parametrize(
    "command",
    [
        ["db", "current"],
        ["users", "disable"],
        ["users", "enable"],
        ["users", "set-role"],
        ["tokens", "list"],
        ["tokens", "revoke"],
        ["audit", "anchor"],
    ],
    ids=lambda command: "-".join(command),
)
def test_operator_commands_explain_themselves(runner, command):
    result = runner.invoke(args=[*command, "--help"])
    assert result.exit_code == 0, result.output
    usage, blank, description, *_ = result.output.splitlines()
    assert f" {' '.join(command)} [OPTIONS]" in usage
    assert (blank, description[:2]) == ("", "  ")  # a description follows the usage line
