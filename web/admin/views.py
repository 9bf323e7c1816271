"""User administration: list, create, change role, set a new password, disable/enable, resend an
invitation."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import EmailField, SelectField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice

from shared.accounts import service as accounts
from shared.errors import DomainError, ValidationFailed
from shared.permissions import Action
from web.auth.current import require
from web.auth.views import new_password_field
from web.db import get_session
from web.errors import status_for
from web.extensions import limiter

bp = Blueprint("admin", __name__, url_prefix="/admin")
ROLE_CHOICES = [("member", "member"), ("lead", "lead"), ("admin", "admin")]


class NewUserForm(FlaskForm):
    email = EmailField("Email")
    name = StringField("Name")
    # The service checks the role and names the problem; wtforms' own choice check would
    # fail validate() and be reported as an expired form.
    role = SelectField(
        "Role", choices=[SelectChoice(v, label) for v, label in ROLE_CHOICES], default="member", validate_choice=False
    )
    password = new_password_field(
        "Password",
        hint="Leave it empty to email them a link to choose their own (it works for 72 hours); "
        "or at least 12 characters, not easy to guess.",
    )
    submit = SubmitField("Create user")


class SetPasswordForm(FlaskForm):
    # Not "password": the Create a user form on the same page has that field.
    new_password = new_password_field(
        hint="At least 12 characters, and not easy to guess. Give it to them over a channel you trust."
    )


def _mail_on() -> bool:
    return current_app.config["SETTINGS"].email_mode != "off"


def _mail_limit() -> str:
    return current_app.config["SETTINGS"].rate_limit_login


def _signed_in_admin() -> str:
    return f"user-{current_user.id}" if current_user.is_authenticated else "-"


def _render(
    form: NewUserForm,
    errors: dict[str, str] | None = None,
    error: str | None = None,
    status: int = 200,
    confirm_disable=None,
    confirm_role=None,
    password_for=None,
    password_form: SetPasswordForm | None = None,
):
    session = get_session()
    users = accounts.list_users(session=session)
    return render_template(
        "admin/users.html",
        users=users,
        last_sign_ins=accounts.last_sign_ins(session=session),
        mail_on=_mail_on(),
        form=form,
        errors=errors or {},
        error=error,
        roles=ROLE_CHOICES,
        confirm_disable=confirm_disable,
        confirm_role=confirm_role,
        password_for=password_for,
        password_form=password_form or SetPasswordForm(formdata=None),
    ), status


@bp.get("/users")
@login_required
def users():
    require(Action.MANAGE_USERS)
    return _render(NewUserForm(formdata=None))


@bp.post("/users")
@login_required
def create_user():
    require(Action.MANAGE_USERS)
    form = NewUserForm()
    session = get_session()
    if not form.validate():
        return _render(form, error="The form expired; try again.", status=400)
    mail_on = _mail_on()
    typed = form.password.data or ""
    # No password: the new user chooses one from a mailed link (when this server sends mail).
    invite = not typed and mail_on
    details = dict(email=form.email.data or "", name=form.name.data or "", role=form.role.data or "")
    try:
        if invite:
            user = accounts.create_invited_user(session=session, actor=current_user.user, **details)
        else:
            user = accounts.create_user(session=session, actor=current_user.user, password=typed, **details)
        session.commit()
    except ValidationFailed as error:
        session.rollback()
        form.password.data = ""
        errors = dict(error.field_errors)
        if not typed and "password" in errors:  # only when no mail can be sent
            errors["password"] = "Give a password: this server sends no email, so no link can be mailed."  # noqa: S105 - a message
        return _render(form, errors=errors, status=422)
    if invite:
        flash(f"Created {user.email} as {user.role}; a link to choose their password is on its way to them.")
    else:
        flash(f"Created {user.email} as {user.role}.")
    return redirect(url_for("admin.users"))


def _user_action(operation, done: str):
    session = get_session()
    try:
        user = operation(session)
        session.commit()
    except DomainError as error:
        session.rollback()
        return _render(NewUserForm(formdata=None), error=str(error), status=status_for(error))
    flash(done.format(email=user.email, role=user.role))
    return redirect(url_for("admin.users"))


@bp.post("/users/<int:user_id>/role")
@login_required
def change_role(user_id: int):
    require(Action.MANAGE_USERS)
    role = request.form.get("role", "")
    user = accounts.get_user(session=get_session(), user_id=user_id)
    # A new role signs the person out everywhere at once: ask first, as Disable does. (Not about
    # one's own role, which the service refuses, nor a role that does not exist.)
    asked = request.form.get("confirm") == "1"
    if not asked and user.id != current_user.id and role != user.role and role in dict(ROLE_CHOICES):
        return _render(NewUserForm(formdata=None), confirm_role=(user, role))
    unchanged = role == user.role  # the service then changes nothing and signs nobody out
    return _user_action(
        lambda session: accounts.change_role(session=session, actor=current_user.user, user_id=user_id, role=role),
        "{email} is already {role}; nothing changed."
        if unchanged
        else "{email} is now {role}; their sessions were signed out.",
    )


@bp.post("/users/<int:user_id>/active")
@login_required
def set_active(user_id: int):
    require(Action.MANAGE_USERS)
    active = request.form.get("active") == "1"
    if not active and request.form.get("confirm") != "1":
        # Disabling signs someone out everywhere at once: ask first, on a page that works
        # without JavaScript (no confirm() dialogs under this CSP).
        return _render(
            NewUserForm(formdata=None), confirm_disable=accounts.get_user(session=get_session(), user_id=user_id)
        )
    return _user_action(
        lambda session: accounts.set_active(session=session, actor=current_user.user, user_id=user_id, active=active),
        "{email} was enabled."
        if active
        else "{email} was disabled, signed out everywhere and their API tokens revoked.",
    )


@bp.get("/users/<int:user_id>/password")
@login_required
def password_form(user_id: int):
    """Ask for the new password of someone who cannot sign in (forgotten, or never told)."""
    require(Action.MANAGE_USERS)
    return _render(NewUserForm(formdata=None), password_for=accounts.get_user(session=get_session(), user_id=user_id))


@bp.post("/users/<int:user_id>/password")
@login_required
def set_password(user_id: int):
    require(Action.MANAGE_USERS)
    session = get_session()
    form = SetPasswordForm()
    user = accounts.get_user(session=session, user_id=user_id)
    if not form.validate():
        return _render(NewUserForm(formdata=None), error="The form expired; try again.", password_for=user, status=400)
    try:
        accounts.set_password(
            session=session, actor=current_user.user, user_id=user_id, password=form.new_password.data or ""
        )
        session.commit()
    except ValidationFailed as error:
        session.rollback()
        return _render(
            NewUserForm(formdata=None),
            errors={"new_password": error.field_errors.get("password", str(error))},
            password_for=user,
            password_form=SetPasswordForm(formdata=None),
            status=422,
        )
    flash(f"{user.email} has a new password and was signed out everywhere.")
    return redirect(url_for("admin.users"))


RESEND_INVITE_LIMIT = "3 per hour"


@bp.post("/users/<int:user_id>/invite")
@login_required
# Each post sends a mail: limited per admin, as the Email section's test mail (web/admin/webhooks.py).
@limiter.limit(_mail_limit, key_func=_signed_in_admin)
# ...and per invited person, whoever clicks: a few links an hour reach anyone whose mail is slow;
# ten a minute (from two admins, twenty) would only fill their inbox.
@limiter.limit(
    RESEND_INVITE_LIMIT,
    key_func=lambda: f"invitee-{(request.view_args or {}).get('user_id')}",
    deduct_when=lambda response: response.status_code == 302,  # a mail went out
)
def resend_invite(user_id: int):
    """Mail an invited person a new link to choose their password; the one sent before ends."""
    require(Action.MANAGE_USERS)
    if not _mail_on():
        return _render(
            NewUserForm(formdata=None),
            error="This server sends no email (SMTP_HOST is not set), so no link can be mailed: use Set password.",
            status=409,
        )
    return _user_action(
        lambda session: accounts.resend_invitation(session=session, actor=current_user.user, user_id=user_id),
        "A new link to choose a password is on its way to {email}; the one sent before no longer works.",
    )
