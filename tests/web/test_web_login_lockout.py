"""Sign-in limits under attack (security review): someone guessing at an account must not keep
its owner out; only wrong passwords count; what was typed as the email never reaches the log or
Redis.

Known browsers carry a device cookie (OWASP, "Slow Down Online Guessing Attacks with Device
Cookies"): set by a sign-in, it lets that browser's later attempts for the same account count
against the browser instead of the account's shared counter, which the attacker fills."""

from __future__ import annotations

import io
import logging
import secrets

import pytest
import redis
from itsdangerous import URLSafeTimedSerializer
from web_helpers import PASSWORD, csrf_token_from, sign_in

from web.extensions import limiter

DEVICE_COOKIE = "it_device"
LEAD = "lead@example.com"
MEMBER = "member@example.com"
HOME, OFFICE, ATTACKER = "198.51.100.10", "198.51.100.20", "203.0.113.66"
NEW_PASSWORD = "lantern-otter-gravel"
# Production keeps the limits in Redis: DB 11 and a key prefix of each test's own keep these
# counts away from other runs on the shared server (as tests/web/test_web_security.py does).
REDIS_URL = "redis://127.0.0.1:6379/11"


def _sign_in(client, email: str, password: str = PASSWORD, address: str = HOME) -> int:
    data = {"email": email, "password": password}
    return client.post("/login", data=data, environ_base={"REMOTE_ADDR": address}).status_code


def _attack(app, email: str, *, guesses: int = 10, address: str = ATTACKER) -> list[int]:
    attacker = app.test_client()
    return [_sign_in(attacker, email, f"guess-number-{n}", address) for n in range(guesses)]


def _known_browser(app, email: str, password: str = PASSWORD):
    """A browser its owner signed in with (at home) and then signed out of."""
    browser = app.test_client()
    assert _sign_in(browser, email, password) == 302
    assert browser.post("/logout").status_code == 302
    assert browser.get("/").status_code == 302  # signed out...
    return browser


def _browser_with(app, cookie: str):
    browser = app.test_client()
    browser.set_cookie(DEVICE_COOKIE, cookie)
    return browser


def _change_password(client, current: str, new: str = NEW_PASSWORD) -> int:
    data = {"current_password": current, "new_password": new, "repeated_password": new}
    return client.post("/profile/password", data=data).status_code


# --- Known browsers keep signing in while an account is under attack -------------------------


def test_the_owners_browser_still_signs_in_while_someone_guesses_at_their_account(make_app, users):
    app = make_app(rate_limit_login="10 per minute")
    laptop = _known_browser(app, LEAD)  # ...and the cookie that knows the browser stays

    assert _attack(app, LEAD) == [401] * 10
    # Any other browser, even with the right password, waits: that is what stops the guessing.
    assert _sign_in(app.test_client(), LEAD, address=OFFICE) == 429
    # The lead's own browser signs in, from any address.
    assert _sign_in(laptop, LEAD, address=OFFICE) == 302
    assert laptop.get("/").status_code == 200


def test_a_browser_known_for_another_account_does_not_help(make_app, users):
    app = make_app(rate_limit_login="10 per minute")
    shared_desk = _known_browser(app, MEMBER)
    assert _attack(app, LEAD) == [401] * 10
    assert _attack(app, MEMBER, address="203.0.113.67") == [401] * 10

    assert _sign_in(shared_desk, LEAD, address=OFFICE) == 429
    assert _sign_in(shared_desk, MEMBER, address=OFFICE) == 302  # the account it knows


def test_a_forged_or_altered_device_cookie_does_not_help(make_app, users):
    app = make_app(rate_limit_login="10 per minute")
    genuine = _known_browser(app, LEAD).get_cookie(DEVICE_COOKIE).value
    _, claims = URLSafeTimedSerializer("any key", salt="it-device").loads_unsafe(genuine)
    assert claims  # the cookie's claims can be read, just not signed without SECRET_KEY
    payload, timestamp, signature = genuine.rsplit(".", 2)
    other_claims = URLSafeTimedSerializer("y" * 40, salt="it-device").dumps({**claims, "nonce": "0" * 32})
    other_payload = other_claims.rsplit(".", 2)[0]
    forgeries = {
        "signature altered": f"{payload}.{timestamp}.{'B' if signature[0] == 'A' else 'A'}{signature[1:]}",
        "signed with another key": URLSafeTimedSerializer("y" * 40, salt="it-device").dumps(claims),
        "another nonce, same signature": f"{other_payload}.{timestamp}.{signature}",
        "not a cookie of ours": "hello",
    }
    assert _attack(app, LEAD) == [401] * 10

    answers = {name: _sign_in(_browser_with(app, forged), LEAD, address=OFFICE) for name, forged in forgeries.items()}
    assert answers == dict.fromkeys(forgeries, 429)
    assert _sign_in(_browser_with(app, genuine), LEAD, address=OFFICE) == 302


def test_a_stolen_device_cookie_still_cannot_guess_freely(make_app, users):
    app = make_app(rate_limit_login="10 per minute")
    stolen = _known_browser(app, LEAD).get_cookie(DEVICE_COOKIE).value
    thief = _browser_with(app, stolen)
    # Every guess from a new address: only the cookie's own limit can stop them.
    guesses = [_sign_in(thief, LEAD, f"guess-number-{n}", f"203.0.113.{n}") for n in range(11)]
    assert guesses == [401] * 10 + [429]
    # Those guesses counted against that browser, not the account: the lead's typo on another
    # browser is still just a wrong password.
    assert _sign_in(app.test_client(), LEAD, "typo", OFFICE) == 401


def test_a_new_password_ends_the_trust_in_browsers_that_knew_the_old_one(make_app, users):
    app = make_app(rate_limit_login="10 per minute")
    old_laptop = _known_browser(app, LEAD)
    phone = app.test_client()
    assert _sign_in(phone, LEAD) == 302
    assert _change_password(phone, current=PASSWORD) == 302
    assert phone.post("/logout").status_code == 302
    assert _attack(app, LEAD) == [401] * 10

    # Whoever knew the old password may hold a cookie from a sign-in with it.
    assert _sign_in(old_laptop, LEAD, NEW_PASSWORD, OFFICE) == 429
    assert _sign_in(phone, LEAD, NEW_PASSWORD, OFFICE) == 302  # the browser that changed it


def test_the_owner_can_change_their_password_while_their_account_is_under_attack(make_app, users):
    app = make_app(rate_limit_login="10 per minute")
    laptop = app.test_client()
    assert _sign_in(laptop, LEAD) == 302
    assert _attack(app, LEAD) == [401] * 10
    assert _change_password(laptop, current=PASSWORD) == 302


def test_the_device_cookie_is_httponly_samesite_lax_for_a_year_and_only_set_by_a_sign_in(make_app, users):
    client = make_app().test_client()
    assert _sign_in(client, MEMBER, "not-the-password") == 401
    assert client.get_cookie(DEVICE_COOKIE) is None
    response = client.post("/login", data={"email": MEMBER, "password": PASSWORD})
    (cookie,) = [c for c in response.headers.getlist("Set-Cookie") if c.startswith(f"{DEVICE_COOKIE}=")]
    for attribute in ("HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=31536000"):
        assert attribute in cookie.split("; ")
    assert "Secure" not in cookie  # plain http in development and tests, as the session cookie
    assert MEMBER not in cookie  # the account is in it only as a keyed digest


@pytest.mark.postgres_only
def test_the_device_cookie_is_secure_in_production(make_app, users):
    app = make_app(
        csrf=True, app_env="production", redis_url=REDIS_URL, redis_key_prefix=f"test-{secrets.token_hex(6)}:"
    )
    client = app.test_client()
    https = "https://localhost"
    form = client.get("/login", base_url=https)
    response = client.post(
        "/login",
        data={"email": MEMBER, "password": PASSWORD, "csrf_token": csrf_token_from(form.get_data(as_text=True))},
        headers={"Referer": f"{https}/login"},
        base_url=https,
    )
    assert response.status_code == 302
    (cookie,) = [c for c in response.headers.getlist("Set-Cookie") if c.startswith(f"{DEVICE_COOKIE}=")]
    assert "Secure" in cookie.split("; ")


# --- Only wrong passwords count ---------------------------------------------------------------


def test_right_passwords_refused_at_a_busy_address_do_not_count_against_the_account(make_app, users):
    app = make_app(rate_limit_login="3 per minute")
    busy = "203.0.113.50"  # an office NAT where someone mistyped a lot
    assert [_sign_in(app.test_client(), "nobody@example.com", "guess", busy) for _ in range(3)] == [401] * 3
    assert [_sign_in(app.test_client(), MEMBER, PASSWORD, busy) for _ in range(3)] == [429] * 3
    # Elsewhere, the member's account still has its whole allowance: typos are wrong passwords.
    typos = [_sign_in(app.test_client(), MEMBER, "typo", f"198.51.100.{n}") for n in range(4)]
    assert typos == [401, 401, 401, 429]


def test_forms_sent_without_a_field_do_not_count(make_app, users):
    app = make_app(rate_limit_login="3 per minute")
    client = app.test_client()
    for data in ({"email": MEMBER}, {"password": "x"}, {"email": MEMBER, "password": ""}):
        assert client.post("/login", data=data, environ_base={"REMOTE_ADDR": OFFICE}).status_code == 400
    # Neither the address nor the account has used any of its three.
    assert [_sign_in(client, MEMBER, "typo", OFFICE) for _ in range(4)] == [401, 401, 401, 429]


# --- What was typed as an email stays out of the log and Redis --------------------------------


@pytest.fixture
def redis_limited_app(make_app, tmp_path):
    """An app counting its limits in Redis under a key prefix of its own, logging JSON lines to a
    buffer (its stdout handler, as production writes them); yields (app, log, keys)."""
    app = make_app(
        rate_limit_login="3 per minute",
        redis_url=REDIS_URL,
        redis_key_prefix=f"test-{secrets.token_hex(6)}:",
        log_format="json",
        mail_dir=str(tmp_path / "mail"),
    )
    # The process's one Limiter keeps the first key prefix it was given (init_app: `self._key_prefix
    # or config`): an app built later in the same test process counts under that one.
    prefix = limiter._key_prefix
    assert prefix
    log = io.StringIO()
    (handler,) = logging.getLogger().handlers
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(log)
    store = redis.Redis.from_url(REDIS_URL)

    def keys() -> list[str]:
        return [key.decode() for key in store.scan_iter(match=f"*{prefix}*")]

    yield app, log, keys
    for key in keys():
        store.delete(key)


def test_what_was_typed_as_the_email_is_not_written_to_the_log_or_to_redis(redis_limited_app, users, caplog):
    app, log, keys = redis_limited_app
    caplog.set_level(logging.INFO, logger="flask-limiter")
    pasted = "correct-horse-battery-staple-9"  # a password pasted into the Email field
    client = app.test_client()
    answers = [_sign_in(client, pasted, "whatever", f"203.0.113.{n}") for n in range(4)]
    assert answers == [401, 401, 401, 429]
    asked = [
        client.post("/password/forgot", data={"email": pasted}, environ_base={"REMOTE_ADDR": f"198.51.100.{n}"})
        for n in range(4)
    ]
    assert asked[-1].status_code == 429
    signed_in = app.test_client()
    sign_in(signed_in, users["member"])
    assert [_change_password(signed_in, current=f"guess-number-{n}") for n in range(4)] == [422, 422, 422, 429]

    written = log.getvalue() + caplog.text
    stored = keys()
    # The trips were logged, and counted in Redis...
    assert "exceeded at endpoint: account-guesses" in written
    assert "exceeded at endpoint: auth.forgot_password" in written
    assert any("account-guesses" in key for key in stored)
    assert any("auth.forgot_password" in key for key in stored)
    # ...under keys that name neither what was typed nor the signed-in account's email.
    for secret in (pasted, MEMBER):
        assert secret not in written
        assert not [key for key in stored if secret in key]


def test_a_known_browser_signs_in_from_the_address_the_guesses_come_from(make_app, users):
    """Found by QA: one guesser behind an office's NAT address filled the address's limit, and
    the known browsers behind that address got 429 too. They count against themselves only."""
    app = make_app(rate_limit_login="10 per minute")
    laptop = _known_browser(app, LEAD)
    assert _attack(app, MEMBER, address=OFFICE) == [401] * 10
    assert _sign_in(app.test_client(), LEAD, address=OFFICE) == 429  # an unknown browser there waits
    assert _sign_in(laptop, LEAD, address=OFFICE) == 302
    # Its own guesses are still limited: a stolen cookie is no way around the limits.
    thief = _browser_with(app, laptop.get_cookie(DEVICE_COOKIE).value)
    assert thief.post("/logout").status_code in (302, 401)
    assert _attack_with(thief, LEAD, address=OFFICE) == [401] * 10 + [429]


def _attack_with(browser, email: str, *, guesses: int = 11, address: str = ATTACKER) -> list[int]:
    return [_sign_in(browser, email, f"guess-number-{n}", address) for n in range(guesses)]
