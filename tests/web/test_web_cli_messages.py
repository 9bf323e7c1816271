"""What the command line says when it refuses, in the words a person typed or can act on.
Found by a platform engineer installing from the README:

- `users create --invite` refused with "No mail can be sent (SMTP_HOST is not set): give a
  --password instead." while `make run` wrote mail to DATA_DIR/mail: the command decides from its
  own settings, and named neither MAIL_DIR nor that folder.
- `audit export --since 2026-12-02 --until 2026-12-01` said "to (...) must be later than from
  (...)", names the command does not have."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from web_helpers import snapshot

from shared.accounts.models import User
from shared.outbox.models import OutboxMessage


def test_an_invitation_nobody_can_mail_names_every_way_out(make_app, db, users, tmp_path):
    runner = make_app(data_dir=str(tmp_path)).test_cli_runner()  # no SMTP_HOST, no MAIL_DIR, no mail folder
    before = snapshot(db)

    result = runner.invoke(args=["users", "create", "--email", "x@example.com", "--role", "lead", "--invite"])

    assert (result.exit_code, result.output) == (
        1,
        "Error: No mail can be sent (neither SMTP_HOST nor MAIL_DIR is set here): set SMTP_HOST, or MAIL_DIR to "
        f"write the mail to a folder, as `make run` does ({tmp_path / 'mail'}), or give --password instead.\n",
    )
    assert snapshot(db) == before


def test_an_invitation_goes_to_the_mail_folder_of_make_run_on_the_same_data_dir(make_app, db, users, tmp_path):
    (tmp_path / "mail").mkdir(mode=0o700)  # what `make run` made at its start (scripts/run.sh)
    runner = make_app(data_dir=str(tmp_path)).test_cli_runner()

    result = runner.invoke(args=["users", "create", "--email", "x@example.com", "--role", "lead", "--invite"])

    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == "Created x@example.com (lead)."
    assert result.output.splitlines()[-1] == (
        f"`make run` writes that mail to {tmp_path / 'mail'} (SMTP_HOST is not set)."
    )
    db.expire_all()
    invited = db.scalar(select(User.id).where(User.email == "x@example.com"))
    topics = db.scalars(select(OutboxMessage.topic).where(OutboxMessage.payload["user_id"].as_integer() == invited))
    assert "user.invited" in list(topics)


def test_a_production_server_without_mail_still_refuses_an_invitation(make_app, users, tmp_path):
    """A folder named mail in DATA_DIR is `make run`'s only outside production."""
    (tmp_path / "mail").mkdir()
    app = make_app(fresh=True, data_dir=str(tmp_path))  # an app of its own: its settings change below
    # Production's other requirements (PostgreSQL, Redis, a long SECRET_KEY) are beside the point.
    app.config["SETTINGS"] = app.config["SETTINGS"].model_copy(update={"app_env": "production"})
    result = app.test_cli_runner().invoke(args=["users", "create", "--email", "x@example.com", "--invite"])
    assert result.exit_code == 1
    assert "No mail can be sent" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--since", "2026-12-02", "--until", "2026-12-01"],
            "Error: --until (2026-12-01) must be later than --since (2026-12-02).\n",
        ),
        (
            ["--entity-id", "7"],
            "Error: --entity-id: Give --entity-type with --entity-id: an id is only unique within its type.\n",
        ),
        (
            ["--entity-type", "user", "--entity-id", "seven"],
            "Error: --entity-id 'seven' is not an id (a whole number from 1).\n",
        ),
    ],
)
def test_audit_export_names_its_options_as_typed(runner, users, args, message):
    result = runner.invoke(args=["audit", "export", *args])
    assert (result.exit_code, result.output) == (1, message)
