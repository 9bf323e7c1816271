"""/api/v1: parse -> call the same shared/ service as the pages -> serialise. No SQL here."""

from __future__ import annotations

from flask import request, url_for
from flask_smorest import Blueprint

from shared.accounts import service as accounts
from shared.accounts.models import TokenScope
from shared.audit import listing as audit_listing
from shared.audit import service as audit
from shared.errors import Conflict, NotFound, TransitionNotAllowed, ValidationFailed
from shared.events import EventType
from shared.incidents import follow_ups as follow_up_service
from shared.incidents import idempotency, insights, listing, timers
from shared.incidents import service as incidents
from shared.incidents.search import Filters
from shared.permissions import Action, can
from shared.text import is_number
from shared.timeutil import as_utc, time_zone
from web.api import schemas
from web.api.auth import authenticate, needs
from web.api.problems import ApiProblem, ProblemSchema
from web.csv_export import audit_csv_response, csv_response
from web.db import get_session
from web.incidents import timeline

READ, WRITE, ADMIN = TokenScope.READ, TokenScope.WRITE, TokenScope.ADMIN

incidents_bp = Blueprint("api_incidents", __name__, url_prefix="/api/v1", description="Incidents")
audit_bp = Blueprint("api_audit", __name__, url_prefix="/api/v1", description="Audit trail")
users_bp = Blueprint("api_users", __name__, url_prefix="/api/v1", description="Users (admin)")
account_bp = Blueprint(
    "api_account", __name__, url_prefix="/api/v1", description="Who is calling: your account and this call's token"
)
insights_bp = Blueprint(
    "api_insights", __name__, url_prefix="/api/v1", description="Insights: MTTA, MTTR and open incidents over time"
)
BLUEPRINTS = (incidents_bp, audit_bp, users_bp, account_bp, insights_bp)

# Every operation can answer with these; documented so clients (and schemathesis) know the shape.
COMMON_ERRORS = (400, 401, 403, 429)


def _errors(*statuses: int):
    def decorate(view):
        for status in (*COMMON_ERRORS, *statuses):
            view = incidents_bp.alt_response(status, schema=ProblemSchema, content_type="application/problem+json")(
                view
            )
        return view

    return decorate


# -- ETag / If-Match --------------------------------------------------------------------------


def etag(incident) -> str:
    return f'"v{incident.version}"'


def _if_match(required: bool, current: int) -> int | None:
    """The version the client last saw, from If-Match (RFC 9110: a list of ETags, or `*` for
    "whatever is current"); 428 when required and absent."""
    unreadable = ApiProblem(
        412,
        "If-Match does not name a version of this incident; GET it for its ETag.",
        headers={"ETag": f'"v{current}"'},
    )
    header = request.headers.get("If-Match")
    if header is None:
        if required:
            raise ApiProblem(
                428, "Send If-Match with the incident's ETag, so a stale edit cannot overwrite a newer one."
            )
        return None
    versions = _versions_named(header)
    if versions is None:
        return None  # the client chose to write whatever the current version is
    if not versions:
        raise unreadable
    return current if current in versions else versions[0]


def _versions_named(header: str) -> list[int] | None:
    """The versions an If-Match header names ("v7", in order), or None for `*`. A tag that is
    none of ours (another server's, a typo) matches nothing, as RFC 9110 reads a list: the
    others may still name the current version. W/ is taken: a proxy that compresses an answer
    weakens its ETag, which the client then sends back, and a version names one content."""
    tags = [tag.strip() for tag in header.split(",") if tag.strip()]
    if "*" in tags:
        return None
    values = (tag.removeprefix("W/").strip('"') for tag in tags)
    return [int(value[1:]) for value in values if value.startswith("v") and is_number(value[1:])]


def _versioned(operation, expected: int | None, incident_id: int, *, read: int | None = None, repeats=None):
    """Run a write; a stale If-Match is 412 with the current ETag, and one that collided with
    another write at the same moment (`read`: the version it read) is 409. Both name who changed
    the incident and what (`changes`), from the incident's own trail.

    `repeats(events, actor) -> bool` tells a request the changes it missed already made, by the
    same caller (a retry, a double submit, parallel workers with one token): its outcome stands,
    so it is answered with the incident as it is, as RFC 9110 §13.1.1 allows for a stale If-Match,
    and so is a move refused only because the caller's own last change already made it.

    Worded for whoever sent it: the domain's "changed by someone else since you opened it" is
    the page's sentence, and a token client opened nothing (and may have made the change itself)."""
    try:
        return operation()
    except TransitionNotAllowed:
        # A move to where the incident already is, which the caller's own last change made with
        # the same words (a retry after the first answer arrived, or a parallel twin that read
        # the incident after the first had moved it): done, as GitHub and PagerDuty answer it.
        if repeats is None:
            raise
        session = get_session()
        current = incidents.get_incident(session=session, ref=incident_id)
        last = incidents.row_changes_since_version(session=session, incident=current, version=current.version - 1)
        if repeats(last, authenticate().user):
            return current
        raise
    except Conflict:
        since = expected if expected is not None else read
        if since is None:
            raise
    session = get_session()
    session.rollback()  # a write that collided at flush leaves the session to be rolled back
    current = incidents.get_incident(session=session, ref=incident_id)
    events = incidents.row_changes_since_version(session=session, incident=current, version=since)
    actor = authenticate().user
    if repeats is not None and repeats(events, actor):
        return current
    who = _who(events, actor)
    what = timeline.what_changed(events, names={})
    what = f" {what}" if what else ""
    changed = f"{who} changed {current.key}{' in another request' if who == 'You' else ''}"
    headers, changes = {"ETag": etag(current)}, _changes_of_incident(events)
    if expected is None:
        # No If-Match: the request read the incident, and another write changed it before this one's.
        at = f"{changed} at the same moment" if who else f"{current.key} was changed at the same moment"
        detail = f"{at}.{what} GET it again, then retry if you still mean to."
        raise ApiProblem(409, detail, headers=headers, changes=changes)
    versions = f"since version v{expected} (it is at v{current.version} now)"
    retry = f'GET it again, then retry with If-Match: "v{current.version}".'
    detail = f"{changed} {versions}.{what} {retry}" if who else f"{current.key} has changed {versions}: {retry}"
    raise ApiProblem(412, detail, headers=headers, changes=changes)


def _who(events, caller) -> str:
    """Who made these changes, in words: "Lee Lead", "Ada Admin and Lee Lead", "You" (the
    caller alone), "Lee Lead (and you, in another request)"; "" when none is known."""
    people = incidents.actors_of(events)
    others = [person.name for person in people if person.id != caller.id]
    if not others:
        return "You" if people else ""
    names = others[0] if len(others) == 1 else ", ".join(others[:-1]) + " and " + others[-1]
    return names + (" (and you, in another request)" if len(others) < len(people) else "")


def _by(event) -> dict | None:
    actor = event.actor
    return None if actor is None else {"id": actor.id, "email": actor.email, "name": actor.name}


# The incident's fields as the API names them, for what an edit event calls them.
_EDITED_FIELD = {"due date": "due_date"}


def _as_shown(field: str, value):
    # The trail words a missing due date "none", as the timeline says it; the API shows null.
    return None if field == "due_date" and value == "none" else value


def _changes_of_incident(events) -> list[dict]:
    """The problem's `changes`: each field a missed change of the incident changed, oldest first,
    with its values as the API shows them (a status's value, an owner's email)."""
    changes = []
    for event in events:
        data = event.data or {}
        fields_changed = {
            EventType.INCIDENT_STATUS_CHANGED.value: {"status": data},
            EventType.INCIDENT_PRIORITY_CHANGED.value: {"priority": data},
            EventType.INCIDENT_ASSIGNED.value: {"owner_email": data},
            EventType.INCIDENT_EDITED.value: {
                _EDITED_FIELD.get(name, name): change for name, change in (data.get("changes") or {}).items()
            },
        }.get(event.action, {})
        for field, change in fields_changed.items():
            item = {"by": _by(event), "at": as_utc(event.occurred_at).isoformat(), "field": field}
            if field != "description" and isinstance(change, dict):  # a description can be 50,000 characters
                item.update({end: _as_shown(field, change.get(end)) for end in ("from", "to")})
            changes.append(item)
    return changes


def _with_etag(incident, status: int = 200, headers: dict | None = None):
    return incident, status, {"ETag": etag(incident), **(headers or {})}


def _commit():
    get_session().commit()


# -- incidents --------------------------------------------------------------------------------


@incidents_bp.route("/incidents", methods=["GET"])
@needs(READ)
@incidents_bp.arguments(schemas.ListArgs, location="query")
@incidents_bp.response(200, schemas.IncidentPage, description=schemas.LISTED, headers=schemas.LISTED_HEADERS)
@incidents_bp.alt_response(
    200, schema=schemas.CSV_FILE, content_type="text/csv", description=schemas.LISTED, success=True
)
@incidents_bp.doc(
    summary="List incidents, or export them as CSV",
    description="Filter with the dashboard's query language (`q`) and parameters. Unlike the dashboard, which "
    "leaves Closed out unless asked, the API lists every status: add `-status:closed` to `q` (or "
    "`status=open,in_progress,blocked,resolved`) for the active ones. Page with `next`. `format=csv` returns "
    "the filtered list as CSV. A parameter this list does not take, an unknown filter value or a mistyped "
    "qualifier is a 400 naming it.",
)
@_errors(422)
def list_incidents(args):
    caller = authenticate()
    filters = Filters.from_params(args, searching=False, days_in=_zone(args["tz"]))
    if filters.problems:
        raise ApiProblem(400, " ".join(filters.problems), errors=Filters.problems_by_parameter(args))
    # sort= when given, else `sort:` in q (the dashboard reads it there too), else priority.
    sort = args["sort"] or filters.sort or "priority"
    if args["format"] == "csv":
        return csv_response(filters, caller.user.id, sort)
    session = get_session()
    page = listing.page_after(
        session=session,
        filters=listing.with_typo_tolerance(session=session, filters=filters, me_id=caller.user.id),
        me_id=caller.user.id,
        sort=sort,
        cursor=args["cursor"],
        limit=args["limit"],
    )
    next_url = None
    headers = {}
    if page.next_cursor:
        kept = {k: v for k, v in request.args.items() if k != "cursor"}
        next_url = url_for("api_incidents.list_incidents", **kept, cursor=page.next_cursor, _external=True)
        headers["Link"] = f'<{next_url}>; rel="next"'
    return {"items": page.incidents, "next": next_url}, 200, headers


@incidents_bp.route("/incidents", methods=["POST"])
@needs(WRITE)
@incidents_bp.arguments(schemas.IncidentCreate)
@incidents_bp.response(201, schemas.IncidentOut, headers=schemas.CREATED_INCIDENT)
@incidents_bp.doc(summary="File an incident", parameters=[schemas.IDEMPOTENCY_KEY])
@_errors(415, 422)
def create_incident(body):
    caller = authenticate()
    session = get_session()
    # What the request asks for, as the service reads it: "p3" and "P3" are one priority.
    details = {
        name: value.strip().upper() if name == "priority" and isinstance(value, str) else value
        for name, value in body.items()
    }
    owner_field = "owner_email" if "owner_email" in body else "owner_id"
    body["owner_id"] = _owner_id(session, body, schemas.IncidentCreate())
    body.pop("owner_email", None)
    file = _as_sent(
        {"owner": owner_field}, lambda: incidents.create_incident(session=session, actor=caller.user, **body)
    )
    key = request.headers.get(idempotency.HEADER)
    if key is None:
        incident, replayed = file(), False
    else:
        filed = idempotency.file_once(session=session, actor=caller.user, key=key, details=details, file=file)
        incident, replayed = filed.incident, filed.replayed
    _commit()
    location = url_for("api_incidents.get_incident", key=incident.key, _external=True)
    # A repeat gets the first request's answer (the incident as it is now), marked as a replay.
    return _with_etag(incident, 201, {"Location": location, **({"Idempotent-Replayed": "true"} if replayed else {})})


@incidents_bp.route("/incidents/<key>", methods=["GET"])
@needs(READ)
@incidents_bp.response(200, schemas.IncidentOut, headers=schemas.INCIDENT_ETAG)
@_errors(404)
def get_incident(key):
    """Get an incident"""
    return _with_etag(incidents.get_incident(session=get_session(), ref=key))


@incidents_bp.route("/incidents/<key>", methods=["PATCH"])
@needs(WRITE)
@incidents_bp.arguments(schemas.IncidentPatch)
@incidents_bp.response(200, schemas.IncidentOut, headers=schemas.INCIDENT_ETAG)
@incidents_bp.doc(parameters=[schemas.IF_MATCH_REQUIRED])
@_errors(404, 409, 412, 415, 422, 428)
def patch_incident(body, key):
    """Edit an incident's details"""
    caller = authenticate()
    session = get_session()
    incident = incidents.get_incident(session=session, ref=key)
    expected = _if_match(required=True, current=incident.version)
    fields = {
        name: body.get(name, getattr(incident, name)) for name in ("title", "description", "component", "environment")
    }
    fields["due_date"] = body.get("due_date", incidents.KEEP_DUE_DATE)
    incident = _versioned(
        lambda: incidents.update_details(
            session=session, incident_id=incident.id, actor=caller.user, expected_version=expected, **fields
        ),
        expected,
        incident.id,
    )
    _commit()
    return _with_etag(incident)


def _owner_id(session, body: dict, schema: schemas.StrictSchema | None = None) -> int | None:
    """The owner a request names, by id or by email (`owner_email`). An email nobody active has
    is refused together with what the service will refuse in the request's other fields, as
    `schema` tells: every problem of a request at once (README), not the owner's alone."""
    if "owner_email" not in body:
        return body.get("owner_id")
    email = body["owner_email"]
    user = accounts.find_by_email(session=session, email=email)
    if user is None or not user.is_active:
        others = schema.value_problems(body) if schema is not None else {}
        raise ValidationFailed({**others, "owner_email": f"No active user has the email {email}."})
    return user.id


def _as_sent(names: dict[str, str], operation):
    """`operation`, whose refusal names the fields as this request sent them (the service says
    "resolution" where the API takes "summary", "owner" where it took owner_email)."""

    def run(*args):
        try:
            return operation(*args)
        except ValidationFailed as error:
            raise ValidationFailed({names.get(k, k): v for k, v in error.field_errors.items()}) from None

    return run


def _incident_write(key: str, operation, repeats=None):
    caller = authenticate()
    session = get_session()
    incident = incidents.get_incident(session=session, ref=key)
    expected = _if_match(required=False, current=incident.version)
    read = incident.version
    result = _versioned(
        lambda: operation(session, incident, caller.user, expected), expected, incident.id, read=read, repeats=repeats
    )
    _commit()
    return _with_etag(result)


@incidents_bp.route("/incidents/<key>/transition", methods=["POST"])
@needs(WRITE)
@incidents_bp.arguments(schemas.TransitionIn)
@incidents_bp.response(200, schemas.IncidentOut, headers=schemas.INCIDENT_ETAG)
@incidents_bp.doc(parameters=[schemas.IF_MATCH])
@_errors(404, 409, 412, 415, 422)
def transition(body, key):
    """Move an incident to another status"""
    resolving = body["to"] == "resolved"
    if body.get("summary") is not None and not resolving:
        # Found by QA: a Blocked move with only a summary was taken, the summary as its reason.
        raise ValidationFailed(
            {"summary": f"A summary is for moving to resolved; give the reason for {body['to']} as reason."}
        )
    # Resolving takes `summary` alone (found by an integrator: a `reason` was taken as the
    # resolution summary, and dropped without a word when a summary came with it).
    if resolving and body.get("reason") is not None:
        if body.get("summary") is None:
            raise ValidationFailed(
                {"summary": "Moving to resolved needs a summary: send the resolution summary as summary, not reason."}
            )
        raise ValidationFailed(
            {"reason": "reason is not taken for resolving: send the resolution summary as summary alone."}
        )
    reason = body.get("summary") if resolving else body.get("reason")
    return _incident_write(
        key,
        _as_sent(
            {"resolution": "summary"},
            lambda session, incident, actor, expected: incidents.transition(
                session=session,
                incident_id=incident.id,
                actor=actor,
                to=body["to"],
                reason=reason,
                expected_version=expected,
            ),
        ),
        repeats=lambda events, actor: incidents.repeats_move(events, actor=actor, to=body["to"], reason=reason),
    )


@incidents_bp.route("/incidents/<key>/assign", methods=["POST"])
@needs(WRITE)
@incidents_bp.arguments(schemas.AssignIn)
@incidents_bp.response(200, schemas.IncidentOut, headers=schemas.INCIDENT_ETAG)
@incidents_bp.doc(parameters=[schemas.IF_MATCH])
@_errors(404, 409, 412, 415, 422)
def assign(body, key):
    """Assign an incident, or unassign it"""
    return _incident_write(
        key,
        _as_sent(
            {"owner": "owner_email" if "owner_email" in body else "owner_id"},
            lambda session, incident, actor, expected: incidents.assign(
                session=session,
                incident_id=incident.id,
                actor=actor,
                owner_id=_owner_id(session, body),
                expected_version=expected,
            ),
        ),
        repeats=lambda events, actor: incidents.repeats_assignment(
            events, actor=actor, owner_id=_owner_id(get_session(), body)
        ),
    )


@incidents_bp.route("/incidents/<key>/priority", methods=["POST"])
@needs(WRITE)
@incidents_bp.arguments(schemas.PriorityIn)
@incidents_bp.response(200, schemas.IncidentOut, headers=schemas.INCIDENT_ETAG)
@incidents_bp.doc(parameters=[schemas.IF_MATCH])
@_errors(404, 409, 412, 415, 422)
def prioritise(body, key):
    """Change an incident's priority"""
    return _incident_write(
        key,
        lambda session, incident, actor, expected: incidents.change_priority(
            session=session,
            incident_id=incident.id,
            actor=actor,
            priority=body["priority"],
            expected_version=expected,
        ),
        repeats=lambda events, actor: incidents.repeats_priority(events, actor=actor, priority=body["priority"]),
    )


@incidents_bp.route("/incidents/<key>/watch", methods=["POST"])
@needs(WRITE)
@incidents_bp.arguments(schemas.WatchIn)
@incidents_bp.response(200, schemas.WatchOut)
@_errors(404, 415, 422)
def watch(body, key):
    """Watch an incident, or stop watching it"""
    caller = authenticate()
    session = get_session()
    incident = incidents.get_incident(session=session, ref=key)
    incidents.set_watching(session=session, incident_id=incident.id, actor=caller.user, watching=body["watching"])
    _commit()
    return {"key": incident.key, "watching": body["watching"]}


@incidents_bp.route("/incidents/<key>/comments", methods=["GET"])
@needs(READ)
@incidents_bp.response(200, schemas.CommentOut(many=True))
@_errors(404)
def list_comments(key):
    """List an incident's comments"""
    session = get_session()
    incident = incidents.get_incident(session=session, ref=key)
    if not can(authenticate().user, Action.VIEW, incident):
        raise NotFound(f"No incident {key}.")
    return listing.comments(session=session, incident_id=incident.id)


@incidents_bp.route("/incidents/<key>/comments", methods=["POST"])
@needs(WRITE)
@incidents_bp.arguments(schemas.CommentIn)
@incidents_bp.response(201, schemas.CommentOut, headers=schemas.REPLAYABLE)
@incidents_bp.doc(parameters=[schemas.COMMENT_IDEMPOTENCY_KEY])
@_errors(404, 415, 422)
def add_comment(body, key):
    """Comment on an incident"""
    caller = authenticate()
    session = get_session()
    incident = incidents.get_incident(session=session, ref=key)

    def add():
        return incidents.add_comment(session=session, incident_id=incident.id, actor=caller.user, body=body["body"])

    idempotency_key = request.headers.get(idempotency.HEADER)
    if idempotency_key is None:
        comment, replayed = add(), False
    else:
        posted = idempotency.comment_once(
            session=session,
            actor=caller.user,
            key=idempotency_key,
            details={"incident_id": incident.id, "body": body["body"]},
            comment=add,
        )
        comment, replayed = posted.comment, posted.replayed
    _commit()
    return comment, 201, ({"Idempotent-Replayed": "true"} if replayed else {})


# -- follow-ups -------------------------------------------------------------------------------


@incidents_bp.route("/incidents/<key>/follow-ups", methods=["GET"])
@needs(READ)
@incidents_bp.response(200, schemas.FollowUpOut(many=True))
@_errors(404)
def list_follow_ups(key):
    """List an incident's follow-ups"""
    return follow_up_service.list_follow_ups(session=get_session(), actor=authenticate().user, incident_id=key)


@incidents_bp.route("/incidents/<key>/follow-ups", methods=["POST"])
@needs(WRITE)
@incidents_bp.arguments(schemas.FollowUpIn)
@incidents_bp.response(201, schemas.FollowUpOut, headers=schemas.CREATED_FOLLOW_UP)
@incidents_bp.doc(parameters=[schemas.FOLLOW_UP_IDEMPOTENCY_KEY])
@_errors(404, 415, 422)
def add_follow_up(body, key):
    """Add a follow-up to an incident"""
    caller = authenticate()
    session = get_session()
    incident = incidents.get_incident(session=session, ref=key)
    owner_field = "owner_email" if "owner_email" in body else "owner_id"
    add = _as_sent(
        {"owner": owner_field},
        lambda: follow_up_service.add_follow_up(
            session=session,
            actor=caller.user,
            incident_id=incident.id,
            title=body["title"],
            owner_id=_owner_id(session, body, schemas.FollowUpIn()),
            due_date=body["due_date"],
        ),
    )
    idempotency_key = request.headers.get(idempotency.HEADER)
    if idempotency_key is None:
        follow_up, replayed = add(), False
    else:
        added = idempotency.follow_up_once(
            session=session,
            actor=caller.user,
            key=idempotency_key,
            details={"incident_id": incident.id, **body},
            follow_up=add,
        )
        follow_up, replayed = added.follow_up, added.replayed
    _commit()
    # A repeat gets the first request's follow-up (as it is now), marked as a replay.
    location = url_for("api_incidents.get_follow_up", key=incident.key, follow_up_id=follow_up.id, _external=True)
    headers = {"ETag": f'"v{follow_up.version}"', "Location": location}
    return follow_up, 201, {**headers, **({"Idempotent-Replayed": "true"} if replayed else {})}


@incidents_bp.route("/incidents/<key>/follow-ups/<int:follow_up_id>", methods=["GET"])
@needs(READ)
@incidents_bp.response(200, schemas.FollowUpOut, headers=schemas.FOLLOW_UP_ETAG)
@_errors(404)
def get_follow_up(key, follow_up_id):
    """Show one follow-up"""
    follow_up = follow_up_service.get_follow_up(
        session=get_session(), actor=authenticate().user, incident_id=key, follow_up_id=follow_up_id
    )
    return follow_up, 200, {"ETag": f'"v{follow_up.version}"'}


def _check_follow_up_if_match(session, incident_id: int, follow_up) -> int | None:
    """The version If-Match names when it is the current one; a 412 when it names an older one
    (someone changed the follow-up since the client read it), naming who and what."""
    current = follow_up.version
    expected = _follow_up_if_match(current)
    if expected is not None and expected != current:
        events = follow_up_service.changes_since_version(
            session=session, incident_id=incident_id, follow_up=follow_up, version=expected
        )
        who = _who(events, authenticate().user)
        versions = f"since version v{expected} (it is at v{current} now)"
        retry = f'GET it again, then retry with If-Match: "v{current}".'
        changes = _changes_of_follow_up(events)
        if who:
            what = "; ".join(
                f"{c['field']} {_follow_up_value(c['field'], c['from'])} → {_follow_up_value(c['field'], c['to'])}"
                for c in changes
            )
            what = f" What changed: {what}." if what else ""
            where = " in another request" if who == "You" else ""
            detail = f"{who} changed the follow-up “{follow_up.title}”{where} {versions}.{what} {retry}"
        else:
            detail = f"The follow-up has changed {versions}: {retry}"
        raise ApiProblem(412, detail, headers={"ETag": f'"v{current}"'}, changes=changes)
    return expected


def _follow_up_value(field: str, value) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return f"“{value}”" if field == "title" else str(value)


def _changes_of_follow_up(events) -> list[dict]:
    """The problem's `changes` for a follow-up: each field its missed changes changed, oldest
    first, as the API shows them (`done` true or false, the owner's id, a due date or null)."""
    changes = []
    for event in events:
        data = event.data or {}
        if event.action in (EventType.FOLLOW_UP_COMPLETED.value, EventType.FOLLOW_UP_REOPENED.value):
            done = event.action == EventType.FOLLOW_UP_COMPLETED.value
            fields_changed: dict = {"done": {"from": not done, "to": done}}
        else:
            fields_changed = {
                {"owner": "owner_id", "due date": "due_date"}.get(name, name): change
                for name, change in (data.get("changes") or {}).items()
            }
        for field, change in fields_changed.items():
            ends = (
                {end: _as_shown(field, change.get(end)) for end in ("from", "to")} if isinstance(change, dict) else {}
            )
            changes.append({"by": _by(event), "at": as_utc(event.occurred_at).isoformat(), "field": field, **ends})
    return changes


def _follow_up_if_match(current: int) -> int | None:
    """The follow-up version the client last saw, from If-Match (optional; `*` is any)."""
    header = request.headers.get("If-Match")
    if header is None:
        return None
    versions = _versions_named(header)
    if versions is None:
        return None
    if not versions:
        raise ApiProblem(
            412,
            "If-Match does not name a version of this follow-up; GET the incident's follow-ups for its version.",
            headers={"ETag": f'"v{current}"'},
        )
    return current if current in versions else versions[0]


@incidents_bp.route("/incidents/<key>/follow-ups/<int:follow_up_id>", methods=["PATCH"])
@needs(WRITE)
@incidents_bp.arguments(schemas.FollowUpPatch)
@incidents_bp.response(200, schemas.FollowUpOut, headers=schemas.FOLLOW_UP_ETAG)
@incidents_bp.doc(parameters=[schemas.FOLLOW_UP_IF_MATCH])
@_errors(404, 409, 412, 415, 422)
def patch_follow_up(body, key, follow_up_id):
    """Edit a follow-up, or mark it done or open"""
    caller = authenticate()
    session = get_session()
    incident = incidents.get_incident(session=session, ref=key)
    follow_up = follow_up_service.get_follow_up(
        session=session, actor=caller.user, incident_id=incident.id, follow_up_id=follow_up_id
    )
    expected = _check_follow_up_if_match(session, follow_up.incident_id, follow_up)
    changes = {name: body[name] for name in ("title", "due_date") if name in body}
    if "owner_id" in body or "owner_email" in body:
        changes["owner_id"] = _owner_id(session, body)
    owner_field = "owner_email" if "owner_email" in body else "owner_id"
    if changes:
        follow_up = _as_sent(
            {"owner": owner_field},
            lambda: follow_up_service.update_follow_up(
                session=session,
                actor=caller.user,
                incident_id=incident.id,
                follow_up_id=follow_up_id,
                expected_version=expected,
                **changes,
            ),
        )()
    if "done" in body:
        follow_up = follow_up_service.set_done(
            session=session, actor=caller.user, incident_id=incident.id, follow_up_id=follow_up_id, done=body["done"]
        )
    _commit()
    return follow_up, 200, {"ETag": f'"v{follow_up.version}"'}


@incidents_bp.route("/incidents/<key>/follow-ups/<int:follow_up_id>", methods=["DELETE"])
@needs(WRITE)
@incidents_bp.response(204)
@incidents_bp.doc(parameters=[schemas.FOLLOW_UP_IF_MATCH])
@_errors(404, 409, 412)
def delete_follow_up(key, follow_up_id):
    """Delete a follow-up added by mistake"""
    caller = authenticate()
    session = get_session()
    follow_up = follow_up_service.get_follow_up(
        session=session, actor=caller.user, incident_id=key, follow_up_id=follow_up_id
    )
    # If-Match as on PATCH (found by QA: a stale one deleted anyway): the delete is of what was read.
    expected = _check_follow_up_if_match(session, follow_up.incident_id, follow_up)
    follow_up_service.delete_follow_up(
        session=session, actor=caller.user, incident_id=key, follow_up_id=follow_up_id, expected_version=expected
    )
    _commit()
    return "", 204


# -- audit ------------------------------------------------------------------------------------


@audit_bp.route("/incidents/<key>/events", methods=["GET"])
@needs(READ)
@audit_bp.response(200, schemas.EventOut(many=True))
@_errors(404)
def incident_events(key):
    """List an incident's audit trail"""
    session = get_session()
    incident = incidents.get_incident(session=session, ref=key)
    return audit.incident_events(session=session, incident_id=incident.id)


@audit_bp.route("/audit/verify", methods=["POST"])
@needs(ADMIN)
@audit_bp.response(200, schemas.VerifyOut)
@_errors()
def verify_chain():
    """Verify the audit chain"""
    caller = authenticate()
    if not can(caller.user, Action.MANAGE_USERS):
        raise ApiProblem(403, "Only admins can verify the audit chain.")
    session = get_session()
    report = audit.verify_incremental(session=session)
    _commit()
    return {
        "ok": report.ok,
        "checked": report.checked,
        "broken_event_id": report.broken_event_id,
        "problem": report.problem or None,
    }


@audit_bp.route("/audit/events", methods=["GET"])
@needs(READ)
@audit_bp.arguments(schemas.AuditListArgs, location="query")
@audit_bp.response(200, schemas.AuditEventPage, description=schemas.AUDIT_LISTED, headers=schemas.AUDIT_LISTED_HEADERS)
@audit_bp.alt_response(
    200, schema=schemas.AUDIT_CSV_FILE, content_type="text/csv", description=schemas.AUDIT_LISTED, success=True
)
@audit_bp.doc(
    summary="List every audit event, or export them as CSV",
    description="The whole audit trail, newest first, for leads and admins: filter by action, actor, entity, "
    "incident and time; page with `next`. `format=csv` returns the matching events as CSV. As on "
    "GET /api/v1/incidents, a filter value that matches nothing known (an action, a user, an incident, a date) "
    "is a 400, and a `cursor` this list did not give out or a `limit` out of range a 422, each with `errors` "
    "naming the parameter.",
)
@_errors(422)
def list_audit_events(args):
    caller = authenticate()
    if not can(caller.user, Action.VIEW_AUDIT):
        raise ApiProblem(403, "Only leads and admins can read the audit log.")
    session = get_session()
    params = {name: args["from_" if name == "from" else name] for name in audit_listing.FILTERS}
    params[audit_listing.ZONE] = args["tz"]
    try:
        filters = audit_listing.parse_filters(session=session, params=params)
    except ValidationFailed as error:
        named = " ".join(f"{name}: {message}" for name, message in error.field_errors.items())
        raise ApiProblem(400, named, errors=error.field_errors) from None
    if args["format"] == "csv":
        return audit_csv_response(filters, caller.user.id)
    # A cursor this list did not give out is a ValidationFailed: a 422 naming `cursor`
    # (web/app.py), as GET /api/v1/incidents answers one.
    page = audit_listing.page(
        session=session, actor=caller.user, filters=filters, cursor=args["cursor"], limit=args["limit"]
    )
    next_url = None
    headers = {}
    if page.next_cursor:
        kept = {k: v for k, v in request.args.items() if k != "cursor"}
        next_url = url_for("api_audit.list_audit_events", **kept, cursor=page.next_cursor, _external=True)
        headers["Link"] = f'<{next_url}>; rel="next"'
    return {"items": page.events, "next": next_url}, 200, headers


# -- insights ---------------------------------------------------------------------------------


@insights_bp.route("/insights", methods=["GET"])
@needs(READ)
@insights_bp.arguments(schemas.InsightsArgs, location="query")
@insights_bp.response(200, schemas.InsightsOut)
@insights_bp.doc(
    summary="MTTA, MTTR and open incidents over a window of days",
    description="What the /insights page shows, for a dashboard of your own: for incidents filed in the last "
    "`days` days (7, 30 or 90; today included), MTTA (filing to the first move to In Progress) and MTTR "
    "(filing to Resolved) in seconds per priority and per component, and the incidents open at the end of "
    "each day. Days are `tz`'s (UTC without it); `env` counts only some environments (env=prod). Anyone "
    "signed in may read it.",
)
@_errors(422)
def get_insights(args):
    authenticate()
    zone = _zone(args["tz"])
    environments, problems = insights.environments_given(args["env"])
    if problems:
        raise ApiProblem(400, " ".join(problems), errors={"env": problems})
    return insights.compute(session=get_session(), days=args["days"], zone=zone, environments=environments)


def _zone(name: str):
    """The zone a `tz` parameter names (UTC when empty); an unknown one is a 400 naming `tz`."""
    try:
        return time_zone(name.strip())
    except ValueError as error:
        raise ApiProblem(400, str(error), errors={"tz": [str(error)]}) from None


# -- the caller -------------------------------------------------------------------------------


@account_bp.route("/me", methods=["GET"])
@needs(READ)
@account_bp.response(200, schemas.MeOut, examples=schemas.ME_EXAMPLES)
@account_bp.doc(
    summary="Who am I: your account and this call's token",
    description="The account the call is made as (id, email, name, role), the scope calls made this way have "
    "now, and the token used: its name, scope, creation, expiry (null for never) and last use. Called with a "
    "browser session (cookie and X-CSRFToken), `token` is null. Any valid token may ask, whatever its scope; "
    "a revoked or expired one is a 401. The token's value is never returned (only its digest is stored).",
)
@_errors()
def get_me():
    caller = authenticate()
    user = caller.user
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "role": user.role,
        "scope": caller.scope,
        "token": caller.token,
    }


@account_bp.route("/me/follow-ups", methods=["GET"])
@needs(READ)
@account_bp.arguments(schemas.OwnedFollowUpArgs, location="query")
@account_bp.response(
    200, schemas.OwnedFollowUpPage, description="A page of the follow-ups you own.", headers=schemas.PAGED_HEADERS
)
@account_bp.doc(
    summary="The follow-ups you own, across incidents",
    description='The follow-ups you own (the page "Your follow-ups" lists): `state=open` (the default) soonest '
    "due first, those with no due date last, then the oldest; `state=done` the most recently done first; "
    "`state=all` both, in the open ones' order. Page with `next` (or the `Link` header), as on "
    "GET /api/v1/incidents. Each names its incident (`incident`, its key, as every follow-up answer does; "
    "`incident_title`, `incident_url`) and has its own `url` on that page; mark one done with PATCH "
    "/api/v1/incidents/{key}/follow-ups/{id}. A `state` it does not take is a 400, and a `cursor` this "
    "list did not give out or a `limit` out of range a 422, each with `errors` naming the parameter.",
)
@_errors(422)
def list_my_follow_ups(args):
    caller = authenticate()
    if problem := follow_up_service.state_problem(args["state"]):
        raise ApiProblem(400, problem, errors={"state": [problem]})
    # A cursor this list did not give out is a ValidationFailed: a 422 naming `cursor`, as on
    # GET /api/v1/incidents.
    page = follow_up_service.owned_page(
        session=get_session(), actor=caller.user, state=args["state"], cursor=args["cursor"], limit=args["limit"]
    )
    next_url = None
    headers = {}
    if page.next_cursor:
        kept = {k: v for k, v in request.args.items() if k != "cursor"}
        next_url = url_for("api_account.list_my_follow_ups", **kept, cursor=page.next_cursor, _external=True)
        headers["Link"] = f'<{next_url}>; rel="next"'
    return {"items": page.items, "next": next_url}, 200, headers


@incidents_bp.route("/follow-ups", methods=["GET"])
@needs(READ)
@incidents_bp.arguments(schemas.ListedFollowUpArgs, location="query")
@incidents_bp.response(
    200, schemas.OwnedFollowUpPage, description="A page of follow-ups across incidents.", headers=schemas.PAGED_HEADERS
)
@incidents_bp.doc(
    summary="Follow-ups across incidents: everyone's, one person's or those with no owner",
    description="The follow-ups of every incident (everyone may read every incident, so every follow-up): "
    "`owner=all` (the default) everyone's, `me` yours, `none` those with no owner, a user id or an email that "
    "person's, a disabled account's included (work nobody will do until it is given to someone). `state` and "
    "the order as on GET /api/v1/me/follow-ups; `due=overdue` only the open ones due before today (in `tz`, "
    "UTC without it). "
    "Each item is shaped as there, its `owner` the user every follow-up answer names (null: no owner). Page "
    "with `next` (or the `Link` header). An `owner` that is nobody known, a `state` or `due` it does not take "
    "(or `due=overdue` with another state than open) is a 400, and a `cursor` this list did not give out or a "
    "`limit` out of range a 422, each with `errors` naming the parameter.",
)
@_errors(422)
def list_follow_ups_across_incidents(args):
    caller = authenticate()
    session = get_session()
    for name, problem in (
        ("state", follow_up_service.state_problem(args["state"])),
        ("due", follow_up_service.due_problem(args["due"], args["state"])),
    ):
        if problem:
            raise ApiProblem(400, problem, errors={name: [problem]})
    today = timers.today(_zone(args["tz"]))
    try:
        owner = follow_up_service.find_owner(session=session, actor=caller.user, owner=args["owner"])
    except ValidationFailed as error:
        raise ApiProblem(400, error.field_errors["owner"], errors={"owner": [error.field_errors["owner"]]}) from None
    # A cursor this list did not give out is a ValidationFailed: a 422 naming `cursor`, as on
    # GET /api/v1/me/follow-ups.
    page = follow_up_service.listed_page(
        session=session,
        actor=caller.user,
        owner=owner,
        state=args["state"],
        due=args["due"],
        cursor=args["cursor"],
        limit=args["limit"],
        today=today,
    )
    next_url = None
    headers = {}
    if page.next_cursor:
        kept = {k: v for k, v in request.args.items() if k != "cursor"}
        next_url = url_for(
            "api_incidents.list_follow_ups_across_incidents", **kept, cursor=page.next_cursor, _external=True
        )
        headers["Link"] = f'<{next_url}>; rel="next"'
    return {"items": page.items, "next": next_url}, 200, headers


# -- users (admin) ----------------------------------------------------------------------------


@users_bp.route("/users", methods=["GET"])
@needs(ADMIN)
@users_bp.response(200, schemas.UserOut(many=True))
@_errors()
def list_users():
    """List users"""
    caller = authenticate()
    if not can(caller.user, Action.MANAGE_USERS):
        raise ApiProblem(403, "Only admins can manage users.")
    return accounts.list_users(session=get_session())


@users_bp.route("/users", methods=["POST"])
@needs(ADMIN)
@users_bp.arguments(schemas.UserCreate)
@users_bp.response(201, schemas.UserOut)
@_errors(415, 422)
def create_user(body):
    """Create a user"""
    caller = authenticate()
    user = accounts.create_user(session=get_session(), actor=caller.user, **body)
    _commit()
    return user, 201


@users_bp.route("/users/<int:user_id>", methods=["PATCH"])
@needs(ADMIN)
@users_bp.arguments(schemas.UserPatch)
@users_bp.response(200, schemas.UserOut)
@_errors(404, 415, 422)
def patch_user(body, user_id):
    """Change a user's role, or disable or enable the account"""
    caller = authenticate()
    session = get_session()
    user = accounts.get_user(session=session, user_id=user_id)
    if not can(caller.user, Action.MANAGE_USERS):
        raise ApiProblem(403, "Only admins can manage users.")
    if "role" in body:
        user = accounts.change_role(session=session, actor=caller.user, user_id=user.id, role=body["role"])
    if "is_active" in body:
        user = accounts.set_active(session=session, actor=caller.user, user_id=user.id, active=body["is_active"])
    _commit()
    return user
