"""File names people give evidence: a safe display name, and the download header built from it.

The name a user uploads is shown and offered again on download, and nothing else: storage
keys are server-generated UUIDs (shared/evidence/storage.py). Still, the name travels into
HTML, JSON, log lines and a Content-Disposition header, so it is cleaned once, on upload:

- only the last path segment counts (`../../etc/passwd`, `C:\\x\\y.txt`);
- NFC normalisation, so one name has one spelling (and one length);
- control characters (CR, LF, NUL, ...), bidi overrides and other invisible format characters
  are removed: `invoice\\u202egnp.exe` must not display as `invoiceexe.png`;
- characters Windows forbids become `_`; a reserved device name (`CON`, `nul.txt`,
  `COM1.log`) gets a `_` in front so it can be saved on any desktop;
- capped at 255 UTF-8 bytes keeping the extension; CJK and other scripts are kept.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

MAX_NAME_BYTES = 255  # what ext4, APFS and NTFS accept as one file name
MAX_EXTENSION_CHARS = 16
FALLBACK_NAME = "evidence"

# Unicode categories dropped: controls, format (bidi, zero-width, BOM), surrogates, private
# use, unassigned, and the line/paragraph separators that break a header or a log line.
_DROPPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
_WINDOWS_FORBIDDEN = re.compile(r'[<>:"/\\|?*]')
_WINDOWS_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$", re.IGNORECASE)
_WHITESPACE = re.compile(r"\s+")
# RFC 6266 / 5987: the ASCII fallback is a quoted-string of these characters only.
_ASCII_UNSAFE = re.compile(r"[^A-Za-z0-9 !#$&'()+,\-.=@\[\]^_`{}~]")
# RFC 5987 attr-char beyond alphanumerics (quote() keeps "_.-~" itself).
_ATTR_CHARS = "!#$&+^`|"


def safe_display_name(name: str, *, fallback: str = FALLBACK_NAME) -> str:
    """The name to show and to offer on download; never empty, never a path."""
    name = re.split(r"[/\\]", name or "")[-1]
    name = unicodedata.normalize("NFC", name)
    name = "".join(" " if char in "\t\r\n" else char for char in name)
    name = "".join(char for char in name if unicodedata.category(char) not in _DROPPED_CATEGORIES)
    name = _WINDOWS_FORBIDDEN.sub("_", name)
    name = _WHITESPACE.sub(" ", name)
    # Leading dots hide a file on Unix; trailing dots and spaces vanish on Windows.
    name = name.strip(" ").lstrip(".").rstrip(". ")
    if not name:
        return fallback
    if _WINDOWS_RESERVED.match(name):
        name = f"_{name}"
    return _cap(name)


def extension_of(name: str) -> str:
    """Lower-case extension without the dot ("" when there is none): `Report.PDF` -> "pdf"."""
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem or len(extension) > MAX_EXTENSION_CHARS:
        return ""
    return extension.lower()


def content_disposition(name: str, *, disposition: str = "attachment") -> str:
    """RFC 6266 header value: `attachment; filename="ascii"; filename*=UTF-8''percent-encoded`.

    Browsers that know RFC 5987 use `filename*` (the exact UTF-8 name); the quoted ASCII
    fallback keeps the extension so older clients still open the file with the right program."""
    if disposition not in ("attachment", "inline"):
        raise ValueError(f"disposition must be attachment or inline, got {disposition!r}")
    display = safe_display_name(name)
    return (
        f"{disposition}; filename=\"{_ascii_fallback(display)}\"; filename*=UTF-8''{quote(display, safe=_ATTR_CHARS)}"
    )


def _ascii_fallback(display: str) -> str:
    decomposed = unicodedata.normalize("NFKD", display)
    ascii_name = "".join(char for char in decomposed if not unicodedata.combining(char))
    ascii_name = _ASCII_UNSAFE.sub("_", ascii_name)
    extension = extension_of(ascii_name)
    stem = ascii_name[: -(len(extension) + 1)] if extension else ascii_name
    if not re.search(r"[A-Za-z0-9]", stem):
        # Nothing readable survived (a CJK name): keep the extension at least.
        ascii_name = f"{FALLBACK_NAME}.{extension}" if extension else FALLBACK_NAME
    return ascii_name


def _cap(name: str) -> str:
    if len(name.encode("utf-8")) <= MAX_NAME_BYTES:
        return name
    extension = extension_of(name)
    suffix = name[-(len(extension) + 1) :] if extension else ""
    stem = name[: len(name) - len(suffix)]
    budget = MAX_NAME_BYTES - len(suffix.encode("utf-8"))
    # Cut on a character boundary: decode what fits, dropping a partly cut character.
    stem = stem.encode("utf-8")[:budget].decode("utf-8", "ignore").rstrip(". ")
    return (stem or FALLBACK_NAME) + suffix
