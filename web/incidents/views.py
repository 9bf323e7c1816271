"""Dashboard, incident pages and their actions: parse -> call a shared service -> render."""

from __future__ import annotations

import functools
import secrets
from collections.abc import Callable
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs, urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask import session as http_session
from flask_login import current_user, login_required
from flask_wtf.csrf import generate_csrf
from wtforms.fields.choices import SelectChoice

from shared.accounts import service as accounts
from shared.audit import service as audit
from shared.errors import Conflict, DomainError, ValidationFailed
from shared.events import EventType
from shared.incidents import export, idempotency, saved_views, timers
from shared.incidents import follow_ups as follow_up_service
from shared.incidents import search as incident_search
from shared.incidents import service as incidents
from shared.incidents.lifecycle import STATUS_LABELS, Requirement, Status, Transition
from shared.incidents.merge import (
    EDITABLE_FIELDS,
    Merged,
    fingerprint,
    form_value,
    in_words,
    line_diff,
    merge_stale_edit,
    places,
)
from shared.incidents.models import ENVIRONMENTS, Priority
from shared.permissions import Action
from shared.text import is_number
from web.auth.current import require
from web.auth.views import take_draft_restore
from web.csv_export import csv_response
from web.db import get_session
from web.errors import STALE_PAGE_HINT, page_message, status_for
from web.evidence.views import list_context
from web.incidents import rows, timeline
from web.incidents.forms import EditIncidentForm, IncidentForm
from web.reader import reader_today, reader_zone

bp = Blueprint("incidents", __name__)

DROPDOWN_PARAMS = ("status", "priority", "owner", "component", "env", "sort")
MAX_PAGE = 100_000
# The signed-cookie session's key for a refused "Save view", drawn open again by the dashboard.
REFUSED_VIEW = "refused_save_view"


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
    version = _int_arg("version")
    assert version is not None  # an empty value was refused above
    return version


def _current_filters(source=None) -> tuple[incident_search.Filters, str, bool]:
    """The filters of a dashboard URL (or of `source`, another URL's parameters), the query
    text, and whether the URL is not in its canonical form (`/?q=...` alone).

    The search box's text is the one source of truth. Dropdown parameters arrive only from
    the form sent without JavaScript, or an old bookmark: a dropdown the person changed
    replaces that field of the query (never OR-ed with it). The form carries what each
    dropdown showed when drawn (was_<name>), so a dropdown left alone never overrules an
    edited box."""
    source = request.args if source is None else source
    query = source.get("q", "").strip()
    # Days (created:2026-12-01, updated:today, due:overdue) are the reader's (web.reader).
    filters = replace(incident_search.parse_query(query), days_in=reader_zone())
    from_form = any(f"was_{name}" in source for name in DROPDOWN_PARAMS)
    changed = {}
    for name in DROPDOWN_PARAMS:
        if name not in source:
            continue
        value = source.get(name, "").strip()
        if from_form and value == source.get(f"was_{name}", "").strip():
            continue
        changed[name] = value
    for name in changed:
        filters = replace(filters, **_DROPDOWN_FIELDS[name])
    overrides = " ".join(f"{name}:{value}" for name, value in changed.items() if value)
    if overrides:
        filters = incident_search.parse_query(overrides, base=filters)
    return filters, query, from_form or any(name in source for name in DROPDOWN_PARAMS)


# What each dropdown stands for in Filters (both polarities): a changed dropdown replaces it.
_DROPDOWN_FIELDS: dict[str, dict[str, Any]] = {
    "status": dict(statuses=(), not_statuses=(), all_statuses=False),
    "priority": dict(priorities=(), not_priorities=()),
    "owner": dict(owner="", not_owner=""),
    "component": dict(components=(), not_components=()),
    "env": dict(environments=(), not_environments=()),
    "sort": dict(sort=""),
}


def _dashboard_url(filters: incident_search.Filters, **changes) -> str:
    """The canonical dashboard URL of `filters` with some fields replaced."""
    text = incident_search.canonical_query(replace(filters, **changes) if changes else filters)
    return url_for("incidents.dashboard", q=text or None)


def _select_state(filters: incident_search.Filters) -> dict[str, str]:
    """What each dropdown shows for the query (comma-separated for several values; "" for the
    default): the dropdowns mirror the search box."""
    active = filters.not_statuses == (Status.CLOSED.value,) and not filters.statuses
    status = "all" if filters.all_statuses else ",".join(filters.statuses)
    if not status and filters.not_statuses and not active:
        status = "-" + ",".join(filters.not_statuses)
    return {
        "status": status,
        "priority": ",".join(filters.priorities),
        "owner": filters.owner,
        "component": ",".join(filters.components),
        "env": ",".join(filters.environments),
        "sort": filters.sort if filters.sort in ("recent", "oldest", "due") else "",
    }


def _select_options(users, components) -> dict[str, list[tuple[str, str]]]:
    """(value, label) of each dropdown's options besides its default; a value is what the
    query would say (`status:blocked` -> "blocked")."""
    return {
        "status": [("all", "All statuses")] + [(s.value, STATUS_LABELS[s]) for s in Status],
        "priority": [(p.value, p.value) for p in Priority],
        # Disabled people stay listed, named so (an incident may still be theirs), as does the
        # work of all of them (`owner:disabled`): a postmortem looks for what was left with them.
        "owner": [("me", "Me"), ("none", "Unassigned"), ("disabled", "Any disabled account")]
        + [(u.email.lower(), u.name if u.is_active else f"{u.name} (disabled)") for u in users],
        "component": [(c.lower(), c) for c in components],
        "env": [(e, e) for e in ENVIRONMENTS],
        "sort": [("recent", "Recently updated"), ("oldest", "Least recently updated"), ("due", "Due date")],
    }


bp.add_app_template_global(rows.row_kit)
bp.add_app_template_global(rows.text_label)


bp.add_app_template_global(rows.status_since)
bp.add_app_template_filter(rows.age, "age")


def _owner_choices(session, users=None) -> list[tuple[str, str]]:
    users = users if users is not None else accounts.list_users(session=session)
    # ", invited": has not chosen a password yet, so has never seen the tracker (found by QA: a
    # lead assigned an incident to someone who never signed in, unawares).
    return [("", "Unassigned")] + [
        (str(u.id), f"{u.name} ({u.email}{', invited' if u.invited_at else ''})") for u in users if u.is_active
    ]


def _new_incident_form(session, formdata=None, users=None) -> IncidentForm:
    """`users`: the list the caller already loaded, so a page lists users once."""
    return _with_owner_choices(IncidentForm(formdata=formdata), session, users)


def _with_owner_choices(form: IncidentForm, session, users=None) -> IncidentForm:
    """The owner dropdown's choices, needed only to draw the form (its value is not checked
    against them: the service does that)."""
    choices = _owner_choices(session, users)
    if not current_user.can(Action.ASSIGN):
        choices = [c for c in choices if c[0] in ("", str(current_user.id))]
    form.owner.choices = [SelectChoice(value, label) for value, label in choices]
    return form


@bp.get("/")
@login_required
def dashboard():
    session = get_session()
    filters, query, not_canonical = _current_filters()
    if not_canonical and not _is_htmx():
        # One canonical URL per view: the dropdowns' values are folded into the query text.
        page_arg = request.args.get("page")
        target = _dashboard_url(filters)
        if page_arg:
            target += ("&" if "?" in target else "?") + f"page={page_arg}"
        return redirect(target)
    settings = current_app.config["SETTINGS"]
    try:
        # Bounded: an absurd page number would overflow the database's OFFSET (a 500).
        page_number = min(max(1, int(request.args.get("page", "1"))), MAX_PAGE)
    except ValueError:
        page_number = 1
    # Read before the search: a change in between makes the next poll refresh, never get lost.
    marker = incident_search.latest_change(session=session)
    # Rows' quick moves send it back (app.js): a refused one then names who changed the incident.
    seen_event = audit.newest_event_id(session=session)
    sort = filters.sort or "priority"
    scoped = incident_search.active_by_default(filters)
    # The counters come first: the page's total is their sum, so the matches are not counted twice.
    scoped, counts = incident_search.with_typo_fallback(session=session, filters=scoped, me_id=current_user.id)

    def search_page(number: int):
        return incident_search.search(
            session=session,
            filters=scoped,
            me_id=current_user.id,
            sort=sort,
            page=number,
            page_size=settings.page_size,
            counts=counts,
        )

    page = search_page(page_number)
    if page.page > page.pages:
        # A bookmarked or hand-typed page past the end (the list shrank): show the last one
        # rather than "page 99 of 2" above an empty table.
        page = search_page(page.pages)
    # Where each row shown matched, when its title lacks some of the words (one query at most).
    rows.row_kit().hints = incident_search.match_hints(session=session, filters=scoped, incidents=page.incidents)
    # Only an empty page pays for finding out why (a few LIMIT 1 probes).
    why_empty = (
        incident_search.explain_no_match(session=session, filters=scoped, me_id=current_user.id)
        if not page.incidents
        else []
    )
    users = accounts.list_users(session=session)  # the new-incident form offers only the active ones
    components = incident_search.distinct_components(session=session, change_marker=marker)
    unscoped = dict(statuses=(), not_statuses=(), all_statuses=False)
    context = dict(
        page=page,
        filters=scoped,
        query=query,
        active_view=scoped.not_statuses == (Status.CLOSED.value,) and not scoped.statuses,
        sort=sort,
        why_empty=why_empty,
        selects=_select_state(filters),
        select_options=_select_options(users, components),
        link_args={"q": query} if query else {},
        counter_links={s.value: _dashboard_url(filters, **dict(unscoped, statuses=(s.value,))) for s in Status},
        active_link=_dashboard_url(filters, **unscoped),
        all_link=_dashboard_url(filters, **dict(unscoped, all_statuses=True)),
        sort_links={name: _dashboard_url(filters, sort=name) for name in incident_search.SORTS},
        clear_link=url_for("incidents.dashboard"),
        change_marker=marker,
        seen_event=seen_event,
        live_poll_seconds=LIVE_POLL_SECONDS,
        saved=saved_views.list_views(session=session, actor=current_user.user),
        can_delete_view=lambda view: saved_views.can_delete(current_user.user, view),
        counts=counts,
        # The Active and All pills count too: the counters summed (Closed left out of Active).
        view_counts={
            "active": sum(n for status, n in counts.items() if status != Status.CLOSED.value),
            "all": sum(counts.values()),
        },
        count_label=incident_search.count_label,
        statuses=list(Status),
        status_labels=STATUS_LABELS,
    )
    if _is_htmx() and request.headers.get("HX-Target") == "results":
        response = make_response(render_template("incidents/_results.html", **context))
    else:
        context["form"] = _new_incident_form(session, users=users)
        context["refused_view"] = http_session.pop(REFUSED_VIEW, None)
        # "Your follow-ups": one more than shown, to say when there are more.
        context["my_follow_ups"] = follow_up_service.mine(
            session=session, actor=current_user.user, limit=follow_up_service.MINE_LIMIT + 1
        )
        context["my_follow_ups_limit"] = follow_up_service.MINE_LIMIT
        context["follow_up_today"] = reader_today()
        response = make_response(render_template("incidents/dashboard.html", **context))
    response.headers["Vary"] = "HX-Request"
    return response


@bp.get("/incidents.csv")
@login_required
def export_csv():
    """The dashboard's current view (same filters and sort) as a formula-safe CSV file."""
    require(Action.VIEW)
    filters, _, _ = _current_filters()
    scoped = incident_search.active_by_default(filters)
    return csv_response(scoped, current_user.id, filters.sort or "priority")


# Live dashboard: polling with an ETag, not server-sent events. gunicorn runs sync workers
# with a few threads each; an SSE stream would hold a worker thread per open dashboard for as
# long as it is open (and the ALB's idle timeout would cut it), where a poll is one short
# request. Each poll compares the page's marker with `latest_change` (two index endpoint
# reads) and is answered 304 when nothing changed; only a change makes the page fetch its
# results again, the same request a search makes. See README "Live dashboard".
LIVE_POLL_SECONDS = 10


@bp.get("/changes")
@login_required
def changes():
    """The latest-change marker as an ETag: 304 while it is the one the page has."""
    return _marker_response(incident_search.latest_change(session=get_session()))


def _marker_response(marker: str):
    """A live page's poll answer: the marker as the ETag, 304 when the page already has it."""
    response = make_response("", 204)
    response.set_etag(marker)
    if request.if_none_match.contains(marker):
        response.status_code = 304
    return response


@bp.get("/incidents/<key>/changes")
@login_required
def incident_changes(key: str):
    """The live incident page's poll: the incident's marker as an ETag, 304 while unchanged."""
    session = get_session()
    return _marker_response(_incident_marker(session, incidents.get_incident(session=session, ref=key)))


@bp.post("/views")
@login_required
def save_view():
    """ "Save view": the current search under a name (the team's too, for leads and admins)."""
    session = get_session()
    query = request.form.get("q", "")
    try:
        view = saved_views.save_view(
            session=session,
            actor=current_user.user,
            name=request.form.get("name", ""),
            query=query,
            team=request.form.get("team") == "1",
            replace=request.form.get("replace") == "1",
        )
        session.commit()
    except ValidationFailed as error:
        session.rollback()
        # The dashboard draws Save view open again, with what was typed and the problem beside
        # its field (found by QA: a refused name closed the form and lost name and choices).
        problems = error.field_errors
        http_session[REFUSED_VIEW] = {
            "name": request.form.get("name", "")[:200],
            "team": request.form.get("team") == "1",
            "replace": request.form.get("replace") == "1",
            "error": problems.get("name"),
        }
        if "name" not in problems:
            flash(f"The view was not saved: {error}", "error")
        return redirect(url_for("incidents.dashboard", q=query.strip() or None))
    flash(f"Saved the view “{view.name}”{' for the whole team' if view.team else ''}.")
    return redirect(url_for("incidents.dashboard", q=view.query or None))


@bp.post("/views/<int:view_id>/delete")
@login_required
def delete_view(view_id: int):
    """Delete asks first, in the view's place on the dashboard (as a follow-up's Delete does: no
    Undo, and a team view goes from everyone's dashboard); Yes posts again with confirm=1."""
    session = get_session()
    if request.form.get("confirm") != "1":
        # 403 (a team view not theirs) or 404 from the app's error handler, else the question.
        view = saved_views.changeable(session=session, actor=current_user.user, view_id=view_id)
        return _dashboard_for_saved_view(asking=view.id)
    try:
        view = saved_views.delete_view(session=session, actor=current_user.user, view_id=view_id)
        session.commit()
    except DomainError:
        session.rollback()
        raise  # 403 (not yours) or 404, with the message, from the app's error handler
    if view.team:
        flash(f"Deleted the team view “{view.name}”: it is gone from everyone's dashboard.")
    else:
        flash(f"Deleted the view “{view.name}”.")
    return redirect(url_for("incidents.dashboard", q=request.form.get("q", "").strip() or None))


@bp.post("/views/<int:view_id>/rename")
@login_required
def rename_view(view_id: int):
    """Rename: a new name under the rules of Save view; a refused one comes back beside the
    view's open Rename form, with what was typed."""
    session = get_session()
    typed = request.form.get("name", "")
    try:
        view, old_name = saved_views.rename_view(session=session, actor=current_user.user, view_id=view_id, name=typed)
        session.commit()
    except ValidationFailed as error:
        session.rollback()
        page = _dashboard_for_saved_view(renaming=view_id, typed=typed[:200], error=str(error))
        page.status_code = status_for(error)
        return page
    except DomainError:
        session.rollback()
        raise  # 403 (a team view not theirs) or 404, from the app's error handler
    if view.name == old_name:
        flash(f"The view “{view.name}” keeps its name.")
    else:
        everyone = ": everyone sees the new name" if view.team else ""
        flash(f"Renamed the {'team ' if view.team else ''}view “{old_name}” to “{view.name}”{everyone}.")
    return redirect(url_for("incidents.dashboard"))


def _dashboard_for_saved_view(**state):
    """The dashboard drawn in answer to a saved view's post: the question before deleting it
    (asking=id) or a refused Rename (renaming=id, typed, error). The template reads
    g.saved_view_state in its saved views section (the dashboard's own context is left alone)."""
    g.saved_view_state = state
    return dashboard()


def _shown_on_dashboard(session, incident) -> bool:
    """Would the dashboard the person is looking at (htmx names its URL) list `incident`?
    One primary-key lookup under the same filters, whatever the size of the table."""
    current = request.headers.get("HX-Current-URL", "")
    parts = urlsplit(current)
    if not current or parts.path != url_for("incidents.dashboard"):
        return False
    params = {name: values[-1] for name, values in parse_qs(parts.query).items()}
    filters, _, _ = _current_filters(params)
    filters = incident_search.active_by_default(filters)
    return incident_search.matches(session=session, filters=filters, me_id=current_user.id, incident_id=incident.id)


@bp.route("/incidents/new", methods=["GET", "POST"])
@login_required
def create():
    require(Action.CREATE)
    session = get_session()
    if request.method == "GET":
        return render_template(
            "incidents/new.html", form=_new_incident_form(session), restore_draft=take_draft_restore()
        )
    # No owner choices yet: a create that succeeds never draws the form, so it need not list users.
    form = IncidentForm(formdata=request.form)
    if not form.validate():  # only the CSRF token can fail here; the service checks the rest
        abort(400)
    details = {
        "title": form.title.data or "",
        "description": form.description.data or "",
        "priority": form.priority.data or "",
        "component": form.component.data or "",
        "environment": form.environment.data or "",
        "owner_id": int(form.owner.data) if is_number(form.owner.data or "") else None,
        "due_date": timers.parse_due_date(form.due_date.data),
    }
    try:
        filed = _file_once_per_form(session, details, form.filing_key.data or "")
        session.commit()
    except ValidationFailed as error:
        session.rollback()
        template = "incidents/_new_form.html" if _is_htmx() else "incidents/new.html"
        form = _with_owner_choices(form, session)
        return render_template(template, form=form, errors=error.field_errors), 422
    incident = filed.incident
    if _is_htmx():
        # The row joins the list only if the dashboard's filters would show it; either way a
        # visible notice links to the new incident. A repeat's row was added by the first answer.
        response = make_response(
            render_template(
                "incidents/_created.html",
                form=_new_incident_form(session),
                incident=incident,
                listed=not filed.replayed and _shown_on_dashboard(session, incident),
                replayed=filed.replayed,
            )
        )
        response.headers["HX-Trigger"] = "incidentCreated"
        return response
    if filed.replayed:
        flash(f"{incident.key} was already created from this form; nothing new was filed.")
    return redirect(url_for("incidents.detail", key=incident.key))


def _file_once_per_form(session, details: dict, key: str) -> idempotency.Filed:
    """File the incident, unless this drawing of the form already did (a double click, or Back
    and submit again). Details changed since are a new incident: a person edited the form."""

    def file():
        return incidents.create_incident(session=session, actor=current_user.user, **details)

    return _once_per_form(
        key,
        "filing_key",
        lambda: idempotency.file_once(
            session=session, actor=current_user.user, key=key, details=details, file=file, field="filing_key"
        ),
        lambda: idempotency.Filed(file(), replayed=False),
    )


def _once_per_form(key: str, field: str, once, anew):
    """`once()` for a form carrying its drawing's key `key` in `field`; `anew()` for a page
    drawn before forms had keys, or when the details changed since the key was used (Back,
    edit, send again: the person meant a new one)."""
    if idempotency.key_problem(key) is None:
        try:
            return once()
        except ValidationFailed as error:
            if set(error.field_errors) != {field}:
                raise
    return anew()


def _detail_context(session, incident, **extra):
    everyone = accounts.list_users(session=session)
    newest_event = _newest_event(session, incident)
    return list_context(session, incident) | dict(
        incident=incident,
        transitions=incidents.allowed_transitions(actor=current_user.user, incident=incident),
        Requirement=Requirement,
        # Assignment events record emails; the timeline names people (disabled ones included).
        timeline_html=timeline.timeline_html(
            session,
            incident,
            people=everyone,
            can_redact=current_user.can(Action.REDACT, incident),
            csrf=generate_csrf(),
        ),
        users=[u for u in everyone if u.is_active],
        priorities=[p.value for p in Priority],
        watching=current_user.id in incident.watcher_ids(),
        reopened=len(export.reopenings(audit.incident_status_changes(session=session, incident_id=incident.id))),
        change_marker=_incident_marker(session, incident, newest_event),
        # Every write form carries it with its version: after a conflict, the events since
        # then say who saved meanwhile.
        seen_event=newest_event,
        live_poll_seconds=LIVE_POLL_SECONDS,
        # One per drawing of the page (a refused comment keeps the one it was sent with): Back
        # and Add comment again posts the comment once.
        comment_key=secrets.token_urlsafe(16),
        errors={},
        values={},
        **_follow_up_context(session, incident),
        **extra,
    )


def _incident_marker(session, incident, newest_event: int | None = None) -> str:
    """Changes whenever anything the incident page shows does: the row's version (its fields)
    and its newest audit event (every move, edit, comment, redaction, upload, scan verdict and
    watch is one). Two key lookups."""
    if newest_event is None:
        newest_event = _newest_event(session, incident)
    return f"{incident.version}-{newest_event}"


@bp.get("/incidents/<key>")
@login_required
def detail(key: str):
    session = get_session()
    incident = incidents.get_incident(session=session, ref=key)
    return render_template("incidents/detail.html", **_detail_context(session, incident))


@bp.get("/incidents/<key>/timeline.md")
@login_required
def export_timeline(key: str):
    """ "Export timeline": the incident's whole timeline as a Markdown file for the postmortem."""
    session = get_session()
    incident = incidents.get_incident(session=session, ref=key)
    url = url_for("incidents.detail", key=incident.key, _external=True)
    response = make_response(
        export.timeline_document(session=session, incident=incident, actor=current_user.user, url=url)
    )
    response.headers["Content-Type"] = export.MEDIA_TYPE
    response.headers["Content-Disposition"] = f'attachment; filename="{export.file_name(incident)}"'
    # Incident data: never kept by a shared cache, nor by the browser after sign-out.
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _act(key: str, operation, *, anchor=None, notice=None):
    """Run one incident operation from a form; on a refusal, show the page again with the
    message and everything that was typed, with the error's status. `anchor(result)` names
    the part of the incident page to land on afterwards, `notice(result)` what the page then
    says happened (app.js puts keyboard focus on it)."""
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
        context = _detail_context(session, incident, error=_refusal_words(session, incident, error))
        context["errors"], context["values"] = errors, request.form
        return render_template("incidents/detail.html", **context), status_for(error)
    if notice and (words := notice(result)):
        flash(words)
    return redirect(url_for("incidents.detail", key=incident.key, _anchor=anchor(result) if anchor else None))


@bp.post("/incidents/<key>/transition")
@login_required
def transition(key: str):
    if request.form.get("from_row") == "1":
        return _row_transition(key)
    session = get_session()
    incident = incidents.get_incident(session=session, ref=key)
    question = _unconfirmed_close(incident, request.form.get("to", ""), request.form.get("reason", ""))
    if question is not None and _is_htmx():
        # Asked in the Closed form's place; the rest of the page is as it was drawn (seen_event).
        return render_template(
            "incidents/_move.html",
            move=question,
            confirm_close=question,
            incident=incident,
            values=request.form,
            seen_event=request.form.get("seen_event", ""),
        )
    if question is not None:
        # Without JavaScript: the page drawn again, with the question where the Closed button was.
        context = _detail_context(session, incident, confirm_close=question)
        context["values"] = request.form
        return render_template("incidents/detail.html", **context)
    if _is_htmx():
        # Only the incident page's Closed form posts with htmx, to be asked; anything else is a
        # refusal, drawn on the whole page: app.js sends the form again without htmx.
        response = make_response("", 204)
        response.headers["HX-Trigger"] = "answerIsAPage"
        return response
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
        notice=_moved_words,
    )


def _moved_words(incident) -> str:
    """What a move did, said on the incident page and in a dashboard row: "INC-4 is now Closed." """
    return f"{incident.key} is now {STATUS_LABELS[Status(incident.status)]}."


def _unconfirmed_close(incident, to: str, reason: str) -> Transition | None:
    """The Closed move, when this post asks for it without having been asked "Close INC-n?"
    yet: closing ends the work and has no Undo. Text first, then the question: a close that
    needs a reason and has none goes on to be refused for it. Never about an incident someone
    changed since the form was drawn: the question would carry the current version and close
    what the person has not seen; the move goes on to be refused as stale, naming who."""
    move = next((m for m in _allowed_moves(incident) if m.target == to), None)
    if move is None or move.target != Status.CLOSED or request.form.get("confirm") == "1":
        return None
    if move.requires and not reason.strip():
        return None
    posted = request.form.get("version", "").strip()
    try:
        incidents.check_version(incident, int(posted) if is_number(posted) else None)
    except Conflict:
        return None
    return move


def _render_row(incident, status: int = 200, /, **state):
    # htmx swaps the row in place; a plain form post (no JavaScript) gets it inside a page. The
    # row says which event it was drawn after: its next move's refusal names who changed the
    # incident since this answer (the list's own marker is older, and this was this tab's move).
    # A row of search results keeps its "Matched in …" line: app.js sends the list's query
    # (q) with every request a row makes, since the cached row HTML cannot carry it.
    template = "incidents/_row.html" if _is_htmx() else "incidents/row_page.html"
    session = get_session()
    seen_event = audit.newest_event_id(session=session)
    query = incident_search.parse_query(request.values.get("q", ""))
    hint = incident_search.match_hints(session=session, filters=query, incidents=[incident]).get(incident.id)
    return render_template(template, incident=incident, seen_event=seen_event, hint=hint, **state), status


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
    # An Undo back to Blocked or Resolved says again why it was so, not "Undo of the move".
    was_why = {Status.BLOCKED: incident.blocked_reason, Status.RESOLVED: incident.resolution_summary}.get(was)
    question = _unconfirmed_close(incident, to, reason)
    if question is not None:
        return _render_row(incident, confirm_close=question, **typed)
    try:
        # The row offers Undo: the move's mail and webhooks wait (an Undo in time takes them back).
        incidents.transition(
            session=session,
            incident_id=incident.id,
            actor=current_user.user,
            to=to,
            reason=reason,
            expected_version=_version(),
            undo_window_seconds=current_app.config["SETTINGS"].notification_undo_hold_seconds,
            is_undo=request.form.get("undo") == "1",
        )
        session.commit()
    except DomainError as error:
        session.rollback()
        session.expire_all()
        incident = incidents.get_incident(session=session, ref=key)
        field_errors = error.field_errors if isinstance(error, ValidationFailed) else {}
        text_error = field_errors.get("reason") or field_errors.get("resolution")
        message = _refusal_words(session, incident, error)
        undo_again = _undo_still_offered(incident, to, error)
        if undo_again is not None:
            # An Undo refused because someone changed something else meanwhile (a priority): the
            # message says what, and the Undo is offered again on the version now shown.
            was_label = STATUS_LABELS[Status(incident.status)]
            return _render_row(
                incident, status_for(error), row_error=message, undo=undo_again, undo_of=was_label, undo_reason=reason
            )
        return _render_row(incident, status_for(error), row_error=message, text_error=text_error, **typed)
    label = STATUS_LABELS[Status(incident.status)]
    if request.form.get("undo") == "1":
        return _render_row(incident, row_notice=f"{incident.key} is back to {label}.")
    undo = next((m for m in _allowed_moves(incident) if m.target == was), None)
    return _render_row(incident, row_notice=_moved_words(incident), undo=undo, undo_of=label, undo_reason=was_why)


def _undo_still_offered(incident, to: str, error: DomainError) -> Transition | None:
    """The Undo to offer again after this row's Undo was refused as stale, while the move it
    takes back is still the incident's status (someone else changed another field); None when
    it was no Undo, refused for another reason, or the status moved on (or away and back) meanwhile."""
    if request.form.get("undo") != "1" or not isinstance(error, Conflict):
        return None
    if incident.status != request.form.get("undoing"):
        return None  # moved on meanwhile: the Undo no longer takes back this move
    session, actor = get_session(), current_user.user
    if not incidents.undo_takes_back_latest_move(session=session, incident=incident, actor=actor, to=to):
        return None  # moved away and back by someone else: the status is theirs now
    return next((m for m in _allowed_moves(incident) if m.target == to), None)


@bp.get("/incidents/<key>/row")
@login_required
def row(key: str):
    """One dashboard row as it is now (a row's Cancel puts it back), with its search hint for
    the list's query `q`."""
    if not _is_htmx():
        return redirect(url_for("incidents.dashboard"))
    return _render_row(incidents.get_incident(session=get_session(), ref=key))


@bp.post("/incidents/<key>/assign")
@login_required
def assign(key: str):
    was: dict[str, str | None] = {}

    def change(session, incident):
        was["owner"] = incident.owner.name if incident.owner else None
        return incidents.assign(
            session=session,
            incident_id=incident.id,
            actor=current_user.user,
            owner_id=_int_arg("owner"),
            expected_version=_version(),
        )

    # Said where keyboard focus lands, as a priority change is (the page used to come back
    # without a word, focus on <body>: found in QA with a screen reader's eyes).
    def words(incident) -> str:
        now = incident.owner.name if incident.owner else None
        if now == was["owner"]:
            return f"{incident.key} is already assigned to {now}." if now else f"{incident.key} is already unassigned."
        if now is None:
            return f"{incident.key} is now unassigned (was {was['owner']})."
        return f"{incident.key} is now assigned to {now} (was {was['owner'] or 'unassigned'})."

    return _act(key, change, notice=words)


@bp.post("/incidents/<key>/priority")
@login_required
def priority(key: str):
    was: dict[str, str] = {}

    def change(session, incident):
        was["priority"] = incident.priority
        return incidents.change_priority(
            session=session,
            incident_id=incident.id,
            actor=current_user.user,
            priority=request.form.get("priority", ""),
            expected_version=_version(),
        )

    # Said on the page drawn next, where keyboard focus lands (app.js), also when nothing changed.
    def words(incident) -> str:
        if incident.priority == was["priority"]:
            return f"Priority of {incident.key} is already {incident.priority}."
        return f"Priority of {incident.key} is now {incident.priority} (was {was['priority']})."

    return _act(key, change, notice=words)


@bp.post("/incidents/<key>/due-date")
@login_required
def due_date(key: str):
    was: dict[str, str | None] = {}

    def change(session, incident):
        was["due"] = incident.due_date and incident.due_date.isoformat()
        return incidents.set_due_date(
            session=session,
            incident_id=incident.id,
            actor=current_user.user,
            due_date=timers.parse_due_date(request.form.get("due_date")),
            expected_version=_version(),
        )

    def words(incident) -> str:
        now = incident.due_date and incident.due_date.isoformat()
        if now == was["due"]:
            return f"{incident.key} is already due {now}." if now else f"{incident.key} already has no due date."
        if now is None:
            return f"{incident.key} has no due date now (was {was['due']})."
        return f"{incident.key} is now due {now} (was {was['due'] or 'no due date'})."

    return _act(key, change, notice=words)


@bp.post("/incidents/<key>/comments")
@login_required
def comment(key: str):
    def post(session, incident):
        body, form_key = request.form.get("body", ""), request.form.get("comment_key", "")

        def add():
            return incidents.add_comment(session=session, incident_id=incident.id, actor=current_user.user, body=body)

        posted = _once_per_form(
            form_key,
            "comment_key",
            lambda: idempotency.comment_once(
                session=session,
                actor=current_user.user,
                key=form_key,
                details={"incident_id": incident.id, "body": body},
                comment=add,
                field="comment_key",
            ),
            lambda: idempotency.Commented(add(), replayed=False),
        )
        if posted.replayed:  # Back, then Add comment again: the page still held the sent text
            flash("That comment was already posted; it was not added again.")
        return posted

    # Back to the new comment, not the top of a long page; app.js puts keyboard focus on it and
    # reads out what the page says happened.
    return _act(
        key,
        post,
        anchor=lambda posted: f"comment-{posted.comment.id}",
        notice=lambda posted: None if posted.replayed else "Comment added.",
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
    watching = request.form.get("watching") == "1"
    return _act(
        key,
        lambda session, incident: incidents.set_watching(
            session=session,
            incident_id=incident.id,
            actor=current_user.user,
            watching=watching,
        ),
        notice=lambda incident: (
            f"You are watching {incident.key}." if watching else f"You are no longer watching {incident.key}."
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
    # conflict we know which fields this person changed, and the newest event, so that we
    # know who changed the incident meanwhile.
    drawn_from = dict(
        version=incident.version, base=_fingerprints(incident), seen_event=_newest_event(session, incident)
    )
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
                due_date=timers.parse_due_date(form.due_date.data),
                expected_version=_version(),
            )
            session.commit()
            changed = incident.version != drawn_from["version"]
            flash(f"Saved your changes to {incident.key}." if changed else f"Nothing changed in {incident.key}.")
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
                seen_event=request.form.get("seen_event", ""),
            )
            return render_template(
                "incidents/edit.html", form=form, incident=incident, errors=errors, error=page_message(error), **kept
            ), status_for(error)
    return render_template("incidents/edit.html", form=form, incident=incident, errors={}, **drawn_from)


def _stale_edit(form: EditIncidentForm, incident, error: Conflict):
    """Someone saved in between: show their values where this person changed nothing, keep
    what this person typed elsewhere (with theirs beside it where both changed a field; the
    description merged line by line), and draw the form from the current version, so saving
    again keeps both people's changes."""
    session = get_session()
    seen = request.form.get("seen_event", "")
    # The description as the form showed it, from the audit trail (the form carries only its
    # fingerprint): with it both people's changes to different lines are kept.
    edits = (
        incidents.description_edits_since(session=session, incident_id=incident.id, after_event_id=int(seen))
        if is_number(seen)
        else None
    )
    merged = merge_stale_edit(
        base={f: request.form[f"base-{f}"] for f in EDITABLE_FIELDS if request.form.get(f"base-{f}")},
        mine={f: getattr(form, f).data or "" for f in EDITABLE_FIELDS},
        current={f: form_value(getattr(incident, f)) for f in EDITABLE_FIELDS},
        base_texts={"description": edits.before} if edits and edits.before is not None else None,
    )
    for name, value in merged.values.items():
        getattr(form, name).data = value
    people = (
        incidents.changed_by_since(session=session, incident_id=incident.id, after_event_id=int(seen))
        if is_number(seen)
        else []
    )
    message, theirs_label = _stale_edit_words(incident.key, people)
    return render_template(
        "incidents/edit.html",
        form=form,
        incident=incident,
        errors={},
        theirs=merged.theirs,
        theirs_label=theirs_label,
        error=message,
        version=incident.version,
        base=_fingerprints(incident),
        seen_event=_newest_event(session, incident),
        **_description_merge_words(
            merged, base=edits.before if edits else None, current=incident.description, people=edits.by if edits else []
        ),
    ), status_for(error)


def _description_merge_words(merged: Merged, *, base: str | None, current: str, people) -> dict[str, Any]:
    """What the edit page says beside a description both people changed (who changed it since
    the form was drawn: `people`). Merged cleanly: whose change was merged, and where. Where
    both changed the same lines: what they changed, as a line diff of theirs against `base`,
    and, before the next Save, that it replaces their version there."""
    text = merged.lines.get("description")
    if text is None and "description" not in merged.theirs:
        return {}
    others = [person.name for person in people if person.id != current_user.id]
    if others:
        who, they, their = _names(others, of=others), "they", "their"
    elif people:
        who, they, their = "your other tab", "it", "its"
    else:
        who, they, their = "someone else", "they", "their"
    if text is None:  # the base is not known: theirs is shown whole beside mine
        return {"description_note": f"Saving now replaces {their} version of the description with yours."}
    if not text.overlaps:
        changes = f" ({they} {in_words(text.theirs)})" if text.theirs else ""
        return {"description_note": f"Merged with {who}'s change{changes}. Check it, then Save."}
    where = places(text.overlaps)
    merged_in = f" there, with {their} other changes merged in ({they} {in_words(text.theirs)})" if text.theirs else ""
    replaces = f"Saving now replaces {their} version of the description{' ' + where if text.theirs else ''} with yours"
    return {
        "description_note": (
            f"You and {who} both changed the description {where}. Yours is kept in the box{merged_in}; what "
            f"{they} changed is shown below it. {replaces}: first copy into the box what you want to keep of "
            f"{their} version."
        ),
        "description_diff": timeline.diff_html(line_diff(base or "", current)),
        "description_diff_label": f"What {who} changed:",
    }


def _refusal_words(session, incident, error: DomainError) -> str:
    """What a page or row says about a refused write: a conflict names who changed the
    incident since the form was drawn (its seen_event), when that is known."""
    if isinstance(error, Conflict) and (who := _who_changed_it(session, incident)):
        return f"{who} {STALE_PAGE_HINT}"
    return page_message(error)


def _who_changed_it(session, incident) -> str | None:
    """After a refused write from a page drawn earlier (its `seen_event`): who changed the
    incident since, in words; None when the form does not say when it was drawn."""
    seen = request.form.get("seen_event", "")
    if not is_number(seen):
        return None
    changes = incidents.row_changes_since(session=session, incident_id=incident.id, after_event_id=int(seen))
    people = incidents.actors_of(changes)
    if not people:
        return None
    # Assignment events record emails: named as the timeline names them.
    assigned = any(event.action == EventType.INCIDENT_ASSIGNED for event in changes)
    names = {person.email: person.name for person in accounts.list_users(session=session)} if assigned else {}
    what = timeline.what_changed(changes, names=names)
    what = f" {what}" if what else ""
    others = [person.name for person in people if person.id != current_user.id]
    if not others:
        return f"You changed {incident.key} in another tab or window since this page was drawn.{what}"
    return f"{_names(others, of=people)} changed {incident.key} since you opened it.{what}"


def _names(others: list[str], *, of: list) -> str:
    """The others by name ("Lee Lead", "Ada Admin and Lee Lead"), with "(and you, in another
    tab)" when the person themselves is among `of` too."""
    names = others[0] if len(others) == 1 else ", ".join(others[:-1]) + " and " + others[-1]
    return names + (" (and you, in another tab)" if len(others) < len(of) else "")


def _stale_edit_words(key: str, people) -> tuple[str, str]:
    """The conflict page's message and the label beside a field both changed, naming who saved
    meanwhile: the person themselves in another tab, others by name, or (not known) someone."""
    others = [person.name for person in people if person.id != current_user.id]
    check = "Check, then save again."
    if people and not others:
        return (
            f"You saved changes to {key} in another tab or window while you were editing here. Those changes "
            f"are filled in below; where both changed a field, what you typed here is kept and the saved value "
            f"is shown beside it. {check}",
            "Saved meanwhile in your other tab:",
        )
    if others:
        names = _names(others, of=people)
        return (
            f"{names} saved changes to {key} while you were editing. Their changes are filled in below; where "
            f"you both changed a field, yours is kept and theirs is shown beside it. {check}",
            f"Saved meanwhile by {names}:",
        )
    return (
        f"Someone else saved changes to {key} while you were editing. Their changes are filled in below; where "
        f"you both changed a field, yours is kept and theirs is shown beside it. {check}",
        "Saved meanwhile by someone else:",
    )


def _newest_event(session, incident) -> int:
    """The incident's newest audit event when a form is drawn: after a conflict, the events
    since then name who saved meanwhile."""
    return audit.incident_events_marker(session=session, incident_id=incident.id)[0]


def _fingerprints(incident) -> dict[str, str]:
    """What the edit form is drawn from, one digest per field (see shared.incidents.merge)."""
    return {f: fingerprint(form_value(getattr(incident, f))) for f in EDITABLE_FIELDS}


# -- Follow-ups (incidents/_follow_ups.html) --------------------------------------------------

# What the section says after a follow-up post: kept in the session (not flashed, which the
# top of the page would show too) and shown once, in the section, where focus then lands.
FOLLOW_UP_NOTICE = "follow_up_notice"
# Where a follow-up form's post lands: that notice, so keyboard and screen reader pick up in
# the section with what happened (not the whole section read out again).
FOLLOW_UP_NOTICE_ANCHOR = "follow-up-notice"
# The fields a follow-up form shows its problems beside.
FOLLOW_UP_FIELDS = ("title", "owner", "due_date")


def _follow_up_context(session, incident) -> dict[str, Any]:
    """What the Follow-ups section draws: the list, its open count, the notice after a post,
    and which form (if any) comes back refused with its values, problems and message ("new",
    or a follow-up's id), or which follow-up the page asks about deleting."""
    items = follow_up_service.list_follow_ups(session=session, actor=current_user.user, incident_id=incident.id)
    return dict(
        follow_ups=items,
        open_follow_ups=follow_up_service.open_count(items),
        can_delete_follow_up=lambda item: follow_up_service.can_delete(current_user.user, item),
        follow_up_today=reader_today(),  # an open follow-up due before it is overdue
        follow_up_notice=http_session.pop(FOLLOW_UP_NOTICE, None),
        follow_up_form=None,
        follow_up_errors={},
        follow_up_values={},
        follow_up_message=None,
        follow_up_confirm_delete=None,
    )


def _owner_arg() -> int | None:
    """The owner picker's value: a user id, or empty for nobody."""
    value = request.form.get("owner", "").strip()
    if not value:
        return None
    if not is_number(value):
        raise ValidationFailed({"owner": "Choose the owner from the list."})
    return int(value)


def _follow_up_refusal_words(session, incident, form: str, error: DomainError) -> str | None:
    """What the section says beside a refused follow-up form (None: the fields say it). Like
    the incident's own conflicts, a follow-up changed or deleted since the page was drawn (its
    seen_event) names who did it; the form keeps what was typed, so the words say so."""
    if isinstance(error, ValidationFailed):
        # A problem with no field of its own (a form without its version) is said beside the form.
        unplaced = [text for name, text in error.field_errors.items() if name not in FOLLOW_UP_FIELDS]
        return " ".join(unplaced) or None
    if form == "new" or not is_number(form):
        return page_message(error)
    seen = request.form.get("seen_event", "")
    changes = (
        follow_up_service.changes_since(
            session=session, incident_id=incident.id, follow_up_id=int(form), after_event_id=int(seen)
        )
        if is_number(seen)
        else follow_up_service.ChangesSince([], None)  # a form drawn before it said when
    )
    others = [person.name for person in changes.people if person.id != current_user.id]
    if others:
        who, since = _names(others, of=changes.people), "since you opened this page"
    elif changes.people:
        who, since = "You", "in another tab or window since this page was drawn"
    else:
        who, since = "Someone else", "since you opened this page"
    if changes.deleted_title is not None:
        return f"{who} deleted the follow-up “{changes.deleted_title}” {since}."
    if not isinstance(error, Conflict):
        return page_message(error)
    item = follow_up_service.get_follow_up(
        session=session, actor=current_user.user, incident_id=incident.id, follow_up_id=int(form)
    )
    if request.form.get("confirm"):
        return (
            f"{who} changed the follow-up “{item.title}” {since}, so it was not deleted. "
            "It is shown as it is now: check it, then delete it again if you still mean to."
        )
    return (
        f"{who} changed the follow-up “{item.title}” {since}. It is shown as it is now, and the form "
        "below keeps what you typed: check it, then save again."
    )


def _follow_up_act(key: str, form: str, operation, done: Callable[[Any], str]):
    """Run one follow-up operation from a form; then back to the section (post-redirect-get)
    with `done(result)` as the section's notice. A refusal draws the page again (at the post's
    address and the error's status, as the incident's own forms do) with the form's values: a
    problem beside its field (which gets focus), any other refusal beside the form concerned
    (which gets focus), the edit form left open."""
    session = get_session()
    incident = incidents.get_incident(session=session, ref=key)
    try:
        # Worded before the commit, which expires (and for a delete, detaches) the row.
        notice = done(operation(session, incident))
        session.commit()
    except DomainError as error:
        session.rollback()
        session.expire_all()
        incident = incidents.get_incident(session=session, ref=key)
        problems = error.field_errors if isinstance(error, ValidationFailed) else {}
        context = _detail_context(session, incident)
        context.update(
            follow_up_form=form,
            follow_up_errors=problems,
            follow_up_values=request.form,
            follow_up_message=_follow_up_refusal_words(session, incident, form, error),
        )
        return render_template("incidents/detail.html", **context), status_for(error)
    http_session[FOLLOW_UP_NOTICE] = notice
    return redirect(url_for("incidents.detail", key=incident.key, _anchor=FOLLOW_UP_NOTICE_ANCHOR))


@bp.post("/incidents/<key>/follow-ups")
@login_required
def add_follow_up(key: str):
    return _follow_up_act(
        key,
        "new",
        lambda session, incident: follow_up_service.add_follow_up(
            session=session,
            actor=current_user.user,
            incident_id=incident.id,
            title=request.form.get("title", ""),
            owner_id=_owner_arg(),
            due_date=timers.parse_due_date(request.form.get("due_date")),
        ),
        lambda item: f"Added the follow-up “{item.title}”.",
    )


@bp.post("/incidents/<key>/follow-ups/<int:follow_up_id>/done")
@login_required
def follow_up_done(key: str, follow_up_id: int):
    done = request.form.get("done") == "1"
    return _follow_up_act(
        key,
        str(follow_up_id),
        lambda session, incident: follow_up_service.set_done(
            session=session, actor=current_user.user, incident_id=incident.id, follow_up_id=follow_up_id, done=done
        ),
        lambda item: f"Marked “{item.title}” done." if done else f"Reopened “{item.title}”.",
    )


@bp.post("/incidents/<key>/follow-ups/<int:follow_up_id>/edit")
@login_required
def edit_follow_up(key: str, follow_up_id: int):
    return _follow_up_act(
        key,
        str(follow_up_id),
        lambda session, incident: follow_up_service.update_follow_up(
            session=session,
            actor=current_user.user,
            incident_id=incident.id,
            follow_up_id=follow_up_id,
            title=request.form.get("title", ""),
            owner_id=_owner_arg(),
            due_date=timers.parse_due_date(request.form.get("due_date")),
            expected_version=_version(),
        ),
        lambda item: f"Saved the follow-up “{item.title}”.",
    )


@bp.post("/incidents/<key>/follow-ups/<int:follow_up_id>/delete")
@login_required
def delete_follow_up(key: str, follow_up_id: int):
    """Delete asks first ("Delete the follow-up “…”?", on a page that works without JavaScript,
    as disabling a user does); Yes posts again with confirm=1 and the version it asked about, so
    a reload of a refused Yes never deletes what has changed since."""
    if request.form.get("confirm") != "1":
        return _ask_before_deleting(key, follow_up_id)
    return _follow_up_act(
        key,
        str(follow_up_id),
        lambda session, incident: follow_up_service.delete_follow_up(
            session=session,
            actor=current_user.user,
            incident_id=incident.id,
            follow_up_id=follow_up_id,
            expected_version=_version(),
        ),
        lambda item: f"Deleted the follow-up “{item.title}”.",
    )


def _ask_before_deleting(key: str, follow_up_id: int):
    """The incident page with the question in the follow-up's place (a refusal, when this person
    may not delete it, beside it instead)."""
    session = get_session()
    incident = incidents.get_incident(session=session, ref=key)
    try:
        follow_up_service.deletable(
            session=session, actor=current_user.user, incident_id=incident.id, follow_up_id=follow_up_id
        )
    except DomainError as error:
        context = _detail_context(session, incident)
        context.update(
            follow_up_form=str(follow_up_id),
            follow_up_message=_follow_up_refusal_words(session, incident, str(follow_up_id), error),
        )
        return render_template("incidents/detail.html", **context), status_for(error)
    context = _detail_context(session, incident)
    context.update(follow_up_confirm_delete=follow_up_id)
    return render_template("incidents/detail.html", **context)


# -- Your follow-ups (incidents/follow_ups_mine.html) -------------------------------------------

# The list's two views, by the `state` in its address (the API also takes "all").
MINE_STATES = ("open", "done")
MINE_PAGE_SIZE = 50
# What the list says after Mark done or Reopen: kept in the session and shown once, above the
# list (app.js moves focus to it, as after any post).
MINE_NOTICE = "my_follow_ups_notice"


def _mine_args(source) -> tuple[str, str | None]:
    """The list's state ("open" unless "done") and cursor, from the address or a form."""
    state = source.get("state", "open")
    return (state if state in MINE_STATES else "open"), (source.get("cursor") or None)


def _mine_url(state: str, cursor: str | None = None) -> str:
    # Whose and which (owner, due) come along from the address or the form, so that Mark done
    # on everyone's (or someone's, or the overdue) follow-ups comes back to that same list.
    owner, due = _list_choice(request.values)
    return _list_url(state, cursor, owner=owner, due=due)


def _render_mine(state: str, cursor: str | None, *, problem: str | None = None, status: int = 200):
    owner, due = _list_choice(request.values)
    return _render_list(owner, state, due, cursor, problem=problem, status=status)


# -- Anyone's follow-ups: the same page, ?owner=all|none|<email or user id> and ?due=overdue ------
# (named as the dashboard names its filters: `owner=me|none|<email>`, `due:overdue` in its box)


def _list_choice(source) -> tuple[str, str]:
    """Whose follow-ups (owner, "me" unless given) and the due filter ("" or as sent) asked for."""
    return (source.get("owner") or "me").strip(), (source.get("due") or "").strip().lower()


def _list_url(state: str, cursor: str | None = None, *, owner: str = "me", due: str = "") -> str:
    """The address of a view of the list: only what differs from "your open follow-ups"."""
    args: dict[str, Any] = {}
    if owner.lower() != "me":
        args["owner"] = owner
    if state != "open":
        args["state"] = state
    if due:
        args["due"] = due
    if cursor:
        args["cursor"] = cursor
    return url_for("incidents.my_follow_ups", **args)


def _shown(value: str) -> str:
    """A value the page quotes back, cut short."""
    return value if len(value) <= 40 else value[:39] + "…"  # escaped by the template


def _list_heading(owner: follow_up_service.Owner, state: str, due: str) -> tuple[str, str]:
    """The page's heading (whose follow-ups) and its title (also which ones: done, overdue)."""
    which = "overdue " if due else ("done " if state == "done" else "")
    if owner.user is not None and owner.user.id == current_user.id:
        return "Your follow-ups", f"Your {which}follow-ups"
    if owner.everyone:
        return "Everyone's follow-ups", f"Everyone's {which}follow-ups"
    if owner.user is not None:
        return f"{owner.user.name}'s follow-ups", f"{owner.user.name}'s {which}follow-ups"
    return "Follow-ups with no owner", f"{which}follow-ups with no owner".capitalize()


def _render_list(owner_asked: str, state: str, due: str, cursor: str | None, *, problem=None, status: int = 200):
    """A page of whose follow-ups were asked for (yours unless `owner` says otherwise), with the
    choice of whose and whether only the overdue ones; a choice it cannot take is said above the
    list, which shows the nearest it can."""
    session = get_session()
    actor = current_user.user
    try:
        owner = follow_up_service.find_owner(session=session, actor=actor, owner=owner_asked)
    except ValidationFailed:
        problem = f"There is nobody “{_shown(owner_asked)}” to list the follow-ups of: here are yours."
        owner, owner_asked, cursor = follow_up_service.Owner(actor), "me", None
    if due and due not in follow_up_service.DUE_FILTERS:
        problem = f"There is no “{_shown(due)}” filter of follow-ups (only Overdue): here are all of them."
        due, cursor = "", None
    elif due and state != "open":
        problem = "Overdue follow-ups are open ones (due before today): here are the overdue ones."
        state, cursor = "open", None
    listed = functools.partial(
        follow_up_service.listed_page,
        session=session,
        actor=actor,
        owner=owner,
        state=state,
        due=due or None,
        limit=MINE_PAGE_SIZE,
        today=reader_today(),
    )
    try:
        page = listed(cursor=cursor)
    except ValidationFailed:
        # A page link cut short or typed by hand: the first page, saying why.
        problem, status, cursor = "That page link is not one this list gave out: here is the first page.", 400, None
        page = listed()
    heading, title = _list_heading(owner, state, due)
    mine = owner.user is not None and owner.user.id == actor.id
    kept = {"owner": owner_asked, "due": due}
    context = dict(
        items=page.items,
        state=state,
        cursor=cursor,
        state_links={name: _list_url(name, owner=owner_asked) for name in MINE_STATES},
        first_link=_list_url(state, **kept) if cursor else None,
        next_link=_list_url(state, page.next_cursor, **kept) if page.next_cursor else None,
        follow_up_today=reader_today(),
        notice=http_session.pop(MINE_NOTICE, None),
        problem=problem,
        heading=heading,
        page_title=title,
        listing=dict(
            mine=mine,
            yours=mine and not due,  # "your open (or done) follow-ups", as the page was before owner and due
            owner=owner,
            overdue=bool(due),
            # What the filter's Owner shows chosen: a person by their email, as the dashboard's.
            chosen="me" if mine else "all" if owner.everyone else owner.user.email.lower() if owner.user else "none",
            people=follow_up_service.owner_choices(session=session),
            # Carried by each Mark done / Reopen form, so that the page comes back as it was.
            fields={name: value for name, value in kept.items() if value and value.lower() != "me"},
        ),
    )
    return render_template("incidents/follow_ups_mine.html", **context), status


def _listed_tick_words(item, *, done: bool) -> str | None:
    """What Mark done / Reopen did, on a list of follow-ups other than your own (everyone's,
    someone's, those with no owner): whose it is, as it is now. None on your own list, where
    the words say whether it is still yours (_tick_words)."""
    owner, _due = _list_choice(request.form)
    if owner.lower() == "me":
        return None
    if done and item.done_by is not None and item.done_by_id != current_user.id:
        return f"“{item.title}” was already marked done by {item.done_by.name}."
    if item.owner is None:
        named = f"“{item.title}” (no owner)"
    else:
        whose = "your" if item.owner_id == current_user.id else f"{item.owner.name}'s"
        named = f"{whose} follow-up “{item.title}”"
    return f"Marked {named} done." if done else f"Reopened {named}."


@bp.get("/follow-ups")
@login_required
def my_follow_ups():
    """The follow-ups the signed-in person owns, across incidents: open ones soonest due first
    (?state=done: the done ones, most recently done first), a page at a time (a keyset cursor,
    as the API's lists page), each to be marked done (or reopened) in its place. ?owner=all:
    everyone's; ?owner=none: those with no owner; ?owner=<email or user id>: that person's;
    ?due=overdue: only the open ones due before today."""
    asked = request.args.get("state", "open")
    if asked not in MINE_STATES:
        # Hand-typed or an API habit (`state=all`): say so, rather than quietly show Open.
        shown = asked if len(asked) <= 40 else asked[:39] + "…"  # escaped by the template
        problem = f"There is no “{shown}” view of your follow-ups (Open or Done): here are the open ones."
        return _render_mine("open", None, problem=problem)
    return _render_mine(*_mine_args(request.args))


@bp.post("/follow-ups/<int:follow_up_id>/done")
@login_required
def my_follow_up_done(follow_up_id: int):
    """Mark done (or reopen, done=0) a follow-up from "Your follow-ups" (the form names its
    incident), under the same rules as on the incident page; then back to the same page of the
    list saying what happened (post-redirect-get), or the list again with the refusal at the
    error's status."""
    session = get_session()
    done = request.form.get("done") == "1"
    state, cursor = _mine_args(request.form)
    try:
        item = follow_up_service.set_done(
            session=session,
            actor=current_user.user,
            incident_id=request.form.get("incident", ""),
            follow_up_id=follow_up_id,
            done=done,
        )
        notice = _tick_words(item, done=done)
        session.commit()
    except DomainError as error:
        session.rollback()
        return _render_mine(state, cursor, problem=page_message(error), status=status_for(error))
    if (on_a_list_not_yours := _listed_tick_words(item, done=done)) is not None:
        notice = on_a_list_not_yours
    http_session[MINE_NOTICE] = notice
    return redirect(_mine_url(state, cursor))


def _tick_words(item, *, done: bool) -> str:
    """What Mark done / Reopen on "Your follow-ups" did, truthfully: the list may be older than
    the follow-up. Anyone may tick anyone's follow-up (shared.incidents.follow_ups.set_done), so
    one reassigned since the list was drawn is ticked all the same, and the reader is told whose
    it is now; one someone else had already marked done is left as they did it."""
    if done and item.done_by is not None and item.done_by_id != current_user.id:
        return f"“{item.title}” was already marked done by {item.done_by.name}."
    if item.owner_id == current_user.id:
        return f"Marked “{item.title}” done." if done else f"Reopened “{item.title}”."
    now = f"is now {item.owner.name}'s follow-up, not yours" if item.owner is not None else "has no owner now"
    return f"“{item.title}” {now}; {'marked it done' if done else 'reopened it'}."
