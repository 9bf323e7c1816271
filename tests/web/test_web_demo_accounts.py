"""The demo accounts, whose password `make run` prints and the README publishes, stop opening
the tracker once it has an admin of its own: each `make run` start (scripts/run.sh calls
`shared.demo.secure_at_start`) disables those still on that password. Found by a platform
engineer: after a real admin was made, admin@example.com still signed in with the demo password.

The root `users` fixture's accounts are the demo's (admin@, lead@, member@example.com), with
PASSWORD standing for the published one; other@example.com is a real member. The operator's side
is the command line (tests/delivery/test_delivery_make_run.py starts `make run` itself)."""

from __future__ import annotations

from sqlalchemy import select
from web_helpers import PASSWORD

from shared import demo
from shared.accounts import service as accounts
from shared.audit.models import AuditEvent

DEMO = ("admin@example.com", "lead@example.com", "member@example.com")
OWN_PASSWORD = "ops-password-4711"


def _start(db) -> demo.DemoAccounts:
    """What a `make run` start does to the demo accounts."""
    db.expire_all()
    state = demo.secure_at_start(session=db, passwords=(PASSWORD, demo.DEFAULT_DEMO_PASSWORD))
    db.commit()
    return state


def _signs_in(db, email: str, password: str = PASSWORD) -> bool:
    return accounts.authenticate(session=db, email=email, password=password) is not None


def test_the_demo_accounts_are_offered_while_the_demo_admin_is_the_only_admin(db, users):
    state = _start(db)
    assert (state.offered, state.disabled, state.own_admin) == (DEMO, (), None)
    assert _signs_in(db, "admin@example.com")


def test_an_admin_of_its_own_turns_the_demo_accounts_off_at_the_next_start(runner, db, users):
    made = runner.invoke(
        args=["users", "create", "--email", "ops@example.com", "--role", "admin", "--password", OWN_PASSWORD]
    )
    assert made.exit_code == 0, made.output

    state = _start(db)

    assert (state.offered, state.disabled, state.own_admin) == ((), DEMO, "ops@example.com")
    assert [email for email in DEMO if _signs_in(db, email)] == []
    assert _signs_in(db, "other@example.com")  # a real account is left alone
    assert _signs_in(db, "ops@example.com", OWN_PASSWORD)
    disabled_by = db.scalars(select(AuditEvent.actor_id).where(AuditEvent.action == "user.disabled")).all()
    assert disabled_by == [None, None, None]  # on the audit trail, by the system
    assert _start(db).disabled == ()  # said once, not at every start


def test_an_invited_admin_turns_them_off_only_once_they_chose_a_password(make_app, db, users, tmp_path):
    runner = make_app(mail_dir=str(tmp_path / "mail")).test_cli_runner()
    made = runner.invoke(args=["users", "create", "--email", "ops@example.com", "--role", "admin", "--invite"])
    assert made.exit_code == 0, made.output

    assert _start(db).offered == DEMO  # nobody else can sign in yet: the demo admin stays

    runner.invoke(args=["users", "set-password", "--email", "ops@example.com", "--password", OWN_PASSWORD])
    assert _start(db).disabled == DEMO


def test_a_demo_account_given_a_password_of_its_own_stays_enabled(runner, db, users):
    """What the start's line says to do to use one again: set-password, then enable."""
    runner.invoke(args=["users", "create", "--email", "ops@example.com", "--role", "admin", "--password", OWN_PASSWORD])
    _start(db)

    for command in (
        ["users", "set-password", "--email", "admin@example.com", "--password", "ada-own-password-99"],
        ["users", "enable", "admin@example.com"],
    ):
        result = runner.invoke(args=command)
        assert result.exit_code == 0, result.output

    state = _start(db)
    assert (state.offered, state.disabled) == ((), ())
    assert _signs_in(db, "admin@example.com", "ada-own-password-99")
