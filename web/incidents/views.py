"""Dashboard, incident pages and their actions: parse -> call a shared service -> render."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, make_response, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from wtforms.fields.choices import SelectChoice

from shared.accounts import service as accounts
from shared.audit import service as audit
from shared.errors import Conflict, DomainError, ValidationFailed
from shared.incidents import search as incident_search
from shared.incidents import service as incidents
from shared.incidents.lifecycle import STATUS_LABELS, Requirement, Status
from shared.incidents.merge import EDITABLE_FIELDS, fingerprint, merge_stale_edit
from shared.incidents.models import ENVIRONMENTS, Priority
from shared.permissions import Action
from web.auth.current import require
from web.db import get_session
from web.incidents import timeline
from web.incidents.forms import EditIncidentForm, IncidentForm

bp = Blueprint("incidents", __name__)

FILTER_PARAMS = ("q", "status", "priority", "owner", "component", "env", "sort")
MAX_PAGE = 100_000


def _is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true" and not request.headers.get("HX-History-Restore-Request")


def _allowed_moves(incident):
    """The lifecycle moves the signed-in user may make on `incident` (what a row offers)."""
    return incidents.allowed_transitions(actor=current_user.user, incident=incident)


def _int_arg(name: str) -> int | None:
    value = request.form.get(name, "").strip()
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise ValidationFailed({name: f"{name} must be a number."}) from None


def _version() -> int:
    """The incident version the submitted form was drawn from. Required: without it a write
    would skip the concurrent-edit check and silently undo someone else's change."""
    if not request.form.get("version", "").strip():
        raise ValidationFailed({"version": "This form is out of date: reload the page and try again."})
    return _int_arg("version")


def _current_filters() -> tuple[incident_search.Filters, dict[str, str]]:
    args = {name: request.args.get(name, "").strip() for name in FILTER_PARAMS}
    base = incident_search.parse_query(
        " ".join(
            f"{qualifier}:{args[param]}"
            for param, qualifier in (
                ("status", "status"),
                ("priority", "priority"),
                ("component", "component"),
                ("env", "env"),
                ("owner", "owner"),
            )
            if args[param]
        )
    )
    return incident_search.parse_query(args["q"], base=base), args


def _owner_choices(session, users=None) -> list[tuple[str, str]]:
    users = users if users is not None else accounts.list_users(session=session)
    return [("", "Unassigned")] + [(str(u.id), f"{u.name} ({u.email})") for u in users if u.is_active]


def _new_incident_form(session, formdata=None, users=None) -> IncidentForm:
    """`users`: the list the caller already loaded, so a page lists users once."""
    form = IncidentForm(formdata=formdata)
    choices = _owner_choices(session, users)
    if not current_user.can(Action.ASSIGN):
        choices = [c for c in choices if c[0] in ("", str(current_user.id))]
    form.owner.choices = [SelectChoice(value, label) for value, label in choices]
    return form


@bp.get("/")
@login_required
def dashboard():
    session = get_session()
    filters, args = _current_filters()
    settings = current_app.config["SETTINGS"]
    try:
        # Bounded: an absurd page number would overflow the database's OFFSET (a 500).
        page_number = min(max(1, int(request.args.get("page", "1"))), MAX_PAGE)
    except ValueError:
        page_number = 1
    # The counters come first: the page's total is their sum, so the matches are not counted twice.
    filters, counts = incident_search.with_typo_fallback(session=session, filters=filters, me_id=current_user.id)

    def search_page(number: int):
        return incident_search.search(
            session=session,
            filters=filters,
            me_id=current_user.id,
            sort=args["sort"] or "priority",
            page=number,
            page_size=settings.page_size,
            counts=counts,
        )

    page = search_page(page_number)
    if page.page > page.pages:
        # A bookmarked or hand-typed page past the end (the list shrank): show the last one
        # rather than "page 99 of 2" above an empty table.
        page = search_page(page.pages)
    users = [u for u in accounts.list_users(session=session) if u.is_active]
    context = dict(
        page=page,
        filters=filters,
        args=args,
        link_args={name: value for name, value in args.items() if value},
        counts=counts,
        count_label=incident_search.count_label,
        statuses=list(Status),
        status_labels=STATUS_LABELS,
        priorities=[p.value for p in Priority],
        environments=ENVIRONMENTS,
        components=incident_search.distinct_components(session=session),
        users=users,
        allowed=_allowed_moves,
    )
    if _is_htmx() and request.headers.get("HX-Target") == "results":
        response = make_response(render_template("incidents/_results.html", **context))
    else:
        context["form"] = _new_incident_form(session, users=users)
        response = make_response(render_template("incidents/dashboard.html", **context))
    response.headers["Vary"] = "HX-Request"
    return response


@bp.route("/incidents/new", methods=["GET", "POST"])
@login_required
def create():
    require(Action.CREATE)
    session = get_session()
    form = _new_incident_form(session, formdata=request.form if request.method == "POST" else None)
    if request.method == "GET":
        return render_template("incidents/new.html", form=form)
    if not form.validate():  # only the CSRF token can fail here; the service checks the rest
        abort(400)
    try:
        incident = incidents.create_incident(
            session=session,
            actor=current_user.user,
            title=form.title.data or "",
            description=form.description.data or "",
            priority=form.priority.data or "",
            component=form.component.data or "",
            environment=form.environment.data or "",
            owner_id=int(form.owner.data) if (form.owner.data or "").isdigit() else None,
        )
        session.commit()
    except ValidationFailed as error:
        session.rollback()
        template = "incidents/_new_form.html" if _is_htmx() else "incidents/new.html"
        return render_template(template, form=form, errors=error.field_errors), 422
    if _is_htmx():
        response = make_response(
            render_template(
                "incidents/_created.html",
                form=_new_incident_form(session),
                incident=incident,
                allowed=_allowed_moves,
            )
        )
        response.headers["HX-Trigger"] = "incidentCreated"
        return response
    return redirect(url_for("incidents.detail", key=incident.key))


def _detail_context(session, incident, **extra):
    everyone = accounts.list_users(session=session)
    return dict(
        incident=incident,
        transitions=incidents.allowed_transitions(actor=current_user.user, incident=incident),
        Requirement=Requirement,
        # Assignment events record emails; the timeline names people (disabled ones included).
        timeline=timeline.present(
            audit.incident_events(session=session, incident_id=incident.id),
            names={u.email: u.name for u in everyone},
            comments=incidents.comments_by_id(session=session, incident_id=incident.id),
        ),
        users=[u for u in everyone if u.is_active],
        priorities=[p.value for p in Priority],
        watching=current_user.id in incident.watcher_ids(),
        errors={},
        values={},
        **extra,
    )


@bp.get("/incidents/<key>")
@login_required
def detail(key: str):
    session = get_session()
    incident = incidents.get_incident(session=session, ref=key)
    return render_template("incidents/detail.html", **_detail_context(session, incident))


def _act(key: str, operation, *, anchor=None):
    """Run one incident operation from a form; on a refusal, show the page again with the
    message and everything that was typed, with the error's status. `anchor(result)` names
    the part of the incident page to land on afterwards."""
    session = get_session()
    incident = incidents.get_incident(session=session, ref=key)
    try:
        result = operation(session, incident)
        session.commit()
    except DomainError as error:
        session.rollback()
        session.expire_all()
        incident = incidents.get_incident(session=session, ref=key)
        errors = error.field_errors if isinstance(error, ValidationFailed) else {}
        context = _detail_context(session, incident, error=str(error))
        context["errors"], context["values"] = errors, request.form
        return render_template("incidents/detail.html", **context), error.http_status
    return redirect(url_for("incidents.detail", key=incident.key, _anchor=anchor(result) if anchor else None))


@bp.post("/incidents/<key>/transition")
@login_required
def transition(key: str):
    if request.form.get("from_row") == "1":
        return _row_transition(key)
    return _act(
        key,
        lambda session, incident: incidents.transition(
            session=session,
            incident_id=incident.id,
            actor=current_user.user,
            to=request.form.get("to", ""),
            reason=request.form.get("reason"),
            expected_version=_version(),
        ),
    )


def _render_row(incident, status: int = 200, **state):
    # htmx swaps the row in place; a plain form post (no JavaScript) gets it inside a page.
    template = "incidents/_row.html" if _is_htmx() else "incidents/row_page.html"
    return render_template(template, incident=incident, allowed=_allowed_moves, **state), status


def _row_transition(key: str):
    """A dashboard row's quick status change. Closing asks first, a move that needs text asks
    for it in the row, and a done move offers Undo where the lifecycle has the move back."""
    session = get_session()
    incident = incidents.get_incident(session=session, ref=key)
    to, reason = request.form.get("to", ""), request.form.get("reason", "")
    typed = dict(chosen=to, reason=reason)
    if not to:
        return _render_row(incident, 422, row_error=f"Choose a new status for {incident.key} first.", **typed)
    was = Status(incident.status)
    move = next((m for m in _allowed_moves(incident) if m.target == to), None)
    unconfirmed_close = move and move.target == Status.CLOSED and request.form.get("confirm") != "1"
    if unconfirmed_close and (not move.requires or reason.strip()):  # text first, then the question
        return _render_row(incident, confirm_close=move, **typed)
    try:
        incidents.transition(
            session=session,
            incident_id=incident.id,
            actor=current_user.user,
            to=to,
            reason=reason,
            expected_version=_version(),
        )
        session.commit()
    except DomainError as error:
        session.rollback()
        session.expire_all()
        incident = incidents.get_incident(session=session, ref=key)
        field_errors = error.field_errors if isinstance(error, ValidationFailed) else {}
        text_error = field_errors.get("reason") or field_errors.get("resolution")
        return _render_row(incident, error.http_status, row_error=str(error), text_error=text_error, **typed)
    label = STATUS_LABELS[Status(incident.status)]
    if request.form.get("undo") == "1":
        return _render_row(incident, row_notice=f"{incident.key} is back to {label}.")
    undo = next((m for m in _allowed_moves(incident) if m.target == was), None)
    return _render_row(incident, row_notice=f"{incident.key} is now {label}.", undo=undo, undo_of=label)


@bp.get("/incidents/<key>/row")
@login_required
def row(key: str):
    """One dashboard row as it is now (a row's Cancel puts it back)."""
    if not _is_htmx():
        return redirect(url_for("incidents.dashboard"))
    return _render_row(incidents.get_incident(session=get_session(), ref=key))


@bp.post("/incidents/<key>/assign")
@login_required
def assign(key: str):
    return _act(
        key,
        lambda session, incident: incidents.assign(
            session=session,
            incident_id=incident.id,
            actor=current_user.user,
            owner_id=_int_arg("owner"),
            expected_version=_version(),
        ),
    )


@bp.post("/incidents/<key>/priority")
@login_required
def priority(key: str):
    return _act(
        key,
        lambda session, incident: incidents.change_priority(
            session=session,
            incident_id=incident.id,
            actor=current_user.user,
            priority=request.form.get("priority", ""),
            expected_version=_version(),
        ),
    )


@bp.post("/incidents/<key>/comments")
@login_required
def comment(key: str):
    return _act(
        key,
        lambda session, incident: incidents.add_comment(
            session=session, incident_id=incident.id, actor=current_user.user, body=request.form.get("body", "")
        ),
        # Back to the new comment, not the top of a long page.
        anchor=lambda comment: f"comment-{comment.id}",
    )


@bp.post("/incidents/<key>/comments/<int:comment_id>/redact")
@login_required
def redact_comment(key: str, comment_id: int):
    return _act(
        key,
        lambda session, incident: incidents.redact_comment(
            session=session,
            incident_id=incident.id,
            comment_id=comment_id,
            actor=current_user.user,
            reason=request.form.get("reason", ""),
        ),
        anchor=lambda comment: f"comment-{comment.id}",
    )


@bp.post("/incidents/<key>/watch")
@login_required
def watch(key: str):
    return _act(
        key,
        lambda session, incident: incidents.set_watching(
            session=session,
            incident_id=incident.id,
            actor=current_user.user,
            watching=request.form.get("watching") == "1",
        ),
    )


@bp.route("/incidents/<key>/edit", methods=["GET", "POST"])
@login_required
def edit(key: str):
    session = get_session()
    incident = incidents.get_incident(session=session, ref=key)
    require(Action.WORK, incident)
    form = EditIncidentForm(formdata=request.form if request.method == "POST" else None, obj=incident)
    # What the form was drawn from: the version and a fingerprint per field, so that after a
    # conflict we know which fields this person changed.
    drawn_from = dict(version=incident.version, base={f: fingerprint(getattr(incident, f)) for f in EDITABLE_FIELDS})
    if request.method == "POST":
        if not form.validate():
            abort(400)
        try:
            incidents.update_details(
                session=session,
                incident_id=incident.id,
                actor=current_user.user,
                title=form.title.data or "",
                description=form.description.data or "",
                component=form.component.data or "",
                environment=form.environment.data or "",
                expected_version=_version(),
            )
            session.commit()
            return redirect(url_for("incidents.detail", key=incident.key))
        except Conflict as error:
            session.rollback()
            session.expire_all()
            return _stale_edit(form, incidents.get_incident(session=session, ref=key), error)
        except DomainError as error:
            session.rollback()
            errors = error.field_errors if isinstance(error, ValidationFailed) else {}
            kept = dict(
                version=request.form.get("version", ""),
                base={f: request.form.get(f"base-{f}", "") for f in EDITABLE_FIELDS},
            )
            return render_template(
                "incidents/edit.html", form=form, incident=incident, errors=errors, error=str(error), **kept
            ), error.http_status
    return render_template("incidents/edit.html", form=form, incident=incident, errors={}, **drawn_from)


def _stale_edit(form: EditIncidentForm, incident, error: Conflict):
    """Someone saved in between: show their values where this person changed nothing, keep
    what this person typed elsewhere (with theirs beside it where both changed a field), and
    draw the form from the current version, so saving again keeps both people's changes."""
    merged = merge_stale_edit(
        base={f: request.form[f"base-{f}"] for f in EDITABLE_FIELDS if request.form.get(f"base-{f}")},
        mine={f: getattr(form, f).data or "" for f in EDITABLE_FIELDS},
        current={f: getattr(incident, f) or "" for f in EDITABLE_FIELDS},
    )
    for name, value in merged.values.items():
        getattr(form, name).data = value
    return render_template(
        "incidents/edit.html",
        form=form,
        incident=incident,
        errors={},
        theirs=merged.theirs,
        error=(
            f"Someone else saved changes to {incident.key} while you were editing. Their changes are filled in "
            "below; where you both changed a field, yours is kept and theirs is shown beside it. "
            "Check, then save again."
        ),
        version=incident.version,
        base={f: fingerprint(getattr(incident, f)) for f in EDITABLE_FIELDS},
    ), error.http_status
