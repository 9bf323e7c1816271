"""Display names of evidence and the download header: what a hostile file name turns into."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import unquote

import pytest

from shared.evidence.names import MAX_NAME_BYTES, content_disposition, extension_of, safe_display_name


@pytest.mark.parametrize(
    ("uploaded", "shown"),
    [
        ("screenshot.png", "screenshot.png"),
        ("../../etc/passwd", "passwd"),
        ("..\\..\\windows\\win.ini", "win.ini"),
        ("C:\\Users\\ops\\disk full.log", "disk full.log"),
        ("invoice\u202egnp.exe", "invoicegnp.exe"),  # right-to-left override: would show "invoiceexe.png"
        ("a\u2066b\u2069\u200e\u200fc\ufeff.txt", "abc.txt"),
        ("evil\r\nSet-Cookie: x=1.txt", "evil Set-Cookie_ x=1.txt"),
        ("nul\x00byte.txt", "nulbyte.txt"),
        ("CON", "_CON"),
        ("con.txt", "_con.txt"),
        ("LPT1.log", "_LPT1.log"),
        ("CONSOLE.txt", "CONSOLE.txt"),
        ("障害報告書.pdf", "障害報告書.pdf"),
        ("ログ 2026-11-29.log", "ログ 2026-11-29.log"),
        ("e\u0301te\u0301.txt", "été.txt"),  # NFC: one spelling
        ("   ..hidden  ", "hidden"),
        ("trailing dots...", "trailing dots"),
        ('a<b>c:d"e|f?g*h.txt', "a_b_c_d_e_f_g_h.txt"),
        ("", "evidence"),
        ("....", "evidence"),
        ("\u202e\u202e", "evidence"),
    ],
)
def test_display_names(uploaded, shown):
    assert safe_display_name(uploaded) == shown


def test_a_10_kb_name_is_capped_keeping_its_extension():
    name = "a" * 10_000 + ".PNG"
    shown = safe_display_name(name)
    assert len(shown.encode()) <= MAX_NAME_BYTES
    assert shown.endswith(".PNG")
    assert shown.startswith("aaa")


def test_a_long_cjk_name_is_cut_on_a_character_boundary():
    shown = safe_display_name("報" * 500 + ".txt")
    assert len(shown.encode()) <= MAX_NAME_BYTES
    assert shown.endswith(".txt")
    assert set(shown.removesuffix(".txt")) == {"報"}


def test_names_are_stable():
    for name in ("../a\u202eb.txt", "CON", "x" * 9000, "報告.pdf", "e\u0301"):
        once = safe_display_name(name)
        assert safe_display_name(once) == once
        assert unicodedata.is_normalized("NFC", once)


@pytest.mark.parametrize(
    ("name", "extension"),
    [("report.PDF", "pdf"), ("archive.tar.gz", "gz"), ("README", ""), (".bashrc", ""), ("a.verylongextension1", "")],
)
def test_extension_of(name, extension):
    assert extension_of(name) == extension


# RFC 6266 with RFC 5987: token `attachment`, a quoted ASCII fallback, then filename*.
HEADER = re.compile(r"^attachment; filename=\"[\x20-\x7e]*\"; filename\*=UTF-8''[A-Za-z0-9!#$&+.^_`|~%-]+$")


@pytest.mark.parametrize(
    "name",
    [
        "report.pdf",
        "障害報告書.pdf",
        'quote"and\\backslash.txt',
        "evil\r\nSet-Cookie: session=x.txt",
        "semi;colon, comma.txt",
        "percent%20.txt",
        "x" * 10_000,
        "CON",
        "\u202etxt.exe",
    ],
)
def test_content_disposition_is_one_safe_header(name):
    value = content_disposition(name)
    assert HEADER.match(value), value
    assert "\r" not in value
    assert "\n" not in value
    fallback = value.split('filename="', 1)[1].split('"', 1)[0]
    assert '"' not in fallback
    assert "\\" not in fallback


def test_content_disposition_round_trips_the_unicode_name():
    value = content_disposition("障害報告書 v2.pdf")
    assert value.startswith('attachment; filename="_____ v2.pdf"; ')  # what is ASCII survives
    assert unquote(value.split("filename*=UTF-8''", 1)[1]) == "障害報告書 v2.pdf"
    assert content_disposition("障害報告書.pdf").startswith('attachment; filename="evidence.pdf"; ')
    assert content_disposition("Ünïcödé.txt").startswith('attachment; filename="Unicode.txt"; ')
