"""One verdict for one file: hash, type check, virus scan and thumbnail, composed.

`inspect_file` is what the evidence pipeline task calls after spooling the object to a local
temporary file; it touches neither the database nor storage. Precedence of the outcomes,
strongest first:

1. infected   clamd found a signature (reported even when the type is wrong too, so the
              timeline names the virus);
2. rejected   the type is not allowed or does not match the extension, the file is beyond
              clamd's limits, or an image cannot be thumbnailed safely (bomb, corrupt);
3. error      clamd unreachable or failing: `retryable`, the task retries with backoff;
4. clean, or not-scanned where scanning is switched off.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from shared.evidence import tags
from worker.processing import scanner as scan_verdicts
from worker.processing.filetype import check_file_type
from worker.processing.scanner import ClamdScanner
from worker.processing.thumbnails import ImageRejected, make_thumbnail

_BLOCK = 1024 * 1024


@dataclass(frozen=True)
class Inspection:
    status: str  # one of shared.evidence.tags.SCAN_STATUS_VALUES
    reason: str  # for the evidence page and the timeline ("" when clean)
    sha256: str
    size: int
    detected_mime: str  # what libmagic says
    serve_as: str  # Content-Type of a download (only clean / not-scanned files are served)
    signature: str = ""  # the virus (or the clamd limit) that decided it
    thumbnail: bytes | None = None  # WebP, for clean (or unscanned) images
    retryable: bool = False  # an error worth retrying (clamd down, timeout)

    @property
    def downloadable(self) -> bool:
        return self.status in (tags.SCAN_CLEAN, tags.SCAN_NOT_SCANNED)


def sha256_of(path: Path | str) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with Path(path).open("rb") as handle:
        while block := handle.read(_BLOCK):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def inspect_file(path: Path | str, display_name: str, *, scanner: ClamdScanner | None) -> Inspection:
    """The verdict on the file at `path` uploaded as `display_name`; scanner None = scanning off."""
    path = Path(path)
    sha256, size = sha256_of(path)
    type_check = check_file_type(path, display_name)
    serve_as = type_check.kind.serve_as if type_check.kind else "application/octet-stream"

    def verdict(status: str, reason: str = "", **extra) -> Inspection:
        return Inspection(status, reason, sha256, size, type_check.mime, serve_as, **extra)

    scan = None
    if scanner is not None:
        with path.open("rb") as handle:
            scan = scanner.scan(handle)
        if scan.verdict == scan_verdicts.INFECTED:
            return verdict(tags.SCAN_INFECTED, f"virus found: {scan.signature}", signature=scan.signature)
    if not type_check.accepted:
        return verdict(tags.SCAN_REJECTED, type_check.reason)
    if scan is not None and scan.verdict == scan_verdicts.TOO_BIG:
        return verdict(tags.SCAN_REJECTED, scan.detail, signature=scan.signature)
    if scan is not None and not scan.is_clean:
        return verdict(tags.SCAN_ERROR, scan.detail, retryable=True)
    thumbnail = None
    if type_check.kind and type_check.kind.pillow_format:
        try:
            thumbnail = make_thumbnail(path, type_check.kind.pillow_format)
        except ImageRejected as error:
            return verdict(tags.SCAN_REJECTED, str(error))
    return verdict(tags.SCAN_CLEAN if scanner is not None else tags.SCAN_NOT_SCANNED, thumbnail=thumbnail)
