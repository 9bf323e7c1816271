"""/api/v1 evidence: upload (streamed, like the page's upload), list, metadata, download (clean
files only), legal hold and retry, through shared/evidence/service.py and the same policy.

The upload never holds a file in memory or on the web task's disk: the multipart body is read
part by part straight into storage (web/evidence/multipart.py), and the size limit is answered
413 from Content-Length before a byte of the body is read."""

from __future__ import annotations

import logging

from flask import current_app, request, url_for
from flask_smorest import Blueprint

from shared.accounts.models import TokenScope
from shared.evidence import service as evidence_service
from shared.evidence import tags
from shared.evidence.names import safe_display_name
from shared.evidence.storage import StorageError, TooLarge, new_key
from shared.incidents import service as incidents
from web.api import schemas
from web.api.auth import authenticate, needs
from web.api.problems import ApiProblem
from web.api.views import _errors
from web.db import get_session
from web.evidence.multipart import MultipartReader
from web.evidence.views import MULTIPART_SLACK, _file_too_large, _upload_too_large, download_response, storage
from web.input_guard import streams_body

log = logging.getLogger(__name__)
READ, WRITE = TokenScope.READ, TokenScope.WRITE
FILE_FIELD = "file"

evidence_bp = Blueprint("api_evidence", __name__, url_prefix="/api/v1", description="Evidence")
BLUEPRINTS = (evidence_bp,)

_UPLOAD_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": [FILE_FIELD],
                "properties": {
                    FILE_FIELD: {
                        "description": "The file. Repeat the field to attach several; each is its own evidence.",
                        "type": "string",
                        "format": "binary",
                    }
                },
            },
            "encoding": {FILE_FIELD: {"contentType": "application/octet-stream"}},
        }
    },
}
_FILE_RESPONSE = {
    "description": "The file's bytes (local storage), with its original name in Content-Disposition.",
    "headers": {"Content-Disposition": {"required": True, "schema": {"type": "string"}}},
    # Served as the type its content was found to be (any type), or application/octet-stream.
    "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
}
_REDIRECT_RESPONSE = {
    "description": "S3 storage: a short-lived presigned URL in Location that serves the file.",
    "headers": {"Location": {"required": True, "schema": {"type": "string", "format": "uri"}}},
}


_SHOWN = (
    "id",
    "display_name",
    "size",
    "sha256",
    "declared_type",
    "detected_type",
    "state",
    "reason",
    "legal_hold",
    "uploader",
    "created_at",
    "processed_at",
)


def _as_out(item, key: str | None) -> dict:  # an incident read back always has its key
    """The evidence row as the API shows it, with where to download it once it may be."""
    download_url = (
        url_for("api_evidence.download", key=key, evidence_id=item.id, _external=True) if item.downloadable else None
    )
    return {**{name: getattr(item, name) for name in _SHOWN}, "download_url": download_url}


def _too_large(message: str) -> ApiProblem:
    return ApiProblem(413, message, errors={FILE_FIELD: [message]})


def _no_file() -> ApiProblem:
    message = "Send at least one file in the `file` field (curl -F file=@path)."
    return ApiProblem(422, "The request carried no file; nothing was stored.", errors={FILE_FIELD: [message]})


@evidence_bp.route("/incidents/<key>/evidence", methods=["POST"])
@streams_body
@needs(WRITE)
@evidence_bp.doc(
    requestBody=_UPLOAD_BODY,
    description="Attach files. Each starts `pending` and the worker decides `clean`, `infected`, `rejected` "
    "or `error`; poll its metadata. The body is limited to the server's UPLOAD_MAX_BYTES (413), and a "
    "refused upload keeps none of its files.",
)
@evidence_bp.response(201, schemas.EvidenceOut(many=True))
@_errors(404, 413, 415, 422, 503)
def upload(key):
    """Attach files to an incident"""
    caller = authenticate()
    settings = current_app.config["SETTINGS"]
    session = get_session()
    incident = incidents.get_incident(session=session, ref=key)
    evidence_service.check_can_attach(session=session, incident_id=incident.id, actor=caller.user)
    if request.mimetype != "multipart/form-data":
        raise ApiProblem(415, "Send the file as multipart/form-data, in a field named `file`.")
    boundary = request.mimetype_params.get("boundary")
    if not boundary:
        raise ApiProblem(400, "The multipart/form-data Content-Type has no boundary.")
    limit = settings.upload_max_bytes
    if request.content_length is not None and request.content_length > limit + MULTIPART_SLACK:
        raise _too_large(_upload_too_large(limit, request.content_length))
    # This request's own limit (the app's is 2 MiB); each file is also stopped at `limit` as it streams.
    request.max_content_length = limit + MULTIPART_SLACK
    created = []
    try:
        for part in MultipartReader(request.stream, boundary.encode("latin-1")).parts():
            if part[0] == "field":
                if part[1] == FILE_FIELD:
                    raise ApiProblem(
                        422,
                        "The `file` field came as text, not as a file.",
                        errors={FILE_FIELD: ["Send it as a file part with a filename (curl -F file=@path)."]},
                    )
                continue
            file_part = part[1]
            if file_part.name != FILE_FIELD or not file_part.filename:
                continue  # another field, or a form's file input left empty (as the page skips it)
            created.append(_store_one(session, incident, caller.user, file_part, limit))
        if not created:
            raise _no_file()
        session.commit()  # the outbox relay publishes each file's pipeline task right after this commit
    except BaseException:
        _forget(session, created)
        raise
    return [_as_out(item, incident.key) for item in created], 201


def _store_one(session, incident, actor, file_part, limit: int):
    object_key = new_key(tags.PREFIX_INCOMING)
    try:
        stored = storage().put(object_key, file_part.stream, max_bytes=limit)
    except TooLarge:
        raise _too_large(_file_too_large(safe_display_name(file_part.filename), limit)) from None
    except StorageError as error:
        log.error("evidence upload to storage failed: %s", error)
        message = "The file store is not reachable. Nothing was stored; try again in a minute."
        raise ApiProblem(503, message, headers={"Retry-After": "60"}) from None
    try:
        return evidence_service.attach(
            session=session,
            incident_id=incident.id,
            actor=actor,
            stored=stored,
            file_name=file_part.filename,
            declared_type=file_part.content_type,
        )
    except BaseException:
        storage().delete(object_key)
        raise


def _forget(session, created) -> None:
    """A refused upload leaves nothing: no rows (rolled back) and no objects without their row."""
    session.rollback()
    for item in created:
        storage().delete(item.storage_key)


@evidence_bp.route("/incidents/<key>/evidence", methods=["GET"])
@needs(READ)
@evidence_bp.response(200, schemas.EvidenceOut(many=True))
@_errors(404)
def list_evidence(key):
    """List an incident's files"""
    session = get_session()
    incident = incidents.get_incident(session=session, ref=key)
    items = evidence_service.list_for_incident(session=session, incident_id=incident.id)
    return [_as_out(item, incident.key) for item in items]


@evidence_bp.route("/incidents/<key>/evidence/<int:evidence_id>", methods=["GET"])
@needs(READ)
@evidence_bp.response(200, schemas.EvidenceOut)
@_errors(404)
def get_evidence(key, evidence_id):
    """Get a file's metadata"""
    session = get_session()
    incident = incidents.get_incident(session=session, ref=key)
    item = evidence_service.get_evidence(session=session, evidence_id=evidence_id, incident_id=incident.id)
    return _as_out(item, incident.key)


@evidence_bp.route("/incidents/<key>/evidence/<int:evidence_id>/download", methods=["GET"])
@needs(READ)
@evidence_bp.doc(
    responses={"200": _FILE_RESPONSE, "303": _REDIRECT_RESPONSE},
    description="Clean (or deliberately unscanned) files only: 409 while the file is being checked, "
    "403 with the reason (the virus name) when it was found infected or rejected. Each download is "
    "recorded on the incident's audit trail.",
)
@_errors(404, 409)
def download(key, evidence_id):
    """Download a file"""
    caller = authenticate()
    session = get_session()
    incident = incidents.get_incident(session=session, ref=key)
    return download_response(session, incident, evidence_id, caller.user)


@evidence_bp.route("/incidents/<key>/evidence/legal-hold", methods=["POST"])
@needs(WRITE)
@evidence_bp.arguments(schemas.LegalHoldIn)
@evidence_bp.response(200, schemas.LegalHoldOut)
@evidence_bp.doc(description="Leads and admins. Files uploaded later join a hold that is on.")
@_errors(404, 415, 422)
def legal_hold(body, key):
    """Put an incident's files on legal hold, or lift it"""
    caller = authenticate()
    session = get_session()
    incident = incidents.get_incident(session=session, ref=key)
    changed = evidence_service.set_legal_hold(
        session=session, incident_id=incident.id, actor=caller.user, on=body["legal_hold"]
    )
    session.commit()
    items = evidence_service.list_for_incident(session=session, incident_id=incident.id)
    return {
        "key": incident.key,
        "legal_hold": body["legal_hold"],
        "changed": len(changed),
        "items": [_as_out(item, incident.key) for item in items],
    }


@evidence_bp.route("/incidents/<key>/evidence/<int:evidence_id>/retry", methods=["POST"])
@needs(WRITE)
@evidence_bp.response(200, schemas.EvidenceOut)
@evidence_bp.doc(description="Leads: run the checks again on a file that ended in `error` (409 for any other state).")
@_errors(404, 409)
def retry(key, evidence_id):
    """Check a file again"""
    caller = authenticate()
    session = get_session()
    incident = incidents.get_incident(session=session, ref=key)
    item = evidence_service.retry(session=session, evidence_id=evidence_id, actor=caller.user, incident_id=incident.id)
    session.commit()
    return _as_out(item, incident.key)
