"""Evidence on the incident page: upload (streamed to storage), the list fragment the page
polls while files are being checked, downloads, thumbnails, legal hold and retry.

The web app never reads an uploaded file's contents: it streams the bytes to an `incoming/`
key (hashing and counting on the way), records the row, and the worker does the rest.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from flask_wtf.csrf import CSRFError, validate_csrf
from werkzeug.exceptions import RequestEntityTooLarge
from wtforms import ValidationError

from shared.evidence import service as evidence_service
from shared.evidence import tags
from shared.evidence.models import EvidenceState
from shared.evidence.names import content_disposition, safe_display_name
from shared.evidence.storage import StorageError, StorageFull, StoredObject, TooLarge, make_storage, new_key
from shared.incidents import service as incidents
from web.db import get_session
from web.evidence.multipart import MultipartReader, RequestBody
from web.extensions import csrf
from web.input_guard import streams_body

log = logging.getLogger(__name__)
bp = Blueprint("evidence", __name__)

# Room for the multipart framing around one file of UPLOAD_MAX_BYTES (boundaries, headers,
# the CSRF field): a Content-Length beyond limit + this is refused before a byte is read.
MULTIPART_SLACK = 64 * 1024
# How often the page asks for the list while a file is pending (see _list.html for why polling).
POLL_SECONDS = 2


def storage():
    if "evidence_storage" not in current_app.extensions:
        current_app.extensions["evidence_storage"] = make_storage(current_app.config["SETTINGS"])
    return current_app.extensions["evidence_storage"]


def _human_size(size: int) -> str:
    value = float(size)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{int(value)} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} bytes"


def list_context(session, incident) -> dict:
    items = evidence_service.list_for_incident(session=session, incident_id=incident.id)
    return dict(
        incident=incident,
        evidence=items,
        any_pending=any(item.state == EvidenceState.PENDING for item in items),
        on_hold=any(item.legal_hold for item in items),
        poll_seconds=POLL_SECONDS,
        human_size=_human_size,
        upload_max=_human_size(current_app.config["SETTINGS"].upload_max_bytes),
    )


def _wants_fragment() -> bool:
    return request.headers.get("HX-Request") == "true"


def _list_response(session, incident, status: int = 200, *, message: str | None = None):
    return render_template("evidence/_list.html", message=message, **list_context(session, incident)), status


def _file_too_large(name: str, limit: int) -> str:
    return f"“{name}” is larger than the upload limit of {_human_size(limit)} per file. Nothing was stored."


def _upload_too_large(limit: int, size: int | None = None) -> str:
    """The request as a whole is over the limit: from its Content-Length (before a byte is
    read, so which file it is stays unknown) or, without one, once it passes the limit. The
    limit is then the request's, whether it carries one file or several."""
    this = f"This upload is {_human_size(size)}, over" if size is not None else "This upload is over"
    return (
        f"{this} the upload limit of {_human_size(limit)} for one file or for several sent together. "
        "Nothing was stored."
    )


class _Refused(Exception):
    """An upload refused with a message for the person; none of its files is kept."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class _Received:
    stored: StoredObject
    file_name: str
    content_type: str


@bp.post("/incidents/<key>/evidence")
@csrf.exempt  # checked below from the header or the first form field: CSRFProtect would parse the body
@streams_body
@login_required
def upload(key: str):
    """Attach the files of one form post, all or none (as the API does): a refused file, or a
    request over the limit, leaves nothing of the upload behind, so "Nothing was stored" holds
    and sending the same files again makes no duplicates."""
    settings = current_app.config["SETTINGS"]
    session = get_session()
    incident = incidents.get_incident(session=session, ref=key)
    evidence_service.check_can_attach(session=session, incident_id=incident.id, actor=current_user.user)
    if request.mimetype != "multipart/form-data" or not request.mimetype_params.get("boundary"):
        abort(400)
    limit = settings.upload_max_bytes
    if request.content_length is not None and request.content_length > limit + MULTIPART_SLACK:
        return _refuse(session, incident, 413, _upload_too_large(limit, request.content_length))
    # This request's own limit instead of the app's 2 MiB; each file is also stopped at `limit`
    # while it streams, leaving nothing behind.
    body = RequestBody.of(request.environ, request.content_length, limit + MULTIPART_SLACK)
    buffered = getattr(request, "_cached_data", None)
    if buffered:
        # A hook read the body before this view (it is then in werkzeug's cache, and the raw
        # stream is spent): read the upload from that copy instead of finding no file in it.
        log.warning("evidence upload body was read before the upload view (%d bytes buffered)", len(buffered))
        body = RequestBody(io.BytesIO(buffered), len(buffered), refuse_beyond=False)
    # CSRF as CSRFProtect would check it (off in some tests), from the X-CSRFToken header or
    # the form's first field, without parsing the body first.
    token_checked = not current_app.config["WTF_CSRF_ENABLED"]
    if not token_checked and request.headers.get("X-CSRFToken"):
        _check_csrf(request.headers["X-CSRFToken"])
        token_checked = True
    reader = MultipartReader(body, request.mimetype_params["boundary"].encode("latin-1"))
    received: list[_Received] = []
    try:
        _receive(reader, received, limit=limit, token_checked=token_checked)
        if not received:
            return _refuse(session, incident, 400, "Choose a file to attach.")
        # Every file is in storage: the rows go in together, in one short transaction (none is
        # held open while the next file streams). The outbox relay publishes the pipeline tasks
        # right after this commit.
        for item in received:
            evidence_service.attach(
                session=session,
                incident_id=incident.id,
                actor=current_user.user,
                stored=item.stored,
                file_name=item.file_name,
                declared_type=item.content_type,
            )
        session.commit()
    except _Refused as refused:
        _forget(session, received)
        _discard_rest(body)
        return _refuse(session, incident, refused.status, refused.message)
    except BaseException:
        _forget(session, received)  # no orphan object without its row
        raise
    if _wants_fragment():
        return _list_response(session, incident, 201)
    return redirect(url_for("incidents.detail", key=incident.key, _anchor="evidence-heading"))


def _receive(reader: MultipartReader, received: list[_Received], *, limit: int, token_checked: bool) -> None:
    """Stream each file part to its own `incoming/` key, appending it to `received` as it is
    stored (so the caller can delete them all when a later one is refused)."""
    try:
        for part in reader.parts():
            if part[0] == "field":
                if part[1] == "csrf_token" and not token_checked:
                    _check_csrf(part[2])
                    token_checked = True
                continue
            file_part = part[1]
            if not token_checked:
                abort(400, description="The form is missing its security token. Reload the page and try again.")
            if not file_part.filename:
                continue
            object_key = new_key(tags.PREFIX_INCOMING)
            try:
                stored = storage().put(object_key, file_part.stream, max_bytes=limit)
            except TooLarge:
                raise _Refused(413, _file_too_large(safe_display_name(file_part.filename), limit)) from None
            received.append(_Received(stored, file_part.filename, file_part.content_type))
    except RequestEntityTooLarge:  # a body without a Content-Length that went on past the limit
        raise _Refused(413, _upload_too_large(limit)) from None
    except StorageFull as error:
        log.error("evidence upload refused: %s", error)
        message = "The file store is full, so nothing was stored. Try again later or tell an admin."
        raise _Refused(507, message) from None
    except StorageError as error:
        log.error("evidence upload to storage failed: %s", error)
        raise _Refused(503, "The file store is not reachable, so nothing was stored. Try again in a minute.") from None


def _forget(session, received: list[_Received]) -> None:
    """A refused upload leaves nothing: no rows (rolled back) and no objects without a row.
    An object whose delete fails too is left to the orphan sweep (shared/evidence/orphans.py)."""
    session.rollback()
    for item in received:
        try:
            storage().delete(item.stored.key)
        except StorageError as error:
            log.error("could not delete %s of a refused upload (the orphan sweep will): %s", item.stored.key, error)


def _discard_rest(stream) -> None:
    """Read what the client is still sending (at most the upload limit) before answering.

    A server that answers mid-upload and closes the connection makes most clients report a
    reset instead of the message (found by `make faults`: "disk full" reached the browser as a
    dropped connection). `stream` is the upload's own RequestBody: werkzeug's `request.stream`
    is bounded by the app's small MAX_CONTENT_LENGTH and would answer 413 instead."""
    try:
        while stream.read(1024 * 1024):
            pass
    except RequestEntityTooLarge:  # a body without a length that goes on past the limit
        pass


def _check_csrf(token: str) -> None:
    try:
        validate_csrf(token)
    except ValidationError as error:
        raise CSRFError(str(error)) from None


def _refuse(session, incident, status: int, message: str):
    if _wants_fragment():
        return _list_response(session, incident, status, message=message)
    return render_template("error.html", message=message, status=status), status


@bp.get("/incidents/<key>/evidence")
@login_required
def evidence_list(key: str):
    """The list fragment (htmx polls it while a file is pending); a full page without htmx."""
    session = get_session()
    incident = incidents.get_incident(session=session, ref=key)
    if not _wants_fragment():
        return redirect(url_for("incidents.detail", key=incident.key, _anchor="evidence-heading"))
    return _list_response(session, incident)


@bp.get("/incidents/<key>/evidence/<int:evidence_id>/download")
@login_required
def download(key: str, evidence_id: int):
    session = get_session()
    incident = incidents.get_incident(session=session, ref=key)
    return download_response(session, incident, evidence_id, current_user.user)


def download_response(session, incident, evidence_id: int, actor) -> ResponseReturnValue:
    """A file's download (the page's and the API's): on the timeline before a byte leaves, as a
    link to S3 (303) or streamed. HEAD (flask answers it with GET's view) is no download: its
    headers only, not on the timeline, and never a link, which would download without a trace."""
    head = request.method == "HEAD"
    item = evidence_service.authorize_download(
        session=session, evidence_id=evidence_id, actor=actor, incident_id=incident.id, record=not head
    )
    name, object_key = item.display_name, item.storage_key
    content_type = item.detected_type or "application/octet-stream"
    session.commit()
    store = storage()
    if store.supports_presigned_urls and not head:
        ttl = current_app.config["SETTINGS"].presigned_url_ttl_seconds
        url = store.presigned_get_url(object_key, filename=name, content_type=content_type, expires_in=ttl)
        response = redirect(url, code=303)
        response.headers["Cache-Control"] = "no-store"
        return response
    return _stream(store, object_key, content_type, name)


def _stream(store, object_key: str, content_type: str, name: str) -> Response:
    response = Response(stream_with_context(store.iter_chunks(object_key)), mimetype=content_type)
    response.headers["Content-Disposition"] = content_disposition(name)
    response.headers["Content-Length"] = str(store.size(object_key))
    response.headers["X-Content-Type-Options"] = "nosniff"
    # Opened in a tab anyway, the file runs in a sandbox: no scripts, no same-origin access.
    response.headers["Content-Security-Policy"] = "sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/incidents/<key>/evidence/<int:evidence_id>/thumbnail")
@login_required
def thumbnail(key: str, evidence_id: int):
    session = get_session()
    incident = incidents.get_incident(session=session, ref=key)
    item = evidence_service.get_evidence(session=session, evidence_id=evidence_id, incident_id=incident.id)
    if not item.downloadable or not item.thumbnail_key:
        abort(404)
    response = Response(storage().iter_chunks(item.thumbnail_key), mimetype="image/webp")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "sandbox"
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


@bp.post("/incidents/<key>/evidence/legal-hold")
@login_required
def legal_hold(key: str):
    session = get_session()
    incident = incidents.get_incident(session=session, ref=key)
    evidence_service.set_legal_hold(
        session=session, incident_id=incident.id, actor=current_user.user, on=request.form.get("on") == "1"
    )
    session.commit()
    if _wants_fragment():
        return _list_response(session, incident)
    return redirect(url_for("incidents.detail", key=incident.key, _anchor="evidence-heading"))


@bp.post("/incidents/<key>/evidence/<int:evidence_id>/retry")
@login_required
def retry(key: str, evidence_id: int):
    session = get_session()
    incident = incidents.get_incident(session=session, ref=key)
    evidence_service.retry(session=session, evidence_id=evidence_id, actor=current_user.user, incident_id=incident.id)
    session.commit()
    if _wants_fragment():
        return _list_response(session, incident)
    return redirect(url_for("incidents.detail", key=incident.key, _anchor="evidence-heading"))
