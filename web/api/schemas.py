"""Request and response shapes: the views validate with them and the OpenAPI document is built from them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, cast

from flask import has_request_context, request, url_for
from marshmallow import Schema, ValidationError, fields, pre_dump, pre_load, validate, validates_schema
from sqlalchemy import ColumnElement, String

from shared.accounts import tokens as token_rules
from shared.accounts.models import Role
from shared.accounts.passwords import MAX_PASSWORD_LENGTH
from shared.accounts.service import EMAIL_MAX, NAME_MAX
from shared.audit import listing as audit_listing
from shared.evidence.models import EvidenceState
from shared.incidents import follow_ups as follow_up_rules
from shared.incidents import idempotency, insights, timers
from shared.incidents import service as incident_rules
from shared.incidents.lifecycle import Status
from shared.incidents.listing import MAX_LIMIT
from shared.incidents.models import ENVIRONMENTS, Priority
from shared.incidents.search import SORTS
from shared.timeutil import as_utc
from web.api.problems import ApiProblem, repeated_query_parameters, unknown_query_parameters
from web.csv_export import MAX_ROWS

PRIORITIES = [p.value for p in Priority]
STATUSES = [s.value for s in Status]
ENVIRONMENT_NAMES = list(ENVIRONMENTS)
ROLES = [r.value for r in Role]
TOKEN_SCOPES = [s.value for s in token_rules.SCOPE_ORDER]
FORMATS = ("json", "csv")  # of the lists that export: a page of JSON, or the whole list as CSV


class UtcDateTime(fields.DateTime):
    """ISO 8601 with its zone, always UTC (SQLite hands timestamps back without one)."""

    def _serialize(self, value, attr, obj, **kwargs):
        return super()._serialize(as_utc(value), attr, obj, **kwargs)


def _trimmed_email(data):
    """An owner_email pasted with spaces around it is still that address."""
    if isinstance(data, dict) and isinstance(data.get("owner_email"), str):
        return {**data, "owner_email": data["owner_email"].strip()}
    return data


class JsonBoolean(fields.Boolean):
    """true or false only: marshmallow's Boolean also takes "yes", "off", 1 and 0, and a
    request body is JSON, where a switch is a boolean (found by QA: "watching": "yes")."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):  # 1 == True in a set, so truthy={True} would take 1
            raise self.make_error("invalid", input=value)
        return value


class AnyCase(fields.String):
    """A word from a fixed list, in any case: `state=ALL` is `all` and `sort=Recent` is `recent`,
    as `priority=p1` and `status=OPEN` already were (found by QA: `state=ALL` was refused). A value
    that is none of them is kept as sent, so that the refusal quotes what the client sent."""

    def __init__(self, choices: Sequence[str], **kwargs) -> None:
        super().__init__(**kwargs)
        self.choices = tuple(choices)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        folded = text.strip().lower()
        return folded if folded in self.choices else text


def one_of(name: str, choices: Sequence[str]) -> validate.OneOf:
    """A query parameter's list of values, refused in words that name the parameter (a client
    shows the problem's `detail`, which is this sentence)."""
    return validate.OneOf(choices, error=f"{name} '{{input}}' is not one of {{choices}}.")


ANY_CASE = "Any case: {example} is {value}."


def page_limit(*, default: int, maximum: int) -> fields.Integer:
    """A list's `limit`: one sentence for a word, a fraction, 0 or too many, naming the range."""
    problem = f"limit must be a whole number from 1 to {maximum}."
    return fields.Integer(
        load_default=default,
        validate=validate.Range(1, maximum, error=problem),
        error_messages={"invalid": problem},
        metadata={"description": f"How many per page: 1 to {maximum}."},
    )


def max_length(limit: int) -> dict:
    """The document's maxLength for a text field whose length the service checks, in its own
    words: the same limit, imported from the service, and never a second message for it."""
    return {"maxLength": limit}


def column_length(column: ColumnElement[Any]) -> int:
    """The length of a String column: what the database holds, and the service checks."""
    length = cast(String, column.type).length
    if length is None:
        raise TypeError(f"{column} has no length")
    return length


BODY_NOT_AN_OBJECT = "The body must be a JSON object."


def _with_key(text: str) -> str:
    """A hint naming another operation, with the incident's key of this request's URL in it
    (`POST /api/v1/incidents/INC-32/transition`, not a literal `{key}`)."""
    key = (request.view_args or {}).get("key") if has_request_context() else None
    return text.replace("{key}", str(key).upper()) if key else text


class StrictSchema(Schema):
    class Meta:
        ordered = True

    # Fields this request does not take because another operation changes them: name it, rather
    # than only "Unknown field.".
    elsewhere: ClassVar[dict[str, str]] = {}

    def value_problems(self, valid: dict[str, Any]) -> dict[str, str]:
        """What the service will refuse in `valid`, the fields that loaded well; asked only when
        others did not (a wrong type), so that every problem of a request is named at once."""
        return {}

    def handle_error(self, error: ValidationError, data: Any, *, many: bool, **kwargs) -> None:
        if not isinstance(data, Mapping):  # `[1]`, `"x"`, `5` or `null`: the same 400 as JSON that does not parse
            raise ApiProblem(400, BODY_NOT_AN_OBJECT)
        messages = cast(dict[str, Any], error.normalized_messages())
        more = {name: [_with_key(text)] for name, text in self.elsewhere.items() if name in messages}
        loaded = error.valid_data if isinstance(error.valid_data, dict) else {}
        valid = {name: value for name, value in loaded.items() if name not in messages}
        more |= {name: [text] for name, text in self.value_problems(valid).items() if name not in messages}
        if more:
            raise ValidationError({**messages, **more}, data=data, valid_data=error.valid_data)


class QueryArgs(StrictSchema):
    """A list's query parameters: one it does not take is a 400 naming it, never ignored (a
    typo'd `?stauts=open` answered with the whole list, found by QA); so is one given twice."""

    # The parameters that take several values, comma-separated: a repeat is told so.
    comma_separated: ClassVar[frozenset[str]] = frozenset()

    @pre_load
    def _known_parameters_only(self, data, **kwargs):
        if problem := unknown_query_parameters(data, self.parameter_names()):
            raise problem
        if has_request_context():
            sent = {name: request.args.getlist(name) for name in request.args}
            if problem := repeated_query_parameters(sent, self.comma_separated):
                raise problem
        return data

    @classmethod
    def parameter_names(cls) -> list[str]:
        """The query parameters this schema takes, as sent (`from`, not `from_`)."""
        return [field.data_key or name for name, field in cls().load_fields.items()]


class UserRef(StrictSchema):
    id = fields.Integer(required=True)
    email = fields.String(required=True)
    name = fields.String(required=True)


class IncidentOut(StrictSchema):
    id = fields.Integer(required=True)
    key = fields.String(required=True, metadata={"example": "INC-42"})
    title = fields.String(required=True)
    description = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    priority = fields.String(required=True, validate=validate.OneOf(PRIORITIES))
    component = fields.String(required=True)
    environment = fields.String(required=True, validate=validate.OneOf(ENVIRONMENT_NAMES))
    owner = fields.Nested(UserRef, allow_none=True, required=True)
    reporter = fields.Nested(UserRef, allow_none=True, required=True)
    due_date = fields.Date(allow_none=True, required=True)
    blocked_reason = fields.String(allow_none=True, required=True)
    resolution_summary = fields.String(allow_none=True, required=True)
    created_at = UtcDateTime(required=True)
    updated_at = UtcDateTime(required=True)
    last_activity_at = UtcDateTime(
        required=True,
        attribute="activity_at",
        metadata={
            "description": "The last activity: a change of the incident (as updated_at), a comment, a follow-up "
            "or a file attached. What `updated:` and `sort=recent` read."
        },
    )
    in_progress_at = UtcDateTime(
        allow_none=True,
        required=True,
        metadata={"description": "The latest move to In Progress (unblocking and reopening move it)."},
    )
    acknowledged_at = UtcDateTime(
        allow_none=True,
        required=True,
        metadata={"description": "The first move to In Progress: with created_at, the time to acknowledge (MTTA)."},
    )
    blocked_at = UtcDateTime(
        allow_none=True,
        required=True,
        metadata={"description": "The latest move to Blocked (an Undo back to Blocked keeps the earlier one)."},
    )
    resolved_at = UtcDateTime(allow_none=True, required=True)
    closed_at = UtcDateTime(allow_none=True, required=True)
    version = fields.Integer(required=True, metadata={"description": "Also the ETag; send it back in If-Match."})


class ExportArgs(QueryArgs):
    """The query of a list that pages as JSON and exports as CSV. `limit` or `cursor` with
    format=csv is a 400 naming them, as a parameter a list does not take is, never ignored
    (found by an integrator: `format=csv&limit=2` exported every row)."""

    exports: ClassVar[str] = "the whole filtered list"

    @pre_load
    def _no_paging_in_csv(self, data, **kwargs):
        sent = data.get("format") if isinstance(data, Mapping) else None
        if not isinstance(sent, str) or sent.strip().lower() != "csv":
            return data
        if paging := [name for name in ("limit", "cursor") if name in data]:
            why = f"limit and cursor page JSON; format=csv exports {self.exports}."
            errors = {name: [f"{name} is not taken with format=csv: {why}"] for name in paging}
            verb = "is" if len(paging) == 1 else "are"
            raise ApiProblem(400, f"{' and '.join(paging)} {verb} not taken with format=csv: {why}", errors=errors)
        return data


class IncidentPage(StrictSchema):
    items = fields.List(fields.Nested(IncidentOut), required=True)
    next = fields.String(
        allow_none=True, required=True, metadata={"description": "URL of the next page; null on the last one."}
    )


class ListArgs(ExportArgs):
    comma_separated = frozenset({"status", "priority", "owner", "component", "env"})

    q = fields.String(
        load_default="",
        metadata={
            "description": "The dashboard's query language (README, Dashboard): `status:open priority:p1 disk`, "
            "`updated:12h reporter:me is:watching`, `created:>2026-11-30`. A misspelt qualifier (`stauts:open`, "
            "`since:12h`) is a 400 naming the one meant; any other `word:value` (`error:timeout`) is searched "
            "as words."
        },
    )
    status = fields.String(
        load_default="",
        metadata={
            "description": f"Comma-separated statuses: {', '.join(STATUSES)}. "
            + ANY_CASE.format(example="`OPEN`", value="open")
        },
    )
    priority = fields.String(
        load_default="",
        metadata={
            "description": f"Comma-separated priorities: {', '.join(PRIORITIES)}. "
            + ANY_CASE.format(example="`p1`", value="P1")
        },
    )
    owner = fields.String(
        load_default="",
        metadata={
            "description": "me, none, disabled (owned by any disabled account), a user id or an email "
            "(`ME` is me, as any case is)."
        },
    )
    component = fields.String(load_default="", metadata={"description": "Comma-separated components."})
    env = fields.String(
        load_default="",
        metadata={
            "description": f"Comma-separated environments: {', '.join(ENVIRONMENT_NAMES)}. "
            + ANY_CASE.format(example="`PROD`", value="prod")
        },
    )
    # Callable, so the document names no default: absent means `sort:` in q, else priority, and
    # a generated client that sent a documented default would override the q one.
    sort = AnyCase(
        SORTS,
        load_default=str,
        validate=one_of("sort", SORTS),
        metadata={
            "description": "When absent: `sort:` in q, else priority. "
            + ANY_CASE.format(example="`Recent`", value="recent")
        },
    )
    tz = fields.String(
        load_default="",
        metadata={
            "description": "The time zone whose days `q`'s days count (`created:2026-12-01`, `updated:today`, "
            "`due:overdue`), an IANA name (America/Los_Angeles), as the dashboard counts its reader's; UTC without "
            "one. An unknown name is a 400 naming `tz`."
        },
    )
    limit = page_limit(default=50, maximum=MAX_LIMIT)
    cursor = fields.String(load_default=None, metadata={"description": "From the previous page's `next`."})
    format = AnyCase(
        FORMATS,
        load_default="json",
        validate=one_of("format", FORMATS),
        metadata={
            "description": "csv: the whole filtered list as a CSV file (formula-safe); not with limit or cursor, "
            "which page JSON (a 400). " + ANY_CASE.format(example="`CSV`", value="csv")
        },
    )


_EMAIL_LENGTH = validate.Length(
    max=EMAIL_MAX, error=f"The email address is too long: use at most {EMAIL_MAX} characters."
)
# What the service checks of an incident's details (lengths included, in its own words).
DETAILS = ("title", "description", "component", "environment", "priority")
# An incident's other fields, and where each is changed instead of PATCH.
_TRANSITION = "The status changes through POST /api/v1/incidents/{key}/transition (`to`, and `reason` or `summary`)."
_MOVE_SETS = (
    "Set by moving the incident: POST /api/v1/incidents/{key}/transition, with `reason` to blocked "
    "or `summary` to resolved."
)
_ASSIGN = "The owner changes through POST /api/v1/incidents/{key}/assign (`owner_id` or `owner_email`)."
_READ_ONLY = "{name} is read-only; PATCH changes title, description, component, environment and due_date."


def _details_problems(valid: dict[str, Any]) -> dict[str, str]:
    return incident_rules.details_problems(**{name: valid[name] for name in DETAILS if name in valid})


class IncidentCreate(StrictSchema):
    title = fields.String(required=True, metadata=max_length(incident_rules.TITLE_MAX))
    description = fields.String(load_default="", metadata=max_length(incident_rules.DESCRIPTION_MAX))
    # Enums in the document only: the service checks them, in its own words (and takes "p1").
    priority = fields.String(load_default="P3", metadata={"enum": PRIORITIES})
    component = fields.String(load_default="", metadata=max_length(incident_rules.COMPONENT_MAX))
    environment = fields.String(load_default="prod", metadata={"enum": ENVIRONMENT_NAMES})
    # strict: 2.5 or "2" is no user id (a non-strict Integer read 2.5 as 2: someone else).
    owner_id = fields.Integer(load_default=None, allow_none=True, strict=True, validate=validate.Range(1, 2**31 - 1))
    owner_email = fields.Email(
        validate=_EMAIL_LENGTH,
        metadata={"description": "The owner by email (instead of owner_id), e.g. from an on-call schedule."},
    )
    due_date = fields.Date(
        load_default=None, allow_none=True, metadata={"description": "2026-12-31: overdue after that day (UTC)."}
    )

    @pre_load
    def _trim_email(self, data, **kwargs):
        return _trimmed_email(data)

    @validates_schema
    def _one_owner(self, data, **kwargs):
        if data.get("owner_id") is not None and "owner_email" in data:
            raise ValidationError("Give owner_id or owner_email, not both.", field_name="owner_email")

    def value_problems(self, valid: dict[str, Any]) -> dict[str, str]:
        problems = _details_problems(valid)
        if problem := timers.due_date_problem(valid.get("due_date")):
            problems["due_date"] = problem
        return problems


class IncidentPatch(StrictSchema):
    title = fields.String(metadata=max_length(incident_rules.TITLE_MAX))
    description = fields.String(metadata=max_length(incident_rules.DESCRIPTION_MAX))
    component = fields.String(metadata=max_length(incident_rules.COMPONENT_MAX))
    environment = fields.String(metadata={"enum": ENVIRONMENT_NAMES})
    due_date = fields.Date(allow_none=True, metadata={"description": "2026-12-31, or null for none."})

    elsewhere: ClassVar[dict[str, str]] = {
        **{
            name: _READ_ONLY.format(name=name)
            for name in (
                "id",
                "key",
                "reporter",
                "created_at",
                "updated_at",
                "last_activity_at",
                "in_progress_at",
                "blocked_at",
                "resolved_at",
                "closed_at",
            )
        },
        "status": _TRANSITION,
        "blocked_reason": _MOVE_SETS,
        "resolution_summary": _MOVE_SETS,
        "priority": "The priority changes through POST /api/v1/incidents/{key}/priority (`P1` to `P4`).",
        "owner": _ASSIGN,
        "owner_id": _ASSIGN,
        "owner_email": _ASSIGN,
        "watching": "Watching changes through POST /api/v1/incidents/{key}/watch.",
        "version": 'version is read-only: send the version you read as If-Match: "v<version>" (the ETag).',
    }

    def value_problems(self, valid: dict[str, Any]) -> dict[str, str]:
        return _details_problems(valid)


class TransitionIn(StrictSchema):
    to = fields.String(required=True, validate=validate.OneOf(STATUSES))
    reason = fields.String(
        load_default=None,
        allow_none=True,
        metadata={
            **max_length(incident_rules.TEXT_MAX),
            "description": "Why (moving to blocked, reopening, and other moves); not taken when moving to resolved, "
            "which takes summary: a reason then is a 422.",
        },
    )
    summary = fields.String(
        load_default=None,
        allow_none=True,
        metadata={
            **max_length(incident_rules.TEXT_MAX),
            "description": "The resolution summary: moving to resolved needs it (and only it).",
        },
    )


class AssignIn(StrictSchema):
    owner_id = fields.Integer(
        allow_none=True,
        strict=True,
        validate=validate.Range(1, 2**31 - 1),
        metadata={"description": "The new owner's id; null unassigns."},
    )
    owner_email = fields.Email(
        validate=_EMAIL_LENGTH,
        metadata={"description": "The new owner by email, instead of owner_id."},
    )

    @pre_load
    def _trim_email(self, data, **kwargs):
        return _trimmed_email(data)

    @validates_schema
    def _one_owner(self, data, **kwargs):
        if ("owner_id" in data) == ("owner_email" in data):
            raise ValidationError(
                "Give owner_id (a user id, or null to unassign) or owner_email, exactly one.", field_name="owner_id"
            )


class PriorityIn(StrictSchema):
    priority = fields.String(required=True, validate=validate.OneOf(PRIORITIES))

    @pre_load
    def _upper(self, data, **kwargs):
        # "p1" as on create and in the query language.
        if isinstance(data, dict) and isinstance(data.get("priority"), str):
            return {**data, "priority": data["priority"].strip().upper()}
        return data


class WatchIn(StrictSchema):
    watching = JsonBoolean(required=True)


class WatchOut(StrictSchema):
    key = fields.String(required=True)
    watching = fields.Boolean(required=True)


class CommentIn(StrictSchema):
    body = fields.String(required=True, metadata=max_length(incident_rules.TEXT_MAX))


class CommentOut(StrictSchema):
    id = fields.Integer(required=True)
    author = fields.Nested(UserRef, required=True)
    body = fields.String(required=True)
    created_at = UtcDateTime(required=True)


def _follow_up_problems(valid: dict[str, Any]) -> dict[str, str]:
    """What the service will refuse of a follow-up's title and due date, in its own words."""
    problems = {}
    if isinstance(valid.get("title"), str) and (problem := follow_up_rules.title_problem(valid["title"].strip())):
        problems["title"] = problem
    if problem := timers.due_date_problem(valid.get("due_date")):
        problems["due_date"] = problem
    return problems


_FOLLOW_UP_OWNER_ID = {"description": "The owner's user id; null for nobody."}
_FOLLOW_UP_OWNER_EMAIL = {"description": "The owner by email, instead of owner_id."}
_FOLLOW_UP_DUE = {
    "description": "2026-12-31, or null for none; a new one is yesterday (UTC) or later: yesterday, so that "
    "today works for a reader west of UTC, whose day is still UTC's yesterday."
}


class FollowUpIn(StrictSchema):
    title = fields.String(required=True, metadata=max_length(follow_up_rules.TITLE_MAX))
    owner_id = fields.Integer(
        load_default=None,
        allow_none=True,
        strict=True,
        validate=validate.Range(1, 2**31 - 1),
        metadata=_FOLLOW_UP_OWNER_ID,
    )
    owner_email = fields.Email(validate=_EMAIL_LENGTH, metadata=_FOLLOW_UP_OWNER_EMAIL)
    due_date = fields.Date(load_default=None, allow_none=True, metadata=_FOLLOW_UP_DUE)

    @pre_load
    def _trim_email(self, data, **kwargs):
        return _trimmed_email(data)

    @validates_schema
    def _one_owner(self, data, **kwargs):
        if data.get("owner_id") is not None and "owner_email" in data:
            raise ValidationError("Give owner_id or owner_email, not both.", field_name="owner_email")

    def value_problems(self, valid: dict[str, Any]) -> dict[str, str]:
        return _follow_up_problems(valid)


class FollowUpPatch(StrictSchema):
    title = fields.String(metadata=max_length(follow_up_rules.TITLE_MAX))
    owner_id = fields.Integer(
        allow_none=True, strict=True, validate=validate.Range(1, 2**31 - 1), metadata=_FOLLOW_UP_OWNER_ID
    )
    owner_email = fields.Email(validate=_EMAIL_LENGTH, metadata=_FOLLOW_UP_OWNER_EMAIL)
    due_date = fields.Date(allow_none=True, metadata=_FOLLOW_UP_DUE)
    done = JsonBoolean(metadata={"description": "true marks it done, false opens it again."})

    elsewhere: ClassVar[dict[str, str]] = {
        **{
            name: f"{name} is read-only; PATCH changes title, owner_id (or owner_email), due_date and done."
            for name in ("id", "incident", "owner", "created_by", "created_at", "updated_at", "done_at", "done_by")
        },
        "state": "Send done: true or false to change the state.",
        "version": 'version is read-only: send the version you read as If-Match: "v<version>" (the ETag).',
    }

    @pre_load
    def _trim_email(self, data, **kwargs):
        return _trimmed_email(data)

    @validates_schema
    def _one_owner(self, data, **kwargs):
        if "owner_id" in data and "owner_email" in data:
            raise ValidationError("Give owner_id or owner_email, not both.", field_name="owner_email")

    def value_problems(self, valid: dict[str, Any]) -> dict[str, str]:
        return _follow_up_problems(valid)


class FollowUpOut(StrictSchema):
    id = fields.Integer(required=True)
    incident = fields.Function(
        lambda item: f"INC-{item.incident_id}", required=True, metadata={"type": "string", "example": "INC-42"}
    )
    title = fields.String(required=True)
    state = fields.Function(
        lambda item: "done" if item.is_done else "open",
        required=True,
        metadata={"type": "string", "enum": ["open", "done"]},
    )
    owner = fields.Nested(UserRef, allow_none=True, required=True)
    due_date = fields.Date(allow_none=True, required=True)
    created_by = fields.Nested(UserRef, required=True)
    created_at = UtcDateTime(required=True)
    updated_at = UtcDateTime(required=True)
    done_at = UtcDateTime(allow_none=True, required=True)
    done_by = fields.Nested(UserRef, allow_none=True, required=True)
    version = fields.Integer(required=True, metadata={"description": "Also the ETag of a PATCH's answer."})


class _Owned:
    """A follow-up someone owns as OwnedFollowUpOut reads it: the follow-up's own fields, its
    incident's title and page, and its own place on that page."""

    def __init__(self, mine: follow_up_rules.OwnedFollowUp) -> None:
        self._mine = mine

    def __getattr__(self, name: str) -> Any:
        return getattr(self._mine.follow_up, name)

    @property
    def incident_title(self) -> str:
        return self._mine.incident_title

    @property
    def incident_url(self) -> str:
        return url_for("incidents.detail", key=self._mine.incident_key, _external=True)

    @property
    def url(self) -> str:
        return f"{self.incident_url}#follow-up-{self._mine.follow_up.id}"


class OwnedFollowUpOut(FollowUpOut):
    """A follow-up in GET /api/v1/me/follow-ups: the fields every follow-up answer has (`incident`
    is its key there too), its incident's title and page, and its own place on that page."""

    incident_title = fields.String(required=True)
    incident_url = fields.String(required=True, metadata={"description": "The incident's page."})
    url = fields.String(
        required=True, metadata={"description": "Its place on the incident's page (`#follow-up-<id>`)."}
    )

    @pre_dump
    def _owned(self, mine, **kwargs):
        return _Owned(mine)


class OwnedFollowUpPage(StrictSchema):
    items = fields.List(fields.Nested(OwnedFollowUpOut), required=True)
    next = fields.String(
        allow_none=True, required=True, metadata={"description": "URL of the next page; null on the last one."}
    )


class OwnedFollowUpArgs(QueryArgs):
    # Checked by the view, not by OneOf: a state it does not know is a 400 naming it, as a filter
    # value that matches nothing is on the other lists (`limit` and `cursor` are 422s there too).
    state = AnyCase(
        follow_up_rules.OWNED_STATES,
        load_default="open",
        metadata={
            "enum": list(follow_up_rules.OWNED_STATES),
            "description": "open: soonest due first, those with no due date last, then the oldest; done: the "
            "most recently done first; all: both, in the open ones' order. "
            + ANY_CASE.format(example="`ALL`", value="all"),
        },
    )
    limit = page_limit(default=follow_up_rules.OWNED_PAGE_SIZE, maximum=follow_up_rules.OWNED_MAX_LIMIT)
    cursor = fields.String(load_default=None, metadata={"description": "From the previous page's `next`."})


class ListedFollowUpArgs(QueryArgs):
    """GET /api/v1/follow-ups: OwnedFollowUpArgs, and whose (`owner`) and the overdue ones (`due`)."""

    # Checked by the view (a 400 naming the parameter), as `state` is on GET /api/v1/me/follow-ups.
    owner = fields.String(
        load_default="all",
        metadata={
            "description": "all (the default): everyone's; me: yours; none: those with no owner; a user id or an "
            "email: that person's (a disabled account's too: work nobody will do). Any case."
        },
    )
    state = AnyCase(
        follow_up_rules.OWNED_STATES,
        load_default="open",
        metadata={
            "enum": list(follow_up_rules.OWNED_STATES),
            "description": "open: soonest due first, those with no due date last, then the oldest; done: the "
            "most recently done first; all: both, in the open ones' order. "
            + ANY_CASE.format(example="`ALL`", value="all"),
        },
    )
    due = AnyCase(
        follow_up_rules.DUE_FILTERS,
        load_default=str,  # callable: the document names no default (absent: every due date)
        metadata={
            "enum": list(follow_up_rules.DUE_FILTERS),
            "description": "overdue: only the open ones due before today (`tz`'s, UTC without it), soonest due "
            "first (with `state=open`, the default). " + ANY_CASE.format(example="`OVERDUE`", value="overdue"),
        },
    )
    tz = fields.String(
        load_default="",
        metadata={
            "description": "The time zone whose today `due=overdue` counts from, an IANA name "
            "(America/Los_Angeles), as the follow-up pages count their reader's; UTC without one. An unknown name "
            "is a 400 naming `tz`."
        },
    )
    limit = page_limit(default=follow_up_rules.OWNED_PAGE_SIZE, maximum=follow_up_rules.OWNED_MAX_LIMIT)
    cursor = fields.String(load_default=None, metadata={"description": "From the previous page's `next`."})


class EventOut(StrictSchema):
    id = fields.Integer(required=True)
    occurred_at = UtcDateTime(required=True)
    actor = fields.Nested(UserRef, allow_none=True, required=True)
    action = fields.String(required=True)
    data = fields.Dict(required=True)
    hash = fields.String(required=True)
    prev_hash = fields.String(required=True)


class VerifyOut(StrictSchema):
    ok = fields.Boolean(required=True)
    checked = fields.Integer(required=True)
    broken_event_id = fields.Integer(allow_none=True, required=True)
    problem = fields.String(allow_none=True, required=True)


class UserOut(StrictSchema):
    id = fields.Integer(required=True)
    email = fields.String(required=True)
    name = fields.String(required=True)
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    is_active = fields.Boolean(required=True)
    created_at = UtcDateTime(required=True)


# -- The caller (GET /me) ---------------------------------------------------------------------


class CallerTokenOut(StrictSchema):
    """The token a call was made with: what its owner sees of it on the profile page. Never its
    value or digest (fields not listed here are not serialised)."""

    id = fields.Integer(required=True, metadata={"description": "As on the profile page and in `flask tokens list`."})
    name = fields.String(required=True, metadata={"example": "pager bridge"})
    scope = fields.String(
        required=True, validate=validate.OneOf(TOKEN_SCOPES), metadata={"description": "The scope it was made with."}
    )
    created_at = UtcDateTime(required=True)
    expires_at = UtcDateTime(allow_none=True, required=True, metadata={"description": "null: it never expires."})
    last_used_at = UtcDateTime(
        allow_none=True,
        required=True,
        metadata={"description": "When it was last used (recorded at most once a minute); null if never recorded."},
    )


class MeOut(StrictSchema):
    id = fields.Integer(required=True)
    email = fields.String(required=True)
    name = fields.String(required=True)
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    scope = fields.String(
        required=True,
        validate=validate.OneOf(TOKEN_SCOPES),
        metadata={
            "description": "What calls made this way may do now: the token's scope, capped by your role today "
            "(an admin-scope token of someone no longer an admin acts as write); with a browser session, the "
            "widest scope your role allows."
        },
    )
    token = fields.Nested(
        CallerTokenOut,
        allow_none=True,
        required=True,
        metadata={"description": "The token this call was made with; null when called with a browser session."},
    )


_ME_USER = {"id": 7, "email": "lee@example.com", "name": "Lee Okafor", "role": "lead", "scope": "write"}
ME_EXAMPLES = {
    "token": {
        "summary": "Called with a personal API token",
        "value": {
            **_ME_USER,
            "token": {
                "id": 12,
                "name": "pager bridge",
                "scope": "write",
                "created_at": "2026-11-30T08:15:00+00:00",
                "expires_at": "2026-12-30T08:15:00+00:00",
                "last_used_at": "2026-12-01T09:41:00+00:00",
            },
        },
    },
    "browser session": {
        "summary": "Called with the browser's session cookie and X-CSRFToken",
        "value": {**_ME_USER, "token": None},
    },
}


class UserCreate(StrictSchema):
    # The service checks each (the email and name as the columns hold them), in its own words.
    email = fields.String(required=True, metadata=max_length(EMAIL_MAX))
    name = fields.String(load_default="", metadata=max_length(NAME_MAX))
    role = fields.String(load_default="member", validate=validate.OneOf(ROLES))
    password = fields.String(required=True, load_only=True, metadata=max_length(MAX_PASSWORD_LENGTH))


class UserPatch(StrictSchema):
    role = fields.String(validate=validate.OneOf(ROLES))
    is_active = JsonBoolean()


EVIDENCE_STATES = [s.value for s in EvidenceState]


class EvidenceOut(StrictSchema):
    id = fields.Integer(required=True)
    name = fields.String(required=True, attribute="display_name", metadata={"description": "The cleaned file name."})
    size = fields.Integer(required=True, metadata={"description": "Bytes."})
    sha256 = fields.String(required=True)
    declared_type = fields.String(required=True, metadata={"description": "What the uploader claimed; not trusted."})
    detected_type = fields.String(
        allow_none=True, required=True, metadata={"description": "What the content is (libmagic); served on download."}
    )
    state = fields.String(
        required=True,
        validate=validate.OneOf(EVIDENCE_STATES),
        metadata={"description": "pending until the worker decides; only clean and not_scanned download."},
    )
    reason = fields.String(
        allow_none=True, required=True, metadata={"description": "Why infected, rejected or error (the virus name)."}
    )
    legal_hold = fields.Boolean(required=True)
    uploader = fields.Nested(UserRef, allow_none=True, required=True)
    created_at = UtcDateTime(required=True)
    processed_at = UtcDateTime(allow_none=True, required=True)
    download_url = fields.String(
        allow_none=True, required=True, metadata={"description": "Where to download it; null until it is downloadable."}
    )


class LegalHoldIn(StrictSchema):
    legal_hold = JsonBoolean(required=True, metadata={"description": "true puts every file on hold; false lifts it."})


class LegalHoldOut(StrictSchema):
    key = fields.String(required=True)
    legal_hold = fields.Boolean(required=True)
    changed = fields.Integer(required=True, metadata={"description": "How many files changed (0: already so)."})
    items = fields.List(fields.Nested(EvidenceOut), required=True)


# -- What the document says beyond bodies: headers, and the CSV export -------------------------


def _header(description: str, *, required: bool = True) -> dict:
    return {"description": description, "required": required, "schema": {"type": "string"}}


INCIDENT_ETAG = {"ETag": _header('The incident\'s version, `"v<version>"`: send it back in If-Match.')}
REPLAYABLE = {
    "Idempotent-Replayed": _header(
        f"`true` when an earlier request with this {idempotency.HEADER} made it: nothing new was made.",
        required=False,
    ),
}
CREATED_INCIDENT = {
    **INCIDENT_ETAG,
    "Location": _header("The new incident's URL."),
    **REPLAYABLE,
}
IDEMPOTENCY_KEY = {
    "in": "header",
    "name": idempotency.HEADER,
    "required": False,
    "description": "A value unique to this incident, such as a UUID: a repeat within "
    f"{idempotency.KEY_LIFETIME.total_seconds() / 3600:.0f} hours is answered 201 with the incident the "
    "first request filed, and files nothing new. The same key with other details is a 422.",
    "schema": {"type": "string", "minLength": 1, "maxLength": idempotency.KEY_MAX, "pattern": "^[!-~]+$"},
}
FOLLOW_UP_ETAG = {"ETag": _header('The follow-up\'s version, `"v<version>"`: send it back in If-Match.')}
CREATED_FOLLOW_UP = {**FOLLOW_UP_ETAG, "Location": _header("The new follow-up's URL."), **REPLAYABLE}
FOLLOW_UP_IF_MATCH = {
    "in": "header",
    "name": "If-Match",
    "required": False,
    "description": 'The follow-up\'s ETag as you read it (`"v<version>"`, its `version`): a 412 if it has '
    "changed since, instead of overwriting someone else's change. Without it, the change is made whatever "
    "the version.",
    "schema": {"type": "string"},
}
COMMENT_IDEMPOTENCY_KEY = {
    **IDEMPOTENCY_KEY,
    "description": "A value unique to this comment, such as a UUID: a repeat within "
    f"{idempotency.KEY_LIFETIME.total_seconds() / 3600:.0f} hours is answered 201 with the comment the "
    "first request posted, and posts nothing new. The same key with another body is a 422.",
}
FOLLOW_UP_IDEMPOTENCY_KEY = {
    **IDEMPOTENCY_KEY,
    "description": "A value unique to this follow-up, such as a UUID: a repeat within "
    f"{idempotency.KEY_LIFETIME.total_seconds() / 3600:.0f} hours is answered 201 with the follow-up the "
    "first request added (as it is now), and adds nothing new. The same key with other details is a 422.",
}
# GET /api/v1/me/follow-ups: JSON pages only.
PAGED_HEADERS = {"Link": _header('`<URL>; rel="next"`, the same as `next`; absent on the last page.', required=False)}
LISTED = "A page of incidents (JSON), or with `format=csv` the whole filtered list (CSV)."
LISTED_HEADERS = {
    "Link": _header('JSON: `<URL>; rel="next"`, the same as `next`; absent on the last page.', required=False),
    "Content-Disposition": _header(
        'CSV: `attachment; filename="incidents-2026-12-01.csv"` (the day it was made, UTC).', required=False
    ),
}
CSV_FILE = {"type": "string", "description": f"A header row, then one row per incident (the first {MAX_ROWS:,})."}


def _if_match(required: bool, description: str) -> dict:
    return {
        "in": "header",
        "name": "If-Match",
        "required": required,
        "description": description,
        "schema": {"type": "string"},
        "example": '"v7"',
    }


# views.py `_if_match`: required on PATCH (428 without it), optional on the single-purpose writes.
IF_MATCH_REQUIRED = _if_match(
    True,
    "The incident's ETag as last read (or `*` to write over whatever is current). Without it the "
    "edit is refused (428); when the incident changed since, 412.",
)
IF_MATCH = _if_match(
    False,
    "The incident's ETag as last read: the change is refused (412) if the incident changed since. "
    "Without it the change applies to the incident as it is now.",
)


# -- The audit log (GET /audit/events) --------------------------------------------------------


class AuditEventOut(EventOut):
    """An event of the whole trail: EventOut plus what it changed and its incident."""

    entity_type = fields.String(
        required=True, metadata={"description": f"What the event changed: {', '.join(audit_listing.ENTITY_TYPES)}."}
    )
    entity_id = fields.Integer(required=True)
    incident_id = fields.Integer(allow_none=True, required=True)
    incident = fields.String(
        allow_none=True,
        required=True,
        attribute="incident_key",
        metadata={"description": "The incident's key (INC-42), for the events of an incident and its evidence."},
    )


class AuditEventPage(StrictSchema):
    items = fields.List(fields.Nested(AuditEventOut), required=True)
    next = fields.String(
        allow_none=True, required=True, metadata={"description": "URL of the next (older) page; null on the last one."}
    )


class AuditListArgs(ExportArgs):
    exports = f"the newest {MAX_ROWS:,} matching events"
    comma_separated = frozenset({"action"})

    # Free text, checked by shared/audit/listing.py: a value that matches nothing known is a 400
    # naming the parameter, never an empty list an auditor would take for "it never happened".
    action = fields.String(
        load_default="",
        metadata={
            "description": "An action (`user.role_changed`), a family (`user.` or `user.*`: every user event), "
            f"or several, comma-separated. Families: {', '.join(audit_listing.FAMILIES)}. "
            + ANY_CASE.format(example="`USER.`", value="user.")
        },
    )
    actor = fields.String(
        load_default="",
        metadata={"description": "Events by this user (an email or a user id), or `system` (in any case)."},
    )
    entity_type = fields.String(
        load_default="",
        metadata={
            "description": f"What changed: {', '.join(audit_listing.ENTITY_TYPES)}. "
            + ANY_CASE.format(example="`INCIDENT`", value="incident")
        },
    )
    entity_id = fields.String(load_default="", metadata={"description": "Its id (with `entity_type`)."})
    incident = fields.String(
        load_default="", metadata={"description": "An incident's key (INC-42): its events, evidence included."}
    )
    from_ = fields.String(
        data_key="from",
        load_default="",
        metadata={
            "description": "From this date (2026-12-01) or time (2026-12-01T09:30), read in `tz` unless it names "
            "its offset (2026-12-01T09:30:00-08:00)."
        },
    )
    to = fields.String(
        load_default="", metadata={"description": "Up to this date (its whole day included) or time (included)."}
    )
    tz = fields.String(
        load_default="",
        metadata={
            "description": "The time zone `from` and `to` are read in, an IANA name (America/Los_Angeles); UTC "
            "without one. An unknown name is a 400 naming `tz`."
        },
    )
    limit = page_limit(default=50, maximum=audit_listing.MAX_LIMIT)
    cursor = fields.String(load_default=None, metadata={"description": "From the previous page's `next`."})
    format = AnyCase(
        FORMATS,
        load_default="json",
        validate=one_of("format", FORMATS),
        metadata={
            "description": f"csv: the newest {MAX_ROWS:,} matching events as a CSV file (formula-safe); not with "
            "limit or cursor, which page JSON (a 400). " + ANY_CASE.format(example="`CSV`", value="csv")
        },
    )


AUDIT_LISTED = (
    f"A page of audit events, newest first (JSON), or with `format=csv` the newest {MAX_ROWS:,} matching events (CSV)."
)
AUDIT_LISTED_HEADERS = {
    "Link": _header('JSON: `<URL>; rel="next"`, the same as `next`; absent on the last page.', required=False),
    "Content-Disposition": _header(
        'CSV: `attachment; filename="audit-events-2026-12-01.csv"` (the day it was made, UTC).', required=False
    ),
}
AUDIT_CSV_FILE = {
    "type": "string",
    "description": f"A header row, then one row per event, newest first (the first {MAX_ROWS:,}).",
}


# -- Insights (GET /insights) -----------------------------------------------------------------

INSIGHT_WINDOWS = list(insights.WINDOWS)
_WINDOW_CHOICES = f"{', '.join(str(days) for days in INSIGHT_WINDOWS[:-1])} or {INSIGHT_WINDOWS[-1]}"


class InsightsArgs(QueryArgs):
    comma_separated = frozenset({"env"})

    days = fields.Integer(
        load_default=insights.DEFAULT_WINDOW,
        validate=validate.OneOf(INSIGHT_WINDOWS, error=f"days must be {_WINDOW_CHOICES}."),
        error_messages={"invalid": f"days must be {_WINDOW_CHOICES}."},
        metadata={
            "enum": INSIGHT_WINDOWS,
            "description": "The window: incidents filed in the last this many days, today included "
            f"(the default {insights.DEFAULT_WINDOW}), as on the /insights page.",
        },
    )
    env = fields.String(
        load_default="",
        metadata={
            "description": f"Only incidents in these environments (comma-separated: {', '.join(ENVIRONMENT_NAMES)}; "
            "any case); all without it. An incident counts in the environment it is in now."
        },
    )
    tz = fields.String(
        load_default="",
        metadata={
            "description": "The time zone whose days the window and `open_over_time` count, an IANA name "
            "(America/Los_Angeles); UTC without one. An unknown name is a 400 naming `tz`."
        },
    )


class _TimingFields(StrictSchema):
    filed = fields.Integer(required=True, metadata={"description": "Incidents filed in the window."})
    acknowledged = fields.Integer(
        required=True, metadata={"description": "Of those, how many were moved to In Progress (acknowledged)."}
    )
    mtta_seconds = fields.Float(
        allow_none=True,
        required=True,
        attribute="mtta",
        metadata={"description": "Mean time from filing to the first move to In Progress; null when none was."},
    )
    resolved = fields.Integer(required=True, metadata={"description": "Of those filed, how many are resolved."})
    mttr_seconds = fields.Float(
        allow_none=True,
        required=True,
        attribute="mttr",
        metadata={"description": "Mean time from filing to Resolved; null when none was."},
    )


class PriorityTimingOut(_TimingFields):
    priority = fields.String(required=True, attribute="group", validate=validate.OneOf(PRIORITIES))


class ComponentTimingOut(_TimingFields):
    component = fields.String(
        allow_none=True, required=True, attribute="group", metadata={"description": "null: incidents with none."}
    )


class OpenCountOut(StrictSchema):
    day = fields.Date(required=True)
    open = fields.Integer(
        required=True, metadata={"description": "Incidents open (Open, In Progress, Blocked) at the end of the day."}
    )


class InsightsOut(StrictSchema):
    days = fields.Integer(required=True, validate=validate.OneOf(INSIGHT_WINDOWS))
    zone = fields.String(required=True, metadata={"description": 'The days\' time zone: "UTC" or its IANA name.'})
    environments = fields.List(
        fields.String(validate=validate.OneOf(ENVIRONMENT_NAMES)),
        required=True,
        metadata={"description": "The environments counted; empty for all."},
    )
    first_day = fields.Date(required=True)
    last_day = fields.Date(required=True, metadata={"description": "Today, in `zone`."})
    open_now = fields.Integer(required=True, metadata={"description": "Open, In Progress or Blocked now."})
    by_priority = fields.List(fields.Nested(PriorityTimingOut), required=True, metadata={"description": "P1 to P4."})
    by_component = fields.List(
        fields.Nested(ComponentTimingOut),
        required=True,
        metadata={"description": f"Most incidents filed first, at most {insights.LISTED_COMPONENTS}."},
    )
    components = fields.Integer(
        required=True, metadata={"description": "How many components had incidents filed, listed or not."}
    )
    open_over_time = fields.List(
        fields.Nested(OpenCountOut), required=True, metadata={"description": "Each day of the window, oldest first."}
    )
