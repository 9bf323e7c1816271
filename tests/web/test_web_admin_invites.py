"""Invitations and sign-ins on the admin Users page: Resend invite (a new mailed link, the old one
ends), the Last signed in column, a disabled account's link saying so, and a person signed in
as soon as they choose a password from a link."""

from __future__ import annotations

import re
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from sqlalchemy import event, select
from web_helpers import PASSWORD, csrf_token_from, login, parse, sign_in, snapshot, texts

from shared.accounts import reset
from shared.accounts import service as accounts
from shared.accounts.models import LoginSession, User
from shared.audit.models import AuditEvent
from shared.db import transaction, utcnow
from shared.events import EventType
from shared.notifications import service as notifications
from shared.outbox.models import OutboxMessage

NEW_PASSWORD = "lantern-otter-gravel"
USED_OR_NOT_OURS = "This link has been used already or is not a link we sent."
DISABLED = "This account is disabled: ask an admin to enable it."


@pytest.fixture
def mail_app(make_app, tmp_path):
    """The app with email on: mail is written as .eml files to a folder (MAIL_DIR)."""
    return make_app(mail_dir=str(tmp_path / "mail"))


@pytest.fixture
def admin(mail_app, users):
    client = mail_app.test_client()
    sign_in(client, users["admin"])
    return client


@pytest.fixture
def invited(db, users) -> User:
    user = accounts.create_invited_user(
        session=db, actor=users["admin"], email="nia@example.com", name="Nia Newcomer", role="member"
    )
    db.commit()
    return user


def _deliver_invitations(app, texts_out: list[str] | None = None) -> list[str]:
    """Send the invitation mails waiting in the outbox, as the worker does (fan-out, then send),
    and return the links the new mails hold, as paths (their texts into `texts_out`)."""
    settings = app.config["SETTINGS"]
    factory = app.extensions["db_session_factory"]
    folder = Path(settings.mail_dir)
    before = set(folder.glob("*.eml")) if folder.exists() else set()
    with transaction(factory) as session:
        waiting = list(
            session.scalars(
                select(OutboxMessage).where(
                    OutboxMessage.topic == EventType.USER_INVITED.value, OutboxMessage.published_at.is_(None)
                )
            )
        )
        for message in waiting:
            message.published_at = utcnow()
    for message in waiting:
        with transaction(factory) as session:
            created = notifications.fan_out(
                session=session, settings=settings, topic=message.topic, payload=message.payload, message_id=message.id
            )
        for delivery_id in created.email_ids:
            notifications.send_email(factory=factory, settings=settings, delivery_id=delivery_id)
    links = []
    for path in sorted(set(folder.glob("*.eml")) - before):
        mail = message_from_bytes(path.read_bytes(), policy=policy.default)
        assert mail["Subject"].endswith("Your new account: choose a password")
        text = mail.get_body(preferencelist=("plain",))
        assert text is not None
        if texts_out is not None:
            texts_out.append(text.get_content())
        found = re.search(r"/password/reset\?token=(\S+)", text.get_content())
        assert found, "no link in the mail"
        links.append("/password/reset?token=" + found.group(1))
    return links


def _row(client, email: str) -> str:
    page = client.get("/admin/users").get_data(as_text=True)
    return page.split(f'<td data-label="Email">{email}</td>')[1].split("</tr>")[0]


# --- Resend invite ----------------------------------------------------------------------------


def test_resend_invite_mails_a_new_link_and_the_old_one_stops_working(mail_app, admin, db, users, invited):
    row = _row(admin, "nia@example.com")
    assert "no password chosen yet" in row
    assert f'action="/admin/users/{invited.id}/invite"' in row
    assert 'aria-label="Resend invite to nia@example.com">Resend invite</button>' in row
    (first_link,) = _deliver_invitations(mail_app)

    response = admin.post(f"/admin/users/{invited.id}/invite")
    assert response.status_code == 302
    page = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert (
        "A new link to choose a password is on its way to nia@example.com; the one sent before no longer works." in page
    )
    resent_texts: list[str] = []
    (second_link,) = _deliver_invitations(mail_app, resent_texts)  # one mail, as the first invitation's
    # Said by whoever sent it again, as sent again; choosing the password signs the person in.
    assert "Ada Admin (admin@example.com) sent you a new link for your account on Incident Tracker" in resent_texts[0]
    assert "links sent before no longer work." in resent_texts[0]
    assert "Choosing it signs you in." in resent_texts[0]

    visitor = mail_app.test_client()
    old = visitor.get(first_link)
    assert old.status_code == 400
    # Said as what happened (found by QA: "used already or not a link we sent" misled the invitee).
    assert "A newer invitation was sent after this one: use the link in the latest mail." in old.get_data(as_text=True)
    new = visitor.get(second_link)
    assert new.status_code == 200
    assert texts(new.get_data(as_text=True), "h1") == ["Choose your password"]

    db.expire_all()
    (resent,) = db.scalars(select(AuditEvent).where(AuditEvent.action == "user.invite_resent")).all()
    assert (resent.actor_id, resent.entity_type, resent.entity_id) == (users["admin"].id, "user", invited.id)
    assert resent.data == {"email": "nia@example.com"}


def test_only_a_pending_invitation_of_an_enabled_account_can_be_resent(mail_app, admin, db, users, invited):
    assert "Resend invite" not in _row(admin, "member@example.com")  # chose a password long ago
    before = snapshot(db)
    refused = admin.post(f"/admin/users/{users['member'].id}/invite")
    assert refused.status_code == 409
    assert "member@example.com has chosen a password already" in refused.get_data(as_text=True)
    assert snapshot(db) == before

    accounts.set_active(session=db, actor=users["admin"], user_id=invited.id, active=False)
    db.commit()
    assert "Resend invite" not in _row(admin, "nia@example.com")
    before = snapshot(db)
    refused = admin.post(f"/admin/users/{invited.id}/invite")
    assert refused.status_code == 422
    assert "nia@example.com is disabled: enable the account before sending a new link." in refused.get_data(
        as_text=True
    )
    assert snapshot(db) == before


def test_without_email_the_page_offers_no_resend_and_a_post_says_why(client, db, users, invited):
    sign_in(client, users["admin"])
    assert "Resend invite" not in _row(client, "nia@example.com")
    before = snapshot(db)
    refused = client.post(f"/admin/users/{invited.id}/invite")
    assert refused.status_code == 409
    assert "This server sends no email (SMTP_HOST is not set), so no link can be mailed" in refused.get_data(
        as_text=True
    )
    assert snapshot(db) == before


def test_resend_invite_needs_its_csrf_token(make_app, tmp_path, db, users, invited):
    app = make_app(csrf=True, mail_dir=str(tmp_path / "mail"))
    client = app.test_client()
    login(client, "admin@example.com")
    before = snapshot(db)
    assert client.post(f"/admin/users/{invited.id}/invite").status_code == 400
    assert snapshot(db) == before
    token = csrf_token_from(client.get("/admin/users").get_data(as_text=True))
    assert client.post(f"/admin/users/{invited.id}/invite", data={"csrf_token": token}).status_code == 302
    assert len(_deliver_invitations(app)) == 2  # the first invitation's mail and the new one


@pytest.mark.parametrize("who", ["member", "lead"])
def test_members_and_leads_cannot_resend_an_invite(mail_app, db, users, invited, who):
    client = mail_app.test_client()
    sign_in(client, users[who])
    before = snapshot(db)
    assert client.post(f"/admin/users/{invited.id}/invite").status_code == 403
    assert snapshot(db) == before


def test_resending_is_limited_per_admin(make_app, tmp_path, users, invited):
    app = make_app(mail_dir=str(tmp_path / "mail"), rate_limit_login="3 per minute")
    client = app.test_client()
    sign_in(client, users["admin"])
    answers = [client.post(f"/admin/users/{invited.id}/invite").status_code for _ in range(4)]
    assert answers == [302, 302, 302, 429]


def test_resending_to_one_person_is_limited_whoever_clicks(make_app, tmp_path, db, users, invited):
    """Found by QA: ten resends a minute per admin was ten mails a minute to one inbox."""
    other = accounts.create_invited_user(
        session=db, actor=users["admin"], email="otto@example.com", name="Otto Other", role="member"
    )
    db.commit()
    app = make_app(mail_dir=str(tmp_path / "mail"), rate_limit_login="100 per minute")
    client = app.test_client()
    sign_in(client, users["admin"])
    answers = [client.post(f"/admin/users/{invited.id}/invite").status_code for _ in range(4)]
    assert answers == [302, 302, 302, 429]
    assert client.post(f"/admin/users/{other.id}/invite").status_code == 302  # another person: their own three


def test_the_command_line_resends_an_invite_too(make_app, tmp_path, db, invited):
    app = make_app(mail_dir=str(tmp_path / "mail"))
    (first_link,) = _deliver_invitations(app)
    result = app.test_cli_runner().invoke(args=["users", "resend-invite", "Nia@Example.com"])
    assert result.exit_code == 0, result.output
    assert "A new link to choose a password is on its way to nia@example.com" in result.output
    (second_link,) = _deliver_invitations(app)
    client = app.test_client()
    assert client.get(first_link).status_code == 400
    assert client.get(second_link).status_code == 200
    db.expire_all()
    (resent,) = db.scalars(select(AuditEvent).where(AuditEvent.action == "user.invite_resent")).all()
    assert resent.actor_id is None  # the operator

    refused = app.test_cli_runner().invoke(args=["users", "resend-invite", "member@example.com"])
    assert refused.exit_code == 1
    assert "member@example.com has chosen a password already" in refused.output


# --- Last signed in ---------------------------------------------------------------------------


def _last_signed_in(client, email: str) -> str:
    return _row(client, email).split('<td data-label="Last signed in">')[1].split("</td>")[0]


def test_last_signed_in_says_never_until_a_sign_in_then_when_in_one_query(mail_app, admin, db, users):
    assert '<th scope="col">Last signed in</th>' in admin.get("/admin/users").get_data(as_text=True)
    assert _last_signed_in(admin, "member@example.com") == "never"

    login(mail_app.test_client(), "member@example.com")
    started = db.scalar(select(LoginSession.created_at).where(LoginSession.user_id == users["member"].id))
    shown = _last_signed_in(admin, "member@example.com")
    # A <time> in UTC that app.js shows in the reader's time zone, as every other time.
    assert re.fullmatch(r'<time datetime="[^"]+\+00:00">\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC</time>', shown), shown
    assert f"{started:%Y-%m-%d %H:%M} UTC" in shown
    assert _last_signed_in(admin, "other@example.com") == "never"

    engine = mail_app.extensions["db_engine"]

    def session_reads() -> int:
        seen: list[str] = []

        def capture(_conn, _cursor, statement, *_args):
            seen.append(statement)

        event.listen(engine, "before_cursor_execute", capture)
        try:
            assert admin.get("/admin/users").status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", capture)
        return sum("FROM login_sessions" in statement for statement in seen)

    few = session_reads()
    for who in ("lead", "other"):
        sign_in(mail_app.test_client(), users[who])
    assert session_reads() == few == 2  # the signed-in admin's own, and one for every row


# --- A disabled account's link ------------------------------------------------------------------


def test_a_disabled_accounts_invite_link_says_so_and_a_guessed_one_does_not(mail_app, db, users, invited):
    (link,) = _deliver_invitations(mail_app)
    accounts.set_active(session=db, actor=users["admin"], user_id=invited.id, active=False)
    db.commit()
    client = mail_app.test_client()

    page = client.get(link)
    html = page.get_data(as_text=True)
    assert page.status_code == 400
    assert DISABLED in html
    assert USED_OR_NOT_OURS not in html
    assert texts(html, "h1") == ["Choose your password"]
    assert "Send me a new link" not in html  # a disabled account is mailed none
    assert client.post(link, data={"new_password": NEW_PASSWORD, "repeated_password": NEW_PASSWORD}).status_code == 400

    for guessed in ("/password/reset?token=not-a-link", link[:-3] + ("AAA" if not link.endswith("AAA") else "BBB")):
        answer = client.get(guessed).get_data(as_text=True)
        assert USED_OR_NOT_OURS in answer
        assert DISABLED not in answer


# --- Signed in after choosing a password ---------------------------------------------------------


def test_choosing_a_password_from_an_invitation_signs_the_person_in(make_app, tmp_path, db, invited):
    app = make_app(csrf=True, mail_dir=str(tmp_path / "mail"))
    (link,) = _deliver_invitations(app)
    client = app.test_client()
    form_token = csrf_token_from(client.get(link).get_data(as_text=True))
    done = client.post(
        link, data={"new_password": NEW_PASSWORD, "repeated_password": NEW_PASSWORD, "csrf_token": form_token}
    )
    assert done.status_code == 302
    assert done.headers["Location"] == "/"

    dashboard = client.get("/")
    html = dashboard.get_data(as_text=True)
    assert dashboard.status_code == 200  # the dashboard, not the sign-in page
    assert "Welcome, Nia Newcomer: your password is set and you are signed in." in html
    assert "Nia Newcomer · member" in texts(html, "a")  # the top bar names who is signed in
    # A new session gets a new CSRF token: the one of the page drawn before signing in is refused.
    assert csrf_token_from(html) != form_token
    assert client.post("/logout", data={"csrf_token": form_token}).status_code == 400

    again = client.get(link)  # once only
    assert again.status_code == 400
    assert USED_OR_NOT_OURS in again.get_data(as_text=True)
    login(app.test_client(), "nia@example.com", NEW_PASSWORD)


def test_choosing_a_new_password_from_a_reset_link_signs_in_here_and_out_elsewhere(app, users):
    elsewhere = app.test_client()
    login(elsewhere, "member@example.com")
    client = app.test_client()
    link = "/password/reset?token=" + reset.make_token(secret_key=app.config["SECRET_KEY"], user=users["member"])

    done = client.post(link, data={"new_password": NEW_PASSWORD, "repeated_password": NEW_PASSWORD})
    assert done.status_code == 302
    dashboard = client.get("/")
    assert dashboard.status_code == 200
    assert "Welcome back, Mo Member: your password is changed and you are signed in." in dashboard.get_data(
        as_text=True
    )
    assert elsewhere.get("/").status_code == 302  # every other browser is signed out
    refused = app.test_client().post("/login", data={"email": "member@example.com", "password": PASSWORD})
    assert refused.status_code == 401


def test_choosing_the_password_trusts_this_browser_for_sign_in_limits(app, users):
    """The browser that chose the password (signed in by it) gets the device cookie a sign-in
    gives, so guesses elsewhere at the account do not lock it out of signing in later."""
    from web.auth.views import DEVICE_COOKIE

    client = app.test_client()
    link = "/password/reset?token=" + reset.make_token(secret_key=app.config["SECRET_KEY"], user=users["member"])
    assert client.get_cookie(DEVICE_COOKIE) is None
    done = client.post(link, data={"new_password": NEW_PASSWORD, "repeated_password": NEW_PASSWORD})
    assert done.status_code == 302
    assert client.get_cookie(DEVICE_COOKIE) is not None


def test_owner_pickers_mark_who_has_not_accepted_their_invitation(client, users, make_incident, invited):
    """Found by QA: a lead assigned INC-27 to someone who had never signed in, unawares."""
    incident = make_incident()
    sign_in(client, users["lead"])
    page = parse(client.get(f"/incidents/{incident.key}").get_data(as_text=True))
    for name in ("owner", "new-follow-up-owner"):
        select = page.find("select", name="owner") if name == "owner" else page.find("select", id=name)
        labels = [option.text for option in select.find_all("option")]
        assert "Nia Newcomer (nia@example.com, invited)" in labels, (name, labels)
        assert "Mo Member (member@example.com)" in labels
    new_form = parse(client.get("/incidents/new").get_data(as_text=True))
    assert "Nia Newcomer (nia@example.com, invited)" in [
        o.text for o in new_form.find("select", name="owner").find_all("option")
    ]
