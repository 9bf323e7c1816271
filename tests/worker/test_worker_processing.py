"""Type check, virus scan and thumbnails on real files, with a real clamd over its socket."""

from __future__ import annotations

import gzip
import io
import os
import random
import time
import zipfile

import pytest
from PIL import Image
from samples import EICAR, gif_js_polyglot, image_bytes, minimal_pe, png_bomb
from servers import SHIPPED_CLAMD_CONF, clamd_server, free_port

from shared.config import Settings
from worker.processing import filetype, scanner, thumbnails
from worker.processing.filetype import check_file_type
from worker.processing.scanner import ClamdScanner
from worker.processing.thumbnails import ImageRejected, make_thumbnail

ELF = open("/bin/true", "rb").read()  # noqa: SIM115 - read once at import


def _zip(name: str, data: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, data)
    return out.getvalue()


# -- file type ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("screenshot.png", image_bytes("PNG")),
        ("photo.JPG", image_bytes("JPEG")),
        ("photo.jpeg", image_bytes("JPEG")),
        ("anim.gif", image_bytes("GIF")),
        ("shot.webp", image_bytes("WEBP")),
        ("postmortem.pdf", b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"),
        ("app.log", b"2026-11-29T12:00:01Z ERROR disk full on /dev/sda1\n"),
        ("trace.log", b'Traceback (most recent call last):\n  File "x.py", line 1\nimport os\nimport sys\n'),
        ("notes.txt", "Ünïcödé notes — 障害\n".encode()),
        ("empty.txt", b""),
        ("event.json", b'{"alarm": "CPU", "value": 97}'),
        ("events.json", b'{"a":1}\n{"a":2}\n'),
        ("deploy.yaml", b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n"),
        ("values.yml", b"replicas: 3\n"),
        ("metrics.csv", b"time,cpu\n1,97\n2,98\n"),
        ("logs.zip", _zip("app.log", b"line\n" * 100)),
        ("app.log.gz", gzip.compress(b"line\n" * 100, mtime=0)),
    ],
)
def test_allowed_files_pass(write_file, name, data):
    result = check_file_type(write_file("upload", data), name)
    assert result.accepted, result.reason
    assert result.kind is not None


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("screenshot.png", minimal_pe(), "file is a Windows executable, not a PNG"),
        ("screenshot.png", ELF, "file is a Linux executable (ELF), not a PNG"),
        ("photo.jpg", b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>", "an HTML document"),
        ("photo.jpg", image_bytes("PNG"), "file is a PNG image, not a JPEG"),
        ("notes.txt", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "an SVG image"),
        ("notes.txt", b"<?php system($_GET['c']); ?>\n", "file is a PHP script, not a text file"),
        ("notes.txt", b"#!/usr/bin/env node\nrequire('child_process')\n", "not a text file"),
        ("notes.txt", ELF, "Linux executable"),
        ("report.pdf", b"just text", "file is plain text, not a PDF"),
        ("logs.zip", gzip.compress(b"x", mtime=0), "file is a gzip file, not a ZIP archive"),
        ("setup.exe", minimal_pe(), "files ending in .exe are not accepted"),
        ("drawing.svg", b'<svg xmlns="http://www.w3.org/2000/svg"/>', "files ending in .svg are not accepted"),
        ("page.html", b"<!DOCTYPE html><html><body>hi</body></html>", "files ending in .html are not accepted"),
        ("README", b"hello", "files without an extension are not accepted"),
        ("anim.gif", gif_js_polyglot(), "HTML or script hidden inside"),
    ],
)
def test_rejected_files_say_why(write_file, name, data, reason):
    result = check_file_type(write_file("upload", data), name)
    assert not result.accepted
    assert reason in result.reason


WAF_LINE = b"GET /search?q=<script>alert(1)</script> HTTP/1.1 403\n"


@pytest.mark.parametrize(
    ("name", "data", "libmagic_says"),
    [
        ("waf.log.txt", WAF_LINE, "HTML document"),
        ("waf.log", b"2026-11-29T12:00:01Z 203.0.113.9 " + WAF_LINE * 3, "HTML document"),
        ("proxy.log", b"upstream answered 502:\n<html><body>\n<h1>Bad Gateway</h1>\n</body></html>\n", "HTML document"),
        ("notes.txt", b"<html><script>alert(1)</script></html>", "HTML document"),
        ("soap-fault.log", b'<?xml version="1.0"?>\n<soap:Envelope><soap:Fault/></soap:Envelope>\n', "XML"),
        ("feed.txt", b"<!DOCTYPE note>\n<note>disk full</note>\n", "SGML document"),
        ("waf-rule.yaml", b'rule: xss\nsample: "<title>x</title>"\n', "HTML document"),
    ],
)
def test_text_that_quotes_markup_is_accepted_as_text(write_file, name, data, libmagic_says):
    """Security and access logs quote attack strings: libmagic calls such a file HTML or XML on
    one tag, but its name says text, so it is kept as text and only ever served as text/plain."""
    result = check_file_type(write_file("upload", data), name)
    assert libmagic_says in result.description  # the case under test: libmagic does call it markup
    assert result.accepted, result.reason
    assert result.reason == ""
    assert result.kind is not None
    assert result.kind.serve_as == "text/plain"


def test_text_kinds_are_served_as_types_a_browser_never_renders_as_markup():
    # A text upload may hold markup (above); what keeps it inert is the type it is served as.
    served = {kind.serve_as for kind in filetype.ALLOWED.values() if kind.category == "text"}
    assert served <= {"text/plain", "text/csv", "application/json"}


def test_the_reason_lists_what_is_allowed(write_file):
    result = check_file_type(write_file("upload", b"x"), "a.docx")
    for extension in ("png", "jpg", "gif", "webp", "pdf", "txt", "log", "json", "yaml", "csv", "zip", "gz"):
        assert extension in result.reason
    assert set(filetype.allowed_extensions()) >= {"png", "jpeg", "yml"}


def test_noisy_photos_are_not_mistaken_for_polyglots(write_file):
    """Compressed pixel data is near-random bytes: 40 noisy 1 MB PNGs must all pass (a 3-byte
    marker such as "<a " used to reject about half of them)."""
    rng = random.Random(7)
    rejected = []
    for number in range(40):
        image = Image.frombytes("RGB", (600, 580), rng.randbytes(600 * 580 * 3))
        out = io.BytesIO()
        image.save(out, "PNG")
        result = check_file_type(write_file(f"noise-{number}", out.getvalue()), f"noise-{number}.png")
        if not result.accepted:
            rejected.append((number, result.reason))
    assert rejected == []


def test_a_link_hidden_in_a_png_is_a_polyglot(write_file):
    data = image_bytes("PNG") + b'<a href="javascript:steal()">'
    result = check_file_type(write_file("upload", data), "x.png")
    assert not result.accepted
    assert "polyglot" in result.reason


def test_html_appended_to_a_real_png_is_a_polyglot(write_file):
    data = image_bytes("PNG") + b"<html><body onload=alert(1)>"
    result = check_file_type(write_file("upload", data), "x.png")
    assert not result.accepted
    assert "polyglot" in result.reason


@pytest.mark.parametrize(
    "hidden",
    [b"<SCRIPT src=x>", b"< IFrame src=x>", b"<A\n HREF = x>", b"JavaScript:go()", b"<?PHP echo 1;",
     b" ALERT (1)", b"(eval(x))", b"Document.Cookie", b'"x" OnError = "go()"'],
)  # fmt: skip
def test_markers_are_found_in_any_letter_case(write_file, hidden):
    result = check_file_type(write_file("upload", image_bytes("PNG") + b"\x00" + hidden), "x.png")
    assert not result.accepted
    assert "polyglot" in result.reason


@pytest.mark.parametrize("innocent", [b"medieval(", b"xalert(1)", b"buttonload=1", b"_onload=1", b"9eval("])
def test_script_words_inside_other_words_are_not_markers(write_file, innocent):
    result = check_file_type(write_file("upload", image_bytes("PNG") + b"\x00" + innocent), "x.png")
    assert result.accepted, result.reason


def test_a_marker_split_across_two_read_chunks_is_found(write_file):
    data = image_bytes("PNG")
    padding = filetype._SCAN_CHUNK - len(data) - 3  # "<SC" ends the first chunk, "RIPT>" starts the next
    result = check_file_type(write_file("upload", data + b"\x00" * padding + b"<SCRIPT>"), "x.png")
    assert not result.accepted
    assert "polyglot" in result.reason


# -- virus scan (real clamd) --------------------------------------------------------------------


def test_clean_png(clamd_address):
    result = ClamdScanner(clamd_address).scan(io.BytesIO(image_bytes("PNG")))
    assert result.verdict == scanner.CLEAN
    assert result.is_clean


def test_eicar_as_text_is_infected(clamd_address):
    result = ClamdScanner(clamd_address).scan(io.BytesIO(EICAR))
    assert result.verdict == scanner.INFECTED
    assert result.signature.startswith("Eicar-Test-Signature")
    assert not result.is_clean


@pytest.mark.parametrize(
    "container",
    [
        pytest.param(lambda: image_bytes("PNG") + EICAR, id="after-a-png"),
        pytest.param(lambda: b"line\n" * 50_000 + EICAR + b"line\n" * 50_000, id="in-the-middle-of-a-log"),
        pytest.param(lambda: _zip("inner/readme.txt", EICAR), id="inside-a-zip"),
        pytest.param(lambda: gzip.compress(b"x" * 1000 + EICAR), id="inside-a-gzip"),
    ],
)
def test_eicar_embedded_in_another_file_is_infected(clamd_address, container):
    result = ClamdScanner(clamd_address).scan(io.BytesIO(container()))
    assert result.verdict == scanner.INFECTED, result


def test_clamd_ping(clamd_address):
    assert ClamdScanner(clamd_address).ping()


def test_clamd_down_is_an_error_never_clean():
    result = ClamdScanner(f"tcp://127.0.0.1:{free_port()}", timeout=2).scan(io.BytesIO(b"hello"))
    assert result.verdict == scanner.ERROR
    assert not result.is_clean
    assert "failed" in result.detail
    assert not ClamdScanner(f"tcp://127.0.0.1:{free_port()}", timeout=2).ping()


def test_over_clamd_limits_is_never_clean(tmp_path):
    """Files beyond the limits come back as TOO_BIG (AlertExceedsMax) or ERROR, never CLEAN.

    Same limits as the shipped clamd.conf, scaled down: MaxFileSize above MaxScanSize."""
    small = {"StreamMaxLength": "4M", "MaxScanSize": "512K", "MaxFileSize": "1M"}
    with clamd_server(tmp_path / "small", overrides=small) as address:
        scan = ClamdScanner(address, timeout=30)
        for size_kib in (700, 2000):  # between the two limits, and above both
            for name, data in (
                ("plain", b"a" * size_kib * 1024),
                ("zip member", _zip("big.log", b"a" * size_kib * 1024)),
                ("gzip", gzip.compress(b"a" * size_kib * 1024)),
            ):
                result = scan.scan(io.BytesIO(data))
                assert result.verdict == scanner.TOO_BIG, (name, size_kib, result)
                assert result.signature.startswith("Heuristics.Limits.Exceeded")
        over_stream = scan.scan(io.BytesIO(os.urandom(6 * 1024 * 1024)))
        assert over_stream.verdict in (scanner.TOO_BIG, scanner.ERROR), over_stream
        assert not over_stream.is_clean
        assert scan.scan(io.BytesIO(b"a" * 1024)).is_clean  # the same clamd still says clean to small files


def test_the_shipped_clamd_conf_alerts_on_limits():
    config = dict(
        line.split(None, 1) for line in SHIPPED_CLAMD_CONF.read_text().splitlines() if line and line[0] != "#"
    )
    assert config["AlertExceedsMax"] == "yes"

    def mib(value: str) -> int:
        return int(value.rstrip("M"))

    assert mib(config["MaxFileSize"]) > mib(config["MaxScanSize"]) >= mib(config["StreamMaxLength"])
    assert mib(config["StreamMaxLength"]) * 1024 * 1024 > Settings().upload_max_bytes


def test_unix_socket_address_is_understood():
    assert ClamdScanner("unix:///run/clamav/clamd.ctl")._client.unix_socket == "/run/clamav/clamd.ctl"


# -- thumbnails --------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF", "WEBP"])
def test_thumbnail_is_a_small_webp_without_metadata(write_file, fmt):
    source = image_bytes(fmt, (1600, 900), exif=fmt in ("JPEG", "PNG", "WEBP"))
    thumbnail = make_thumbnail(write_file("upload", source), fmt)
    with Image.open(io.BytesIO(thumbnail)) as image:
        assert image.format == "WEBP"
        assert max(image.size) <= 320
        assert image.size == (320, 180)
        assert not image.getexif()
        assert "exif" not in image.info
        assert "icc_profile" not in image.info
        assert "xmp" not in image.info
    assert b"SecretCam" not in thumbnail
    assert b"owner@example.com" not in thumbnail


def test_a_small_image_is_not_enlarged(write_file):
    thumbnail = make_thumbnail(write_file("upload", image_bytes("PNG", (40, 30))), "PNG")
    with Image.open(io.BytesIO(thumbnail)) as image:
        assert image.size == (40, 30)


def test_a_decompression_bomb_is_refused_without_decoding(write_file):
    path = write_file("bomb.png", png_bomb(30000, 30000))
    assert path.stat().st_size < 4096
    assert check_file_type(path, "bomb.png").accepted  # a genuine PNG header...
    started = time.monotonic()
    with pytest.raises(ImageRejected, match=r"image is 900\.0 megapixels; images over 50 megapixels are not accepted"):
        make_thumbnail(path, "PNG")  # ...that is never decoded
    assert time.monotonic() - started < 1.0


def test_between_one_and_two_times_the_pixel_limit_is_refused_too(write_file):
    # 60 MP: above MAX_PIXELS (50 MP) but under 2x, where Pillow would only warn.
    with pytest.raises(ImageRejected, match=r"image is 60\.0 megapixels; images over 50 megapixels are not accepted"):
        make_thumbnail(write_file("wide.png", png_bomb(10000, 6000)), "PNG")


def test_only_the_expected_decoder_runs(write_file):
    # A real GIF presented as a PNG must not be decoded by the GIF plugin.
    with pytest.raises(ImageRejected, match="not a valid PNG image"):
        make_thumbnail(write_file("x.png", image_bytes("GIF")), "PNG")
    with pytest.raises(ValueError, match="no thumbnails for 'BMP'"):
        make_thumbnail(write_file("x.bmp", image_bytes("BMP")), "BMP")


def test_a_truncated_image_is_rejected(write_file):
    data = _noisy_png()
    with pytest.raises(ImageRejected, match="not a valid PNG"):
        make_thumbnail(write_file("cut.png", data[: len(data) // 2]), "PNG")


def _noisy_png() -> bytes:
    image = Image.frombytes("RGB", (300, 300), os.urandom(300 * 300 * 3))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def test_the_pixel_limit_is_lowered_in_the_worker():
    assert Image.MAX_IMAGE_PIXELS == thumbnails.MAX_PIXELS <= 50_000_000


@pytest.mark.parametrize(
    ("data", "accepted"), [(b"x", True), (b"\n", True), (b"\xc3\xa9", True), (b"\xff", False), (b"\x00", False)]
)
def test_a_file_too_short_for_libmagic_is_judged_as_text_when_it_reads_as_text(write_file, data, accepted):
    """Found by QA: a one-character log was refused as "unrecognised binary data": libmagic
    answers "very short file (no magic)" for anything under two bytes."""
    result = check_file_type(write_file("upload", data), "tiny.log")
    assert result.accepted is accepted, result
    if not accepted:
        assert "not a text file" in result.reason
