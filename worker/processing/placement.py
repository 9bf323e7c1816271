"""Moving and tagging evidence objects after a verdict, and re-tagging them later.

The worker role is the only writer of object tags and of S3 Object Lock legal holds (the
bucket policy denies everyone else), so every tag write and every hold change lives here.
Each function is safe to repeat: a redelivered task that finds the object already moved only
(re)writes the tags, merged with what is there, and sets the hold again.

Legal hold: the `legal-hold` tag steers the lifecycle rules; where the bucket has Object Lock
(prod) the object's versions also get a real legal hold (`Storage.set_legal_hold`), which no
delete and no lifecycle rule can remove. Both follow the evidence rows' `legal_hold`, on every
object the tag is written to.

Layout (prefixes from shared/evidence/tags.py, the same UUID under each):
    incoming/<id>     written by the web app, never served
    evidence/<id>     clean or deliberately unscanned, tagged scan-status + retention + legal-hold
    quarantine/<id>   infected or rejected: never served, expires fast (lifecycle rule)
    thumbnails/<id>   WebP thumbnail of a clean image, tagged like its evidence
An `error` verdict leaves the object in incoming/ (tagged), so a lead's retry can run again.
"""

from __future__ import annotations

import contextlib
import io
import tempfile
from dataclasses import dataclass
from pathlib import Path

from shared.evidence import tags
from shared.evidence.storage import ObjectNotFound, Storage, rekey
from worker.processing.inspect import Inspection


@dataclass(frozen=True)
class Placement:
    key: str  # where the object is now
    thumbnail_key: str | None = None


def object_tags(status: str, *, closed: bool, legal_hold: bool) -> dict[str, str]:
    """The full tag set an evidence object carries: scan status, retention class, legal hold."""
    if status not in tags.SCAN_STATUS_VALUES:
        raise ValueError(f"unknown scan status {status!r}")
    return {
        tags.TAG_SCAN_STATUS: status,
        tags.TAG_RETENTION: tags.RETENTION_CLOSED if closed else tags.RETENTION_ACTIVE,
        # Always written, "false" included: lifecycle filters cannot match an absent tag.
        tags.TAG_LEGAL_HOLD: tags.LEGAL_HOLD_ON if legal_hold else tags.LEGAL_HOLD_OFF,
    }


def spool(storage: Storage, key: str, directory: Path | str | None = None) -> Path:
    """Copy the object to a local temporary file (the caller deletes it); streamed, not buffered."""
    handle = tempfile.NamedTemporaryFile(dir=directory, prefix="evidence-", delete=False)  # noqa: SIM115
    try:
        with handle:
            for chunk in storage.iter_chunks(key):
                handle.write(chunk)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise
    return Path(handle.name)


def locate(storage: Storage, incoming_key: str) -> str:
    """Where the object uploaded as `incoming_key` is now: a redelivered task whose earlier
    delivery moved it but crashed before recording the verdict finds it again here."""
    for prefix in (tags.PREFIX_INCOMING, tags.PREFIX_EVIDENCE, tags.PREFIX_QUARANTINE):
        key = rekey(incoming_key, prefix)
        if storage.exists(key):
            return key
    raise ObjectNotFound(incoming_key)


def place(storage: Storage, incoming_key: str, inspection: Inspection, *, closed: bool, legal_hold: bool) -> Placement:
    """Move the uploaded object where its verdict sends it, tagged and held like its incident's
    evidence; store its thumbnail, the same."""
    object_tag_set = object_tags(inspection.status, closed=closed, legal_hold=legal_hold)
    if inspection.status == tags.SCAN_ERROR:
        storage.put_tags(incoming_key, object_tag_set)
        storage.set_legal_hold(incoming_key, legal_hold)
        return Placement(incoming_key)
    prefix = tags.PREFIX_EVIDENCE if inspection.downloadable else tags.PREFIX_QUARANTINE
    final_key = rekey(incoming_key, prefix)
    try:
        storage.move(incoming_key, final_key, tags=object_tag_set)
    except ObjectNotFound:
        # Moved by an earlier delivery of the same task: make sure the tags are complete.
        storage.put_tags(final_key, object_tag_set)
    # Set, or cleared, every time: an earlier delivery may have held it under an older answer.
    storage.set_legal_hold(final_key, legal_hold)
    # The upload may have been held where it was (a retag while it was pending, or an `error`
    # verdict on hold before a lead's retry); on a versioned bucket the move left that version
    # under a delete marker, where nothing else would ever lift the hold. The moved copy carries
    # the incident's hold now; the upload's version expires like any other noncurrent version.
    with contextlib.suppress(ObjectNotFound):
        storage.set_legal_hold(incoming_key, False)
    thumbnail_key = None
    if inspection.thumbnail and inspection.downloadable:
        thumbnail_key = rekey(incoming_key, tags.PREFIX_THUMBNAILS)
        storage.put(thumbnail_key, io.BytesIO(inspection.thumbnail), content_type="image/webp", tags=object_tag_set)
        storage.set_legal_hold(thumbnail_key, legal_hold)
    return Placement(final_key, thumbnail_key)


def retag(storage: Storage, keys: list[str], *, closed: bool, legal_hold: bool) -> None:
    """Rewrite retention and legal-hold on an incident's objects (close, reopen, hold changes),
    and set or lift their Object Lock legal hold.

    The scan-status tag is kept as it is: merging, never replacing the whole set. The hold
    changes before the tag, both ways: in between, the hold (being set) or the tag still saying
    "true" (being lifted) keeps the object, and a repeated task finishes the job."""
    updates = {
        tags.TAG_RETENTION: tags.RETENTION_CLOSED if closed else tags.RETENTION_ACTIVE,
        tags.TAG_LEGAL_HOLD: tags.LEGAL_HOLD_ON if legal_hold else tags.LEGAL_HOLD_OFF,
    }
    for key in keys:
        storage.set_legal_hold(key, legal_hold)
        storage.put_tags(key, updates)
