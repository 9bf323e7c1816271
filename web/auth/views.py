"""Sign in and sign out; your profile: password, email preference, API tokens."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, g, make_response, redirect, render_template, request, url_for
from flask import session as browser_session
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from itsdangerous import BadData, URLSafeTimedSerializer
from wtforms import EmailField, PasswordField, SubmitField
from wtforms.validators import DataRequired

from shared.accounts import reset, tokens
from shared.accounts import service as accounts
from shared.accounts.models import User
from shared.db import utcnow
from shared.errors import DomainError, ValidationFailed
from shared.notifications import service as notifications
from shared.permissions import Action
from shared.text import is_number, unwanted_characters
from shared.timeutil import as_utc
from web.auth.current import SignedInUser
from web.db import get_session
from web.errors import status_for
from web.extensions import limiter
from web.pages import page_to_read

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired()])
    password = PasswordField("Password", validators=[DataRequired()])
    submit = SubmitField("Sign in")


class ForgotPasswordForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired()], render_kw={"autocomplete": "username"})
    submit = SubmitField("Send me a link")


# Said under every field where a password is chosen (the profile, a reset link, the Users page).
NEW_PASSWORD_HINT = "At least 12 characters, and not easy to guess: a few unrelated words make a strong one."  # noqa: S105 - a hint


def new_password_field(label: str = "New password", hint: str = NEW_PASSWORD_HINT) -> PasswordField:
    return PasswordField(label, description=hint, render_kw={"autocomplete": "new-password"})


class ResetPasswordForm(FlaskForm):
    new_password = new_password_field()
    repeated_password = PasswordField("New password again", render_kw={"autocomplete": "new-password"})
    submit = SubmitField("Set my new password")


class ChangePasswordForm(ResetPasswordForm):
    # The service checks every field and names each problem beside it.
    current_password = PasswordField("Current password", render_kw={"autocomplete": "current-password"})
    submit = SubmitField("Change password")


def _login_limit() -> str:
    return current_app.config["SETTINGS"].rate_limit_login


def _keyed_digest(purpose: str, value: str) -> str:
    # Rate-limit keys are written to Redis and named in the log line of a limit that trips, and
    # what was typed into the Email field may be a password pasted into the wrong box: a key is
    # this digest, never the text. Keyed with SECRET_KEY, so nobody can test guesses against it.
    message = f"{purpose}:{value}".encode()
    return hmac.new(current_app.config["SECRET_KEY"].encode(), message, hashlib.sha256).hexdigest()[:16]


def _account_key(email: str) -> str:
    return _keyed_digest("account", accounts.normalise_email(email))


def _submitted_account() -> str:
    return _account_key(request.form.get("email") or "")


def _signed_in_account() -> str:
    return _account_key(current_user.user.email) if current_user.is_authenticated else "-"


def _wrong_credentials(response) -> bool:
    # Only "Email or password is incorrect." is a guess: not a refusal by another limit (a 429:
    # the right password refused at a busy address must not count against the account), not a
    # form sent without a field (400), not a sign-in that worked.
    return response.status_code == 401


# Device cookies (OWASP, "Slow Down Online Guessing Attacks with Device Cookies"): a browser
# that has signed in as an account proves it on later attempts, and those count against that
# browser alone. Guesses from everywhere else then fill the account's shared counter without
# keeping its owner out: the on-call lead still signs in while someone hammers their account.
# The cookie proves the browser, not a session, so signing out keeps it.
DEVICE_COOKIE = "it_device"
DEVICE_COOKIE_LIFETIME = timedelta(days=365)
_DEVICE_SALT = "it-device"
_DEVICE_CLAIMS = ("account", "password", "nonce")


def _device_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_DEVICE_SALT)


def _password_stamp(user: User) -> str:
    # Changes with every new password: a device cookie from before a password change or reset
    # (perhaps taken by whoever knew the old one) is trusted no more.
    return _keyed_digest("password", user.password_hash)


def _trust_this_browser(response, user: User):
    """The response, setting a new device cookie for `user` (who just proved their password here)."""
    claims = {"account": _account_key(user.email), "password": _password_stamp(user), "nonce": secrets.token_hex(16)}
    response.set_cookie(
        DEVICE_COOKIE,
        _device_serializer().dumps(claims),
        max_age=int(DEVICE_COOKIE_LIFETIME.total_seconds()),
        path="/",
        secure=current_app.config["SESSION_COOKIE_SECURE"],
        httponly=True,
        samesite="Lax",
    )
    return response


def _device_claims() -> dict[str, str] | None:
    value = request.cookies.get(DEVICE_COOKIE)
    if not value:
        return None
    try:
        claims = _device_serializer().loads(value, max_age=int(DEVICE_COOKIE_LIFETIME.total_seconds()))
    except BadData:  # forged, altered, signed with another key, or expired
        return None
    if not isinstance(claims, dict) or not all(isinstance(claims.get(k), str) for k in _DEVICE_CLAIMS):
        return None
    return claims


def _device_key(user: User | None) -> str | None:
    """This browser's rate-limit key when its device cookie was set by a sign-in as `user` with
    their current password; None for every other browser (untrusted)."""
    claims = _device_claims()
    if claims is None or user is None:
        return None
    if not (
        hmac.compare_digest(claims["account"], _account_key(user.email))
        and hmac.compare_digest(claims["password"], _password_stamp(user))
    ):
        return None
    return _keyed_digest("device", claims["nonce"])


def _device_trying_to_sign_in() -> str | None:
    # Asked up to three times per attempt (two exemptions and a key): looked up once.
    if "trusted_device" not in g:
        claims = _device_claims()
        user = None
        # The account typed must be the cookie's before the database is asked about it.
        if claims is not None and hmac.compare_digest(claims["account"], _submitted_account()):
            user = accounts.find_by_email(session=get_session(), email=request.form.get("email", ""))
        g.trusted_device = _device_key(user)
    return g.trusted_device


def _device_signed_in() -> str | None:
    return _device_key(current_user.user) if current_user.is_authenticated else None


# Wrong passwords for one account, wherever they are typed (the sign-in form, the profile's
# "Current password"): one counter, so a session left open does not add guesses of its own.
ACCOUNT_GUESSES_SCOPE = "account-guesses"
# ...except from a browser with the account's device cookie: its wrong passwords (on either
# form) count here, per device, with the same numbers, so a stolen cookie guesses no faster.
DEVICE_GUESSES_SCOPE = "device-guesses"


def _new_csrf_token() -> None:
    """Forms drawn for whoever used this browser before (or for nobody: the sign-in page) stop
    working: a token read off a shared terminal's page must not forge writes as whoever signs in
    next. Flask-WTF makes a new one on the next page."""
    browser_session.pop(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"), None)
    g.pop("csrf_token", None)


def _sign_in(session, user) -> None:
    """Start a login session for this browser (its cookie carries only the session's id)."""
    _new_csrf_token()
    settings = current_app.config["SETTINGS"]
    token = accounts.start_session(
        session=session, user=user, lifetime=timedelta(hours=settings.session_lifetime_hours)
    )
    session.commit()
    login_user(SignedInUser(user, token))


# An expired session turns a New incident submission into a trip through this page, back to the
# form (Flask-Login's `next`). app.js keeps what was typed in sessionStorage and puts it back on
# that one page, the first time it is drawn after signing in, and nowhere else: a draft still
# marked as sent on any other page means the submission went through (or came back refused).
_RESTORE_DRAFT = "restore_new_incident_draft"


def take_draft_restore() -> bool:
    """Whether this drawing of the New incident page is the one a sign-in returned to (once)."""
    return bool(browser_session.pop(_RESTORE_DRAFT, False))


def _safe_next(target: str | None) -> str:
    # Only same-site paths: never bounce a signed-in user to another host. No control or bidi
    # characters either: a newline cannot go into a Location header (werkzeug raises, a 500),
    # and a direction override disguises where the path leads.
    if (
        target
        and target.startswith("/")
        and not target.startswith("//")
        and not unwanted_characters(target)
        and not urlsplit(target).netloc
    ):
        return page_to_read(target)
    return url_for("incidents.dashboard")


def _return_to_next():
    destination = _safe_next(request.args.get("next"))
    if urlsplit(destination).path == url_for("incidents.create"):
        browser_session[_RESTORE_DRAFT] = True
    return redirect(destination)


@bp.errorhandler(429)
def _too_many_attempts(error):
    """A sign-in (or a link request) over its limit: the same page again with the email kept and
    when to try again, not a bare error page whose only way on ("Back to incidents") needs the
    sign-in that was refused. Retry-After as every 429 has it."""
    from web.api.problems import retry_after  # the one reading of the limit that refused it

    wait = retry_after(limiter)
    message = f"Too many attempts. Wait {wait} seconds and try again."
    if request.endpoint == "auth.forgot_password":
        form: FlaskForm = ForgotPasswordForm()
        page = render_template("auth/forgot.html", form=form, email_on=True, errors={"form": message})
    else:
        form = LoginForm()
        form.password.data = ""
        page = render_template("auth/login.html", form=form, error=message)
    response = make_response(page, 429)
    response.headers["Retry-After"] = wait
    return response


@bp.route("/login", methods=["GET", "POST"])
# Per client address, and per account so that many addresses cannot guess one password. Only
# wrong passwords count toward either: a team behind one NAT address signing in at the start of
# a major incident, or one person on a few devices, must not be locked out; the limits are
# there to stop guessing. A browser with the account's device cookie is held to its own
# per-device limit instead of the account's (see DEVICE_COOKIE).
# A known browser is held to its own per-device limit instead of the address's too: one guesser
# behind an office's NAT or VPN address must not keep everyone's known browsers out there.
@limiter.limit(
    _login_limit,
    methods=["POST"],
    exempt_when=lambda: _device_trying_to_sign_in() is not None,
    deduct_when=_wrong_credentials,
)
@limiter.shared_limit(
    _login_limit,
    ACCOUNT_GUESSES_SCOPE,
    methods=["POST"],
    key_func=_submitted_account,
    exempt_when=lambda: _device_trying_to_sign_in() is not None,
    deduct_when=_wrong_credentials,
)
@limiter.shared_limit(
    _login_limit,
    DEVICE_GUESSES_SCOPE,
    methods=["POST"],
    key_func=lambda: _device_trying_to_sign_in() or "-",
    exempt_when=lambda: _device_trying_to_sign_in() is None,
    deduct_when=_wrong_credentials,
)
def login():
    if current_user.is_authenticated:
        # Signed in meanwhile (another tab): still go where this page was sent from, so a
        # New incident draft kept while the session had expired comes back there too.
        return _return_to_next()
    form = LoginForm()
    error = None
    status = 200
    if form.validate_on_submit():
        session = get_session()
        user = accounts.authenticate(session=session, email=form.email.data, password=form.password.data)
        if user is not None:
            _sign_in(session, user)
            return _trust_this_browser(_return_to_next(), user)
        # One answer for unknown email, wrong password and disabled account.
        error = "Email or password is incorrect."
        status = 401
    elif request.method == "POST":
        error = "Enter your email and password."
        status = 400
    form.password.data = ""
    return render_template("auth/login.html", form=form, error=error), status


@bp.route("/password/forgot", methods=["GET", "POST"])
# Each request may send a mail: limited like sign-in attempts, per address and per account.
@limiter.limit(_login_limit, methods=["POST"])
@limiter.limit(_login_limit, methods=["POST"], key_func=_submitted_account)
def forgot_password():
    """Ask for a link to choose a new password, sent to the account's email."""
    form = ForgotPasswordForm()
    email_on = current_app.config["SETTINGS"].email_mode != "off"
    errors: dict[str, str] = {}
    if email_on and request.method == "POST":
        email = accounts.normalise_email(form.email.data or "")
        if not form.validate():
            errors = {"form": "The form expired; try again."} if "csrf_token" in form.errors else {}
        if not errors and not accounts.looks_like_email(email):
            errors = {"email": "Enter the email you sign in with, like name@example.com."}
        if not errors:
            session = get_session()
            # The same work and the same answer whether or not an account has this address
            # (the worker looks it up): neither the page nor its timing tells.
            accounts.request_password_reset(session=session, email=email)
            session.commit()
            flash(
                f"If an account has the email {email}, a link to choose a new password is on its way to it. "
                f"The link works for {reset.RESET_LINK_HOURS} hour."
            )
            return redirect(url_for("auth.login"))
    status = 400 if errors else 200
    return render_template("auth/forgot.html", form=form, email_on=email_on, errors=errors), status


# The token rides in the query string, which no log of ours records (request logs keep the
# path only); in the path it was written to the request log for anyone reading it.
@bp.route("/password/reset", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def reset_password():
    """Choose a new password from a mailed link (signed, an hour, once)."""
    session = get_session()
    token = request.args.get("token", "")
    link = reset.read_token(session=session, secret_key=current_app.config["SECRET_KEY"], token=token)
    if link.user is None:
        page = render_template(
            "auth/reset.html",
            problem=link.problem,
            form=None,
            errors={},
            invitation=link.invitation,
            disabled=link.disabled,
        )
        return _no_store(page, 400)
    form = ResetPasswordForm()
    errors: dict[str, str] = {}
    if request.method == "POST":
        if not form.validate():
            errors = {"form": "The form expired; try again."}
        else:
            try:
                accounts.reset_password(
                    session=session,
                    user=link.user,
                    new_password=form.new_password.data or "",
                    repeated=form.repeated_password.data or "",
                    first=link.invitation,
                )
                if current_user.is_authenticated:  # someone else's link, used while signed in
                    accounts.end_session(session=session, token=current_user.token)
                session.commit()
            except ValidationFailed as error:
                session.rollback()
                errors = error.field_errors
            else:
                logout_user()
                # The link is the credential (mailed, signed, once): no need to type the password
                # again. A new login session and CSRF token, as at the sign-in page.
                _sign_in(session, link.user)
                if link.invitation:
                    flash(f"Welcome, {link.user.name}: your password is set and you are signed in.")
                else:
                    flash(
                        f"Welcome back, {link.user.name}: your password is changed and you are signed in. "
                        "Every other browser signed in as you is signed out."
                    )
                # The new password ended every device cookie of the account; this browser holds the link.
                return _trust_this_browser(redirect(url_for("incidents.dashboard")), link.user)
    form = ResetPasswordForm(formdata=None)
    if link.invitation:  # their first password: nothing is "new" yet
        form.new_password.label.text, form.repeated_password.label.text = "Password", "Password again"
        form.submit.label.text = "Set my password"
    page = render_template(
        "auth/reset.html", problem="", form=form, errors=errors, user=link.user, invitation=link.invitation
    )
    return _no_store(page, 422 if errors else 200)


def _no_store(page: str, status: int):
    # The address holds the link's token: keep the page out of caches and history snapshots.
    response = make_response(page, status)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/logout")
@login_required
def logout():
    session = get_session()
    accounts.end_session(session=session, token=current_user.token)
    session.commit()
    logout_user()
    _new_csrf_token()
    flash("You are signed out.")
    return redirect(url_for("auth.login"))


def _render_profile(status: int = 200, **extra):
    user = current_user.user
    listed = tokens.list_tokens(session=get_session(), user=user)
    now = utcnow()
    session = get_session()
    return render_template(
        "auth/profile.html",
        email_preference=notifications.email_preference(session=session, user_id=user.id).value,
        email_status=notifications.email_status(
            current_app.config["SETTINGS"], for_admin=current_user.can(Action.MANAGE_WEBHOOKS)
        ),
        tokens=listed,
        expired={t.id for t in listed if t.expires_at and as_utc(t.expires_at) <= now},
        scopes=[s.value for s in tokens.allowed_scopes(user)],
        live_sessions=accounts.live_sessions(session=session, user=user),
        **{
            "errors": {},
            "values": {},
            "password_form": ChangePasswordForm(formdata=None),
            "password_errors": {},
            **extra,
        },
    ), status


@bp.get("/profile")
@login_required
def profile():
    """Your account and your personal API tokens."""
    return _render_profile()


@bp.post("/profile/password")
@login_required
# The current-password check must not become a way to guess it from a session left open:
# wrong current passwords count toward the sign-in limit, per account, or per device from a
# browser with the account's device cookie, as at the sign-in page (a new password refused as
# too easy to guess does not: finding a good one may take a few tries).
@limiter.shared_limit(
    _login_limit,
    ACCOUNT_GUESSES_SCOPE,
    key_func=_signed_in_account,
    exempt_when=lambda: _device_signed_in() is not None,
    deduct_when=lambda _: g.get("wrong_current_password", False),
)
@limiter.shared_limit(
    _login_limit,
    DEVICE_GUESSES_SCOPE,
    key_func=lambda: _device_signed_in() or "-",
    exempt_when=lambda: _device_signed_in() is None,
    deduct_when=lambda _: g.get("wrong_current_password", False),
)
def change_password():
    form = ChangePasswordForm()
    if not form.validate():
        return _render_profile(400, password_form=form, password_errors={"form": "The form expired; try again."})
    session = get_session()
    user = current_user.user
    try:
        accounts.change_own_password(
            session=session,
            user=user,
            current_password=form.current_password.data or "",
            new_password=form.new_password.data or "",
            repeated=form.repeated_password.data or "",
        )
        session.flush()
    except ValidationFailed as error:
        session.rollback()
        g.wrong_current_password = "current_password" in error.field_errors
        return _render_profile(422, password_form=ChangePasswordForm(formdata=None), password_errors=error.field_errors)
    # Every session of this account ended with the change; this browser gets a fresh one.
    _sign_in(session, user)
    flash("Your password is changed. Every other browser signed in as you is signed out.")
    # The new password ends every device cookie of the account; this browser just proved it.
    return _trust_this_browser(redirect(url_for("auth.profile")), user)


@bp.post("/profile/sessions/sign-out-elsewhere")
@login_required
def sign_out_elsewhere():
    session = get_session()
    ended = accounts.sign_out_elsewhere(session=session, user=current_user.user, keep=current_user.token)
    session.commit()
    flash(
        f"Signed out {ended} other browser{'' if ended == 1 else 's'}; this one stays signed in."
        if ended
        else "No other browser was signed in as you."
    )
    return redirect(url_for("auth.profile"))


@bp.post("/profile/tokens")
@login_required
def create_token():
    session = get_session()
    days = (request.form.get("expires_days") or "").strip()
    # The newest token when the form was drawn: the form posted again (reloading the page that
    # showed the secret) is refused, as a webhook's Rotate secret is, rather than make a second token.
    seen = (request.form.get("newest_token") or "").strip()
    try:
        if days and not is_number(days):
            raise ValidationFailed({"expires_days": "Enter a number of days, or leave it empty for no expiry."})
        token, value = tokens.create_token(
            session=session,
            user=current_user.user,
            name=request.form.get("name", ""),
            scope=request.form.get("scope", ""),
            expires_days=int(days) if days else None,
            newest_seen=int(seen) if is_number(seen) and len(seen) < 12 else None,
        )
        session.commit()
    except DomainError as error:
        session.rollback()
        errors = error.field_errors if isinstance(error, ValidationFailed) else {}
        # Field errors are said beside their fields; the top says only what belongs to none.
        return _render_profile(
            status_for(error), error=None if errors else str(error), errors=errors, values=request.form
        )
    # Shown once, on this response only: it is not stored, so no later page can show it again.
    return _render_profile(201, new_token=value, new_token_row=token)


@bp.post("/profile/email")
@login_required
def set_email_preference():
    session = get_session()
    try:
        choice = notifications.set_email_preference(
            session=session, user=current_user.user, preference=request.form.get("email", "")
        )
        session.commit()
    except ValidationFailed as error:
        session.rollback()
        return _render_profile(422, email_errors=error.field_errors)
    flash(
        {
            "all": "You get email about every change that concerns you.",
            "p1_p2": "You get email about P1 and P2 incidents only, and always when an incident is made yours.",
            "off": "You get no notification email.",
        }[choice.value]
    )
    return redirect(url_for("auth.profile"))


@bp.post("/profile/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id: int):
    session = get_session()
    if request.form.get("confirm") != "1":
        # Scripts using the token stop working at once, and there is no undo: ask first, on a
        # page that works without JavaScript (as disabling a user does).
        asked = next((t for t in tokens.list_tokens(session=session, user=current_user.user) if t.id == token_id), None)
        if asked is not None and asked.revoked_at is None:
            return _render_profile(confirm_revoke=asked)
    token = tokens.revoke_token(session=session, user=current_user.user, token_id=token_id)
    session.commit()
    flash(f"Token {token.name} ({token.prefix}…) is revoked.")
    return redirect(url_for("auth.profile"))
