"""The pipeline's pieces end to end, without a database: an object in incoming/ on a real S3
endpoint (moto server) -> spooled -> inspected with a real clamd -> moved and tagged."""

from __future__ import annotations

import io
import os
import time

import pytest
from PIL import Image
from samples import EICAR, gif_js_polyglot, image_bytes, minimal_pe, png_bomb
from servers import S3_TEST_BUCKET, free_port

from shared.evidence import tags
from shared.evidence.storage import LocalStorage, ObjectNotFound, S3Storage, new_key, rekey
from worker.processing.inspect import inspect_file
from worker.processing.placement import locate, object_tags, place, retag, spool
from worker.processing.scanner import ClamdScanner

ELF = open("/bin/true", "rb").read()  # noqa: SIM115 - read once at import


@pytest.fixture(params=["s3", "local"])
def storage(request, tmp_path):
    if request.param == "local":
        return LocalStorage(tmp_path / "evidence")
    endpoint = request.getfixturevalue("s3_endpoint")
    return S3Storage(bucket=S3_TEST_BUCKET, key_prefix=f"p-{os.urandom(4).hex()}/", endpoint_url=endpoint)


@pytest.fixture
def scanner(clamd_address):
    return ClamdScanner(clamd_address, timeout=30)


@pytest.fixture
def process(storage, scanner, tmp_path):
    """Upload `data` as the web app would (incoming/, no tags), then run the pipeline's pieces."""

    def run(name: str, data: bytes, *, scanning: bool = True, closed: bool = False, legal_hold: bool = False):
        key = new_key(tags.PREFIX_INCOMING)
        storage.put(key, io.BytesIO(data), content_type="application/octet-stream")
        path = spool(storage, key, tmp_path)
        try:
            inspection = inspect_file(path, name, scanner=scanner if scanning else None)
        finally:
            path.unlink()
        placement = place(storage, key, inspection, closed=closed, legal_hold=legal_hold)
        return key, inspection, placement

    return run


def test_png_is_clean_with_a_thumbnail_and_all_three_tags(storage, process):
    key, inspection, placement = process("screenshot.png", image_bytes("PNG", (1200, 800), exif=True))
    assert (inspection.status, inspection.reason, inspection.serve_as) == ("clean", "", "image/png")
    assert placement.key == rekey(key, tags.PREFIX_EVIDENCE)
    assert not storage.exists(key)
    expected = {tags.TAG_SCAN_STATUS: "clean", tags.TAG_RETENTION: "active", tags.TAG_LEGAL_HOLD: "false"}
    assert storage.get_tags(placement.key) == expected
    assert storage.get_tags(placement.thumbnail_key) == expected  # the bucket policy serves only clean objects
    thumbnail = b"".join(storage.iter_chunks(placement.thumbnail_key))
    with Image.open(io.BytesIO(thumbnail)) as image:
        assert image.format == "WEBP"
        assert max(image.size) <= 320
        assert not image.getexif()


def test_eicar_as_text_is_infected_and_quarantined(storage, process):
    key, inspection, placement = process("notes.txt", EICAR)
    assert inspection.status == "infected"
    assert not inspection.downloadable
    assert inspection.signature.startswith("Eicar-Test-Signature")
    assert placement.key == rekey(key, tags.PREFIX_QUARANTINE)
    assert not storage.exists(rekey(key, tags.PREFIX_EVIDENCE))
    assert storage.get_tags(placement.key)[tags.TAG_SCAN_STATUS] == "infected"
    assert placement.thumbnail_key is None


def test_eicar_hidden_in_a_png_is_infected_not_thumbnailed(process):
    _, inspection, placement = process("shot.png", image_bytes("PNG") + EICAR)
    assert inspection.status == "infected"
    assert placement.thumbnail_key is None


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("screenshot.png", ELF, "file is a Linux executable (ELF), not a PNG"),
        ("setup.png", minimal_pe(), "file is a Windows executable, not a PNG"),
        ("photo.jpg", b"<html><body><script>alert(1)</script></body></html>", "file is an HTML document, not a JPEG"),
        ("anim.gif", gif_js_polyglot(), "polyglot"),
    ],
)
def test_wrong_types_are_rejected_and_quarantined(storage, process, name, data, reason):
    key, inspection, placement = process(name, data)
    assert inspection.status == "rejected"
    assert reason in inspection.reason
    assert placement.key == rekey(key, tags.PREFIX_QUARANTINE)
    assert storage.get_tags(placement.key)[tags.TAG_SCAN_STATUS] == "rejected"


def test_a_log_quoting_html_is_clean_text_served_as_text_plain(storage, process):
    key, inspection, placement = process("waf.log.txt", b"GET /search?q=<script>alert(1)</script> HTTP/1.1 403\n")
    assert inspection.detected_mime == "text/html"  # libmagic's word, never what a download is served as
    assert (inspection.status, inspection.reason, inspection.serve_as) == ("clean", "", "text/plain")
    assert placement.key == rekey(key, tags.PREFIX_EVIDENCE)
    assert storage.get_tags(placement.key)[tags.TAG_SCAN_STATUS] == "clean"


def test_a_png_bomb_is_rejected_without_decoding(process):
    started = time.monotonic()
    _, inspection, placement = process("huge.png", png_bomb(30000, 30000))
    assert inspection.status == "rejected"
    assert inspection.reason.startswith("image is 900.0 megapixels; images over 50 megapixels are not accepted")
    assert placement.thumbnail_key is None
    assert time.monotonic() - started < 5


def test_scanning_off_is_not_scanned_and_still_type_checked(storage, process):
    _, inspection, placement = process("diagram.png", image_bytes("PNG"), scanning=False)
    assert inspection.status == "not-scanned"
    assert inspection.downloadable
    assert storage.get_tags(placement.key)[tags.TAG_SCAN_STATUS] == "not-scanned"
    _, rejected, _ = process("diagram.png", ELF, scanning=False)
    assert rejected.status == "rejected"


def test_clamd_down_is_a_retryable_error_and_the_object_stays_in_incoming(storage, tmp_path):
    key = new_key(tags.PREFIX_INCOMING)
    storage.put(key, io.BytesIO(b"log line\n"))
    path = spool(storage, key, tmp_path)
    inspection = inspect_file(path, "app.log", scanner=ClamdScanner(f"tcp://127.0.0.1:{free_port()}", timeout=2))
    assert inspection.status == "error"
    assert inspection.retryable
    assert not inspection.downloadable
    placement = place(storage, key, inspection, closed=False, legal_hold=False)
    assert placement.key == key
    assert storage.get_tags(key)[tags.TAG_SCAN_STATUS] == "error"


def test_placing_twice_is_harmless(storage, process):
    key, inspection, placement = process("app.log", b"all good\n")
    again = place(storage, key, inspection, closed=False, legal_hold=False)  # a redelivered task
    assert again.key == placement.key
    assert storage.get_tags(placement.key)[tags.TAG_SCAN_STATUS] == "clean"


def test_a_redelivered_task_finds_the_object_where_the_first_delivery_left_it(storage, process):
    key, _, placement = process("app.log", b"fine\n")
    assert locate(storage, key) == placement.key
    _, _, quarantined = process("notes.txt", EICAR)
    assert locate(storage, rekey(quarantined.key, tags.PREFIX_INCOMING)) == quarantined.key
    fresh = new_key(tags.PREFIX_INCOMING)
    storage.put(fresh, io.BytesIO(b"x"))
    assert locate(storage, fresh) == fresh
    with pytest.raises(ObjectNotFound):
        locate(storage, new_key(tags.PREFIX_INCOMING))


def test_close_and_legal_hold_retag_without_losing_the_scan_status(storage, process):
    _, _, placement = process("shot.png", image_bytes("PNG"))
    keys = [placement.key, placement.thumbnail_key]
    retag(storage, keys, closed=True, legal_hold=False)
    for key in keys:
        assert storage.get_tags(key) == {
            tags.TAG_SCAN_STATUS: "clean",
            tags.TAG_RETENTION: "closed",
            "legal-hold": "false",
        }
    retag(storage, keys, closed=True, legal_hold=True)
    assert storage.get_tags(placement.key)[tags.TAG_LEGAL_HOLD] == "true"
    retag(storage, keys, closed=False, legal_hold=True)  # reopened
    assert storage.get_tags(placement.key) == {
        tags.TAG_SCAN_STATUS: "clean",
        tags.TAG_RETENTION: "active",
        tags.TAG_LEGAL_HOLD: "true",
    }


def test_object_tags_use_only_agreed_values():
    for status in tags.SCAN_STATUS_VALUES:
        for closed in (False, True):
            for hold in (False, True):
                tag_set = object_tags(status, closed=closed, legal_hold=hold)
                assert tag_set[tags.TAG_RETENTION] in tags.RETENTION_VALUES
                assert tag_set[tags.TAG_LEGAL_HOLD] in (tags.LEGAL_HOLD_ON, tags.LEGAL_HOLD_OFF)
    with pytest.raises(ValueError, match="unknown scan status 'pending'"):
        object_tags("pending", closed=False, legal_hold=False)
