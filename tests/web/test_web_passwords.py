"""Passwords in the browser: change your own on the profile page, an admin sets someone's, and
an easily guessed one is refused in words beside the field."""

from __future__ import annotations

import re

import pytest
from web_helpers import PASSWORD, counts, csrf_token_from, login, sign_in, snapshot, texts

from shared.accounts import reset
from shared.accounts import service as accounts

NEW_PASSWORD = "lantern-otter-gravel"


def _change(client, current=PASSWORD, new=NEW_PASSWORD, repeated=None, **extra):
    data = {
        "current_password": current,
        "new_password": new,
        "repeated_password": new if repeated is None else repeated,
        **extra,
    }
    return client.post("/profile/password", data=data)


def test_changing_your_password_keeps_this_browser_and_signs_out_the_others(app, users):
    here, elsewhere = app.test_client(), app.test_client()
    login(here, "member@example.com")
    login(elsewhere, "member@example.com")

    response = _change(here)
    assert response.status_code == 302
    page = here.get(response.headers["Location"])
    assert page.status_code == 200  # still signed in here
    assert "Your password is changed. Every other browser signed in as you is signed out." in page.get_data(
        as_text=True
    )
    assert elsewhere.get("/").status_code == 302  # the other browser is back at the sign-in page

    fresh = app.test_client()
    refused = fresh.post("/login", data={"email": "member@example.com", "password": PASSWORD})
    assert refused.status_code == 401
    login(fresh, "member@example.com", NEW_PASSWORD)


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"current": "not-my-password"}, "current_password", "That is not your current password."),
        ({"new": "password1234"}, "new_password", "This is a very common password."),
        ({"new": "short"}, "new_password", "Use at least 12 characters."),
        ({"repeated": "lantern-otter-grave"}, "repeated_password", "The two new passwords differ"),
    ],
    ids=["wrong-current", "common", "short", "typo-in-repeat"],
)
def test_a_refused_change_says_why_beside_the_field_and_keeps_everything(client, db, users, form, field, message):
    sign_in(client, users["member"])
    before = snapshot(db)
    response = _change(client, **form)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in " ".join(texts(html, "p", "class", "field-error"))
    (box,) = re.findall(rf'<input[^>]*id="{field}"[^>]*>', html)
    assert 'aria-invalid="true"' in box  # read out with the field it concerns
    assert f'aria-describedby="{field}-error"' in box
    for typed in ("not-my-password", "password1234", "lantern-otter-grave", NEW_PASSWORD, PASSWORD):
        assert typed not in html  # no password is ever drawn back into the page
    assert snapshot(db) == before
    assert client.get("/profile").status_code == 200  # still signed in


def test_failed_password_changes_count_toward_the_sign_in_limit(make_app, users):
    client = make_app(rate_limit_login="3 per minute").test_client()
    sign_in(client, users["member"])
    assert [_change(client, current=f"guess-number-{n}").status_code for n in range(4)] == [422, 422, 422, 429]
    assert _change(client).status_code == 429  # the right one waits too, as at the sign-in page


def test_wrong_current_passwords_and_wrong_sign_ins_share_one_counter(make_app, users):
    """Found by QA: the profile's counter was separate from the sign-in form's, so someone with a
    session left open got twice the guesses at the account's password."""
    app = make_app(rate_limit_login="3 per minute")
    client = app.test_client()
    sign_in(client, users["member"])
    assert [_change(client, current=f"guess-number-{n}").status_code for n in range(2)] == [422, 422]
    elsewhere = app.test_client()
    guesses = [
        elsewhere.post(
            "/login",
            data={"email": "member@example.com", "password": f"guess-{n}"},
            environ_base={"REMOTE_ADDR": f"198.51.100.{n}"},
        ).status_code
        for n in range(2)
    ]
    assert guesses == [401, 429]


def test_new_passwords_refused_as_weak_do_not_count_toward_the_limit(make_app, users):
    """Found by QA: ten tries at a good new password locked the person out of the form."""
    client = make_app(rate_limit_login="3 per minute").test_client()
    sign_in(client, users["member"])
    assert [_change(client, new=f"password{n}234").status_code for n in range(5)] == [422] * 5
    assert _change(client).status_code == 302


def test_the_password_form_needs_its_csrf_token(csrf_app, users):
    client = csrf_app.test_client()
    login(client, "member@example.com")
    assert _change(client).status_code == 400
    token = csrf_token_from(client.get("/profile").get_data(as_text=True))
    assert _change(client, csrf_token=token).status_code == 302


@pytest.fixture
def admin_client(client, users):
    sign_in(client, users["admin"])
    return client


def test_an_admin_sets_a_new_password_and_its_owner_is_signed_out(admin_client, app, users):
    member = app.test_client()
    login(member, "member@example.com")

    page = admin_client.get("/admin/users").get_data(as_text=True)
    link = f'href="/admin/users/{users["member"].id}/password" aria-label="Set password for member@example.com"'
    assert link in page
    assert 'aria-label="Set password for admin@example.com"' not in page  # your own: on the profile page

    form = admin_client.get(f"/admin/users/{users['member'].id}/password").get_data(as_text=True)
    assert "New password for member@example.com" in texts(form, "h2")
    response = admin_client.post(f"/admin/users/{users['member'].id}/password", data={"new_password": NEW_PASSWORD})
    assert response.status_code == 302
    done = admin_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "member@example.com has a new password and was signed out everywhere." in done

    assert member.get("/").status_code == 302
    login(app.test_client(), "member@example.com", NEW_PASSWORD)


@pytest.mark.parametrize(
    ("password", "message"),
    [("password1234", "This is a very common password."), ("member@example.com", "too easy to guess")],
)
def test_an_admin_is_told_why_a_password_is_refused(admin_client, db, users, password, message):
    before = snapshot(db)
    response = admin_client.post(f"/admin/users/{users['member'].id}/password", data={"new_password": password})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in html
    assert 'id="new_password-error"' in html
    (box,) = re.findall(r'<input[^>]*name="new_password"[^>]*>', html)
    assert 'value=""' in box or "value=" not in box  # not drawn back into the page
    assert snapshot(db) == before


def test_members_and_leads_cannot_set_passwords(client, users):
    for role in ("member", "lead"):
        sign_in(client, users[role])
        assert client.get(f"/admin/users/{users['other'].id}/password").status_code == 403
        data = {"new_password": NEW_PASSWORD}
        assert client.post(f"/admin/users/{users['other'].id}/password", data=data).status_code == 403


def test_creating_a_user_with_a_common_password_is_refused_beside_the_field(admin_client, db):
    before = snapshot(db)
    response = admin_client.post(
        "/admin/users", data={"email": "nia@example.com", "name": "Nia", "role": "member", "password": "password1234"}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "This is a very common password." in html
    assert 'id="password-error"' in html
    assert snapshot(db) == before


# --- Forgot your password? -------------------------------------------------------------------


@pytest.fixture
def mailing_app(make_app, tmp_path):
    """The app with email on (mail as files), as with SMTP_HOST or MAIL_DIR set."""
    return make_app(mail_dir=str(tmp_path / "mail"))


def _ask_for_a_link(client, email: str):
    return client.post("/password/forgot", data={"email": email})


def test_asking_for_a_link_answers_the_same_whether_or_not_the_account_exists(mailing_app, db, users):
    client = mailing_app.test_client()
    assert 'href="/password/forgot">Forgot your password?</a>' in client.get("/login").get_data(as_text=True)
    answers, queued = [], counts(db)[1]
    for email in ("member@example.com", "nobody@example.com"):
        response = _ask_for_a_link(client, email)
        assert response.status_code == 302
        assert response.headers["Location"] == "/login"
        page = client.get("/login").get_data(as_text=True).replace(email, "EMAIL")
        # The form's CSRF token is signed with the second it was made: not part of the answer.
        answers.append(re.sub(r'(csrf[-_]token"[^>]*?(?:value|content)=")[^"]*"', r'\1CSRF"', page))
    assert answers[0] == answers[1]
    assert "If an account has the email EMAIL, a link to choose a new password is on its way to it." in answers[0]
    # The same work for both: a message each, and the worker looks the address up (see
    # tests/notifications: only an active account's is mailed).
    assert counts(db)[1] == queued + 2


@pytest.mark.parametrize("typed", ["not an email", "a@b", "x" * 300 + "@example.com", "lee@example.com\r\nBcc: x"])
def test_asking_for_a_link_needs_an_email_address(mailing_app, db, users, typed):
    client = mailing_app.test_client()
    before = snapshot(db)
    response = _ask_for_a_link(client, typed)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Enter the email you sign in with, like name@example.com." in html
    assert 'id="email-error"' in html
    assert snapshot(db) == before


def test_without_email_the_page_says_to_ask_an_admin(client, db, users):
    page = client.get("/password/forgot").get_data(as_text=True)
    assert "This server sends no email (SMTP_HOST is not set), so no link can be sent." in page
    assert 'name="email"' not in page
    before = snapshot(db)
    assert _ask_for_a_link(client, "member@example.com").status_code == 200
    assert snapshot(db) == before


def test_asking_for_links_is_limited_like_signing_in(make_app, tmp_path, users):
    client = make_app(mail_dir=str(tmp_path / "mail"), rate_limit_login="3 per minute").test_client()
    assert [_ask_for_a_link(client, "member@example.com").status_code for _ in range(4)] == [302, 302, 302, 429]


def _link(app, user) -> str:
    return "/password/reset?token=" + reset.make_token(secret_key=app.config["SECRET_KEY"], user=user)


def test_a_mailed_link_sets_a_new_password_once_and_signs_out_everywhere(app, db, users):
    signed_in = app.test_client()
    login(signed_in, "member@example.com")
    client = app.test_client()
    link = _link(app, users["member"])

    page = client.get(link)
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    assert "For member@example.com." in page.get_data(as_text=True)
    weak = client.post(link, data={"new_password": "password1234", "repeated_password": "password1234"})
    assert weak.status_code == 422
    assert 'id="new_password-error"' in weak.get_data(as_text=True)

    done = client.post(link, data={"new_password": NEW_PASSWORD, "repeated_password": NEW_PASSWORD})
    assert done.status_code == 302
    assert done.headers["Location"] == "/"  # signed in here (tests/web/test_web_admin_invites.py)
    assert "your password is changed and you are signed in" in client.get("/").get_data(as_text=True)
    assert signed_in.get("/").status_code == 302  # the browser signed in before is signed out
    login(app.test_client(), "member@example.com", NEW_PASSWORD)

    again = client.get(link)
    assert again.status_code == 400
    assert "This link has been used already or is not a link we sent. Ask for a new one." in again.get_data(
        as_text=True
    )
    assert (
        client.post(
            link, data={"new_password": "x" + NEW_PASSWORD, "repeated_password": "x" + NEW_PASSWORD}
        ).status_code
        == 400
    )


def test_a_links_token_never_reaches_the_request_log(app, users, caplog):
    """Found by QA: the token was in the path, and the path is in every request log line."""
    link = _link(app, users["member"])
    token = link.split("token=")[1]
    with caplog.at_level("INFO"):
        assert app.test_client().get(link).status_code == 200
    assert "/password/reset" in caplog.text
    assert token not in caplog.text


def test_the_current_password_is_not_a_new_one(app, db, users):
    link = _link(app, users["member"])
    same = app.test_client().post(link, data={"new_password": PASSWORD, "repeated_password": PASSWORD})
    assert same.status_code == 422
    assert "That is your current password: choose another one." in same.get_data(as_text=True)


def test_a_broken_link_says_so_and_offers_a_new_one(client, users):
    page = client.get("/password/reset?token=not-a-link")
    html = page.get_data(as_text=True)
    assert page.status_code == 400
    assert "This link has been used already or is not a link we sent." in html
    assert 'href="/password/forgot">Send me a new link</a>' in html


# --- Signed-in browsers ----------------------------------------------------------------------


def test_sign_out_all_other_browsers_keeps_this_one(app, users):
    here, laptop, phone, someone_else = (app.test_client() for _ in range(4))
    for client in (here, laptop, phone):
        login(client, "member@example.com")
    login(someone_else, "other@example.com")
    profile = here.get("/profile").get_data(as_text=True)
    assert "You are signed in on 3 browsers, this one included." in profile

    done = here.post("/profile/sessions/sign-out-elsewhere")
    assert done.status_code == 302
    page = here.get("/profile").get_data(as_text=True)
    assert "Signed out 2 other browsers; this one stays signed in." in page
    assert "You are signed in on 1 browser, this one included." in page
    assert laptop.get("/").status_code == 302
    assert phone.get("/").status_code == 302
    assert someone_else.get("/").status_code == 200  # another account is not touched

    again = here.post("/profile/sessions/sign-out-elsewhere", follow_redirects=True)
    assert "No other browser was signed in as you." in again.get_data(as_text=True)


def test_only_admins_are_told_where_the_servers_mail_goes(make_app, tmp_path, users):
    """Found by QA: every profile showed the server's mail folder."""
    app = make_app(mail_dir=str(tmp_path / "mail"))
    member, admin = app.test_client(), app.test_client()
    sign_in(member, users["member"])
    sign_in(admin, users["admin"])
    assert str(tmp_path) not in member.get("/profile").get_data(as_text=True)
    assert "Email is not sent from this server" in member.get("/profile").get_data(as_text=True)
    assert str(tmp_path / "mail") in admin.get("/profile").get_data(as_text=True)


def test_an_admin_creates_a_user_who_chooses_their_own_password_by_mail(make_app, tmp_path, db, users):
    app = make_app(mail_dir=str(tmp_path / "mail"))
    admin = app.test_client()
    sign_in(admin, users["admin"])
    page = admin.get("/admin/users").get_data(as_text=True)
    assert "Leave it empty to email them a link to choose their own (it works for 72 hours)" in page
    queued = counts(db)[1]
    created = admin.post("/admin/users", data={"email": "nia@example.com", "name": "Nia", "role": "member"})
    assert created.status_code == 302
    done = admin.get("/admin/users").get_data(as_text=True)
    assert "Created nia@example.com as member; a link to choose their password is on its way to them." in done
    assert counts(db)[1] == queued + 2  # user.created, and user.invited: the mail


def test_an_invitation_link_asks_for_a_first_password_and_announces_no_change(app, db, users):
    """Found by QA: the invitation opened "Choose a new password", said "Your password is
    changed…" and mailed "Your password was changed… If this was not you" for the first one."""
    invited = accounts.create_invited_user(
        session=db, actor=users["admin"], email="nia@example.com", name="Nia Newcomer", role="member"
    )
    db.commit()
    link = "/password/reset?token=" + reset.make_token(
        secret_key=app.config["SECRET_KEY"], user=invited, hours=reset.INVITE_LINK_HOURS
    )
    client = app.test_client()
    page = client.get(link).get_data(as_text=True)
    assert texts(page, "h1") == ["Choose your password"]
    assert "For your new account nia@example.com." in page
    assert "Set my password" in page
    assert "New password" not in page
    queued = counts(db)[1]

    done = client.post(link, data={"new_password": NEW_PASSWORD, "repeated_password": NEW_PASSWORD})
    assert done.status_code == 302
    assert "your password is set and you are signed in." in client.get("/").get_data(as_text=True)
    assert counts(db)[1] == queued  # no "Your password was changed" mail
    login(app.test_client(), "nia@example.com", NEW_PASSWORD)


def _user_row(admin, email: str) -> str:
    page = admin.get("/admin/users").get_data(as_text=True)
    return page.split(f'<td data-label="Email">{email}</td>')[1].split("</tr>")[0]


def test_an_invited_person_who_asks_for_a_reset_link_first_still_chooses_a_first_password(app, db, users):
    """Found by QA: "Forgot your password?" before opening the invitation led to "Choose a new
    password", "Your password is changed" and a "Your password was changed" mail."""
    invited = accounts.create_invited_user(
        session=db, actor=users["admin"], email="nia@example.com", name="Nia Newcomer", role="member"
    )
    db.commit()
    admin = app.test_client()
    sign_in(admin, users["admin"])
    row = _user_row(admin, "nia@example.com")
    assert "no password chosen yet" in row

    link = "/password/reset?token=" + reset.make_token(secret_key=app.config["SECRET_KEY"], user=invited)  # an hour
    client = app.test_client()
    assert texts(client.get(link).get_data(as_text=True), "h1") == ["Choose your password"]
    queued = counts(db)[1]
    assert client.post(link, data={"new_password": NEW_PASSWORD, "repeated_password": NEW_PASSWORD}).status_code == 302
    assert "your password is set and you are signed in." in client.get("/").get_data(as_text=True)
    assert counts(db)[1] == queued  # no "Your password was changed" mail
    row = _user_row(admin, "nia@example.com")
    assert "no password chosen yet" not in row


def test_without_email_an_admin_must_give_a_password(admin_client, db):
    before = snapshot(db)
    refused = admin_client.post("/admin/users", data={"email": "nia@example.com", "name": "Nia", "role": "member"})
    assert refused.status_code == 422
    assert "Give a password: this server sends no email, so no link can be mailed." in refused.get_data(as_text=True)
    assert snapshot(db) == before


def test_without_email_an_empty_password_and_a_bad_email_are_both_named(admin_client):
    refused = admin_client.post("/admin/users", data={"email": "nope", "name": "Nia", "role": "member"})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert 'id="email-error"' in html
    assert "Give a password: this server sends no email" in html
