"""`flask --app web <command>`: db upgrade/revision, users create, tokens create, audit verify, demo seed."""

from __future__ import annotations

import sys

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from shared import migrate
from shared.accounts import service as accounts
from shared.audit import anchors
from shared.audit import service as audit
from shared.db import transaction
from shared.errors import DomainError, ValidationFailed
from shared.evidence.storage import make_storage
from shared.permissions import SYSTEM


def _settings():
    return current_app.config["SETTINGS"]


def _factory():
    return current_app.extensions["db_session_factory"]


def register_cli(app: Flask) -> None:
    # AppGroup runs each command inside the app context however it is invoked (the flask
    # command pushes one itself; app.test_cli_runner() and other click entry points do not).
    db_group = AppGroup("db", help="Database schema (Alembic migrations).")
    users_group = AppGroup("users", help="User accounts.")
    audit_group = AppGroup("audit", help="The audit trail.")
    demo_group = AppGroup("demo", help="Demo data for trying the app.")
    tokens_group = AppGroup("tokens", help="Personal API tokens.")

    @db_group.command("upgrade")
    @click.option("--revision", default="head", show_default=True)
    def db_upgrade(revision: str):
        """Migrate the database to the newest schema (safe to run repeatedly)."""
        try:
            migrate.upgrade(_settings().effective_database_url, revision)
        except migrate.DatabaseIsNewer as newer:
            # A rollback: the deploy runs the older release's migrate step. Expand/contract
            # migrations keep the newer schema readable by it (README "Roll back").
            click.echo(
                f"Database is at revision {newer.revision}, which this release does not know: a newer release "
                "migrated it (a rollback?). Left as it is."
            )
            return
        click.echo(f"Database is at revision {migrate.current_revision(_settings().effective_database_url)}.")

    @db_group.command("revision")
    @click.option("-m", "--message", required=True, help="What the revision changes, e.g. 'evidence table'.")
    @click.option(
        "--empty", is_flag=True, help="Write an empty revision instead of comparing the models with the database."
    )
    def db_revision(message: str, empty: bool):
        """Write a new migration file from what the models declare and the database (at head) lacks.

        Review it, make it run on SQLite and PostgreSQL, and commit it with the model change."""
        script = migrate.revision(_settings().effective_database_url, message, autogenerate=not empty)
        click.echo(f"Wrote {script.path}" if script is not None else "No revision written.")

    @users_group.command("create")
    @click.option("--email", required=True)
    @click.option("--role", type=click.Choice(["member", "lead", "admin"]), default="member", show_default=True)
    @click.option("--name", default="")
    @click.option(
        "--password",
        default=None,
        help="At least 12 characters, not easy to guess; prompted for (twice) when not given.",
    )
    @click.option(
        "--invite",
        is_flag=True,
        help="Set no password: mail the user a link to choose one (72 hours; needs SMTP). E.g. the first "
        "admin on a server where a typed password would end up in a task's logged overrides.",
    )
    def users_create(email: str, role: str, name: str, password: str | None, invite: bool):
        """Create a user with a role."""
        if invite and password:
            raise click.UsageError("Give --password or --invite, not both.")
        if invite and _settings().email_mode == "off":
            raise click.ClickException("No mail can be sent (SMTP_HOST is not set): give a --password instead.")
        if not invite and password is None:
            password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        try:
            with transaction(_factory()) as session:
                if invite:
                    user = accounts.create_invited_user(
                        session=session, actor=SYSTEM, email=email, name=name, role=role
                    )
                else:
                    user = accounts.create_user(
                        session=session, actor=SYSTEM, email=email, name=name, role=role, password=password or ""
                    )
                click.echo(f"Created {user.email} ({user.role}).")
                if invite:
                    click.echo(
                        f"A link to choose a password is on its way to {user.email} once the worker runs "
                        "(it works for 72 hours; 'Forgot your password?' on the sign-in page sends another)."
                    )
        except DomainError as error:
            raise click.ClickException(str(error)) from None

    @users_group.command("set-password")
    @click.option("--email", required=True, help="Whose password (their email).")
    @click.password_option(help="At least 12 characters, not easy to guess; prompted for (twice) when not given.")
    def users_set_password(email: str, password: str):
        """Give a user a new password (e.g. the only admin, locked out); signs them out everywhere."""
        try:
            with transaction(_factory()) as session:
                user = accounts.find_by_email(session=session, email=email)
                if user is None:
                    raise click.ClickException(f"No user {email}.")
                accounts.set_password(session=session, actor=SYSTEM, user_id=user.id, password=password)
                state = "" if user.is_active else " The account is disabled: enable it to sign in."
                click.echo(f"Set a new password for {user.email}; their sessions were signed out.{state}")
        except DomainError as error:
            raise click.ClickException(str(error)) from None

    @tokens_group.command("create")
    @click.option("--user", "email", required=True, help="Whose token (their email).")
    @click.option("--scope", type=click.Choice(["read", "write", "admin"]), required=True)
    @click.option("--expires-days", type=click.IntRange(min=1), default=None, help="Default: never expires.")
    @click.option("--name", default="CLI token", show_default=True)
    def tokens_create(email: str, scope: str, expires_days: int | None, name: str):
        """Create an API token for a user; the token is the last line printed (shown only once)."""
        from shared.accounts import tokens

        try:
            with transaction(_factory()) as session:
                user = accounts.find_by_email(session=session, email=email)
                if user is None or not user.is_active:
                    raise click.ClickException(f"No active user {email}.")
                token, value = tokens.create_token(
                    session=session, user=user, name=name, scope=scope, expires_days=expires_days
                )
                expiry = f", expires {token.expires_at:%Y-%m-%d}" if token.expires_at else ", no expiry"
                click.echo(f"Created {token.scope}-scope token {token.prefix}... for {user.email}{expiry}.")
                click.echo("Store it now: it is not shown again.")
                click.echo(value)
        except DomainError as error:
            raise click.ClickException(str(error)) from None

    @users_group.command("list")
    def users_list():
        """List users with their role and state."""
        with transaction(_factory()) as session:
            for user in accounts.list_users(session=session):
                state = "active" if user.is_active else "disabled"
                click.echo(f"{user.email}\t{user.role}\t{state}")

    @audit_group.command("verify")
    @click.option("--full", is_flag=True, help="Re-hash every event from the first, ignoring checkpoints.")
    @click.option(
        "--require-anchor", is_flag=True, help="Fail (not just warn) when no anchor exists although events are old."
    )
    def audit_verify(full: bool, require_anchor: bool):
        """Check the hash chain from the last verified checkpoint (--full: from the first event)
        and against the latest anchor in storage (audit-anchors/); exit 1 and say what is wrong:
        the first broken event, a chain shorter than the anchor promised, or a missing anchor."""
        with transaction(_factory()) as session:
            if full:
                report = audit.verify_chain(session=session)
                audit.record_checkpoint(session=session, report=report)
            else:
                report = audit.verify_incremental(session=session)
        if not report.ok:
            click.echo(
                f"BROKEN: audit event {report.broken_event_id}: {report.problem} "
                f"({report.checked} events before it are intact).",
                err=True,
            )
            sys.exit(1)
        # The chain can be intact and still be missing its newest events: compare it with the
        # anchor the beat wrote outside the database.
        with transaction(_factory()) as session:
            problems, warnings = anchors.check(
                session=session, storage=make_storage(_settings()), require_anchor=require_anchor
            )
        for problem in problems:
            click.echo(f"BROKEN: {problem}.", err=True)
        if problems:
            sys.exit(1)
        for warning in warnings:
            click.echo(f"WARNING: {warning}", err=True)
        since = report.resumed_from
        detail = (
            f" ({report.walked} new since the checkpoint of {since.verified_at:%Y-%m-%d %H:%M} UTC)"
            if since is not None
            else f" ({report.walked} checked from the first event)"
        )
        click.echo(f"OK: {report.checked} audit events, hash chain intact.{detail}")

    @demo_group.command("seed")
    def demo_seed():
        """Create the demo users and incidents (once)."""
        from shared.demo import DEFAULT_DEMO_PASSWORD, seed

        password = _settings().demo_password or DEFAULT_DEMO_PASSWORD
        try:
            with transaction(_factory()) as session:
                created = seed(session=session, password=password)
        except ValidationFailed as error:
            # The demo users' password is the one thing here a person chose (DEMO_PASSWORD).
            raise click.ClickException(f"DEMO_PASSWORD: {error}") from None
        click.echo("Demo data created." if created else "Demo data already present; left as it is.")

    @demo_group.command("seed-scale")
    @click.option("--incidents", "count", type=click.IntRange(min=1), default=100_000, show_default=True)
    def demo_seed_scale(count: int):
        """Fill PostgreSQL with COUNT realistic incidents and their audit chain (for `make bench`)."""
        from shared.demo import DEFAULT_DEMO_PASSWORD
        from shared.demo_scale import seed_scale

        engine = current_app.extensions["db_engine"]
        try:
            report = seed_scale(
                engine=engine, incidents=count, password=_settings().demo_password or DEFAULT_DEMO_PASSWORD
            )
        except ValueError as error:
            raise click.ClickException(str(error)) from None
        click.echo(
            f"{report.incidents} incidents ({report.added} added, {report.audit_events} audit events) "
            f"in {report.seconds:.1f} s; VACUUM ANALYZE done."
        )

    for group in (db_group, users_group, audit_group, demo_group, tokens_group):
        app.cli.add_command(group)
