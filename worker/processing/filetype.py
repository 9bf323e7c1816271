"""What a file really is (libmagic, from its bytes) against what its name claims.

A file is accepted only when its extension is on the allow-list AND libmagic's verdict is one
of the types that extension may hold. Everything else is rejected with a reason a person can
act on: "file is a Windows executable, not a PNG". Images are also searched for markup and
script, so a GIF/JavaScript or PNG/HTML polyglot is refused even though its header is a
genuine image header.

Pure functions over a local file: no database, no storage, no network.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import magic

from shared.evidence.names import extension_of

# libmagic reads the start of a file; 1 MiB is far more than any of its tests look at.
MAGIC_BYTES = 1024 * 1024

TEXT_MIMES = frozenset({"text/plain", "text/csv", "application/json", "application/x-ndjson", "application/x-empty"})
# Markup that text quotes. libmagic calls a file "HTML document" on one <script>, <body>,
# <head> or <title> anywhere in its first bytes (a WAF log quoting an attack, a proxy log
# holding an upstream's error page) and "XML document" when it starts with <?xml (a SOAP
# fault); "exported SGML document" (<!DOCTYPE ...) is text/plain already. A file named as text
# is kept as text then: it is served only as its kind's `serve_as` (text/plain, text/csv,
# application/json; never the detected type) with attachment, nosniff and CSP sandbox, so no
# browser renders it as markup, whether it quotes HTML or is an HTML page renamed .txt.
QUOTED_MARKUP_MIMES = frozenset({"text/html", "text/xml", "application/xml"})
# Script and images libmagic names only when the file itself is one (it starts as one), not
# when a log quotes them: still refused inside a text upload.
ACTIVE_TEXT_MIMES = frozenset(
    {
        "image/svg+xml",
        "text/javascript",
        "application/javascript",
        "text/x-php",
    }
)
ELF_MIMES = frozenset(
    {"application/x-executable", "application/x-sharedlib", "application/x-pie-executable", "application/x-object"}
)


@dataclass(frozen=True)
class Kind:
    label: str  # how the reason names what the extension promised: "a PNG"
    mimes: frozenset[str]
    category: str  # "image", "document", "text" or "archive"
    serve_as: str  # Content-Type of the download
    pillow_format: str | None = None  # the only decoder the thumbnailer may use


_IMAGES = {
    "png": Kind("a PNG", frozenset({"image/png"}), "image", "image/png", "PNG"),
    "jpg": Kind("a JPEG", frozenset({"image/jpeg"}), "image", "image/jpeg", "JPEG"),
    "jpeg": Kind("a JPEG", frozenset({"image/jpeg"}), "image", "image/jpeg", "JPEG"),
    "gif": Kind("a GIF", frozenset({"image/gif"}), "image", "image/gif", "GIF"),
    "webp": Kind("a WebP image", frozenset({"image/webp"}), "image", "image/webp", "WEBP"),
}
ALLOWED: dict[str, Kind] = {
    **_IMAGES,
    "pdf": Kind("a PDF", frozenset({"application/pdf"}), "document", "application/pdf"),
    "txt": Kind("a text file", TEXT_MIMES, "text", "text/plain"),
    "log": Kind("a text file", TEXT_MIMES, "text", "text/plain"),
    "json": Kind("a JSON file", TEXT_MIMES, "text", "application/json"),
    "yaml": Kind("a YAML file", TEXT_MIMES, "text", "text/plain"),
    "yml": Kind("a YAML file", TEXT_MIMES, "text", "text/plain"),
    "csv": Kind("a CSV file", TEXT_MIMES, "text", "text/csv"),
    # Archives are kept as they are: never extracted by the app (clamd looks inside them).
    "zip": Kind("a ZIP archive", frozenset({"application/zip"}), "archive", "application/zip"),
    "gz": Kind("a gzip file", frozenset({"application/gzip", "application/x-gzip"}), "archive", "application/gzip"),
}

_DESCRIPTIONS = {
    "text/html": "an HTML document",
    "text/xml": "an XML document",
    "application/xml": "an XML document",
    "image/svg+xml": "an SVG image",
    "text/javascript": "a JavaScript file",
    "application/javascript": "a JavaScript file",
    "text/x-php": "a PHP script",
    "text/x-shellscript": "a shell script",
    "text/x-script.python": "a Python script",
    "text/plain": "plain text",
    "text/csv": "a CSV file",
    "application/json": "a JSON file",
    "application/x-ndjson": "a JSON file",
    "application/x-empty": "an empty file",
    "application/octet-stream": "unrecognised binary data",
    "image/png": "a PNG image",
    "image/jpeg": "a JPEG image",
    "image/gif": "a GIF image",
    "image/webp": "a WebP image",
    "image/bmp": "a BMP image",
    "image/tiff": "a TIFF image",
    "application/pdf": "a PDF",
    "application/zip": "a ZIP archive",
    "application/gzip": "a gzip file",
    "application/x-gzip": "a gzip file",
    "application/x-7z-compressed": "a 7-Zip archive",
    "application/x-rar": "a RAR archive",
    "application/x-tar": "a tar archive",
    "application/java-archive": "a Java archive",
}

# Markup or script inside an image means a polyglot: bytes a browser could run if it were ever
# persuaded to read the image as HTML or JavaScript. Each marker is long enough that compressed
# pixel data does not spell it by chance: a bare "<a " (3 bytes) turned up in about half of
# random 1 MB PNGs, so a link needs its href.
#
# Matched case-blind by lowering each chunk (ASCII only, as re.IGNORECASE is for bytes) and
# searching in lower case: with IGNORECASE, or with a \b in front of a word, re tries the whole
# pattern at every byte; with every alternative starting on a plain byte it skips to the bytes
# that can start one. 0.075 -> 0.0096 s of CPU per MB of noise. "a(?<!\wa)lert" is \balert
# said that way: the byte before the "a" is not a word byte.
_ACTIVE_MARKERS = re.compile(
    rb"<\s*(script|html|body|svg|iframe|object|embed|img\s|a\s+href\s*=)|<\?php|javascript:"
    rb"|a(?<!\wa)lert\s*\(|e(?<!\we)val\s*\(|document\.(cookie|domain|write|location)|o(?<!\wo)n(error|load)\s*="
)
_SCAN_CHUNK = 1024 * 1024
_SCAN_OVERLAP = 64


@dataclass(frozen=True)
class TypeCheck:
    accepted: bool
    mime: str  # what libmagic says the bytes are
    description: str  # libmagic's long description, for the timeline
    reason: str = ""  # why it was rejected, in words a person can act on
    kind: Kind | None = None  # what the extension promised (None when not on the allow-list)


def allowed_extensions() -> tuple[str, ...]:
    return tuple(ALLOWED)


# Below this many bytes libmagic answers "very short file (no magic)" whatever they are.
_SHORTEST_MAGIC = 2


def check_file_type(path: Path | str, display_name: str) -> TypeCheck:
    """Compare the bytes at `path` with the extension of `display_name` and the allow-list."""
    path = Path(path)
    with path.open("rb") as handle:
        head = handle.read(MAGIC_BYTES)
    mime = magic.from_buffer(head, mime=True)
    description = magic.from_buffer(head)
    if _too_short_for_magic_yet_text(head, mime):
        # libmagic names nothing under two bytes ("very short file (no magic)", octet-stream):
        # a one-character log ("x", a newline) was refused as binary (found by QA).
        mime, description = "text/plain", "very short text"
    detected = describe(mime, description)
    extension = extension_of(display_name)
    kind = ALLOWED.get(extension)
    if kind is None:
        accepted = ", ".join(sorted(set(ALLOWED)))
        named = f"files ending in .{extension}" if extension else "files without an extension"
        return TypeCheck(
            False, mime, description, f"{named} are not accepted (allowed: {accepted}); file is {detected}"
        )
    if mime not in kind.mimes and not (kind.category == "text" and _reads_as_text(mime)):
        return TypeCheck(False, mime, description, f"file is {detected}, not {kind.label}", kind)
    if kind.category == "image" and _contains_active_content(path):
        reason = f"file is {kind.label} with HTML or script hidden inside (a polyglot), not a plain image"
        return TypeCheck(False, mime, description, reason, kind)
    return TypeCheck(True, mime, description, "", kind)


def describe(mime: str, description: str) -> str:
    """A person's words for what libmagic found: "a Windows executable"."""
    lowered = description.lower()
    if "pe32" in lowered or "ms-dos executable" in lowered or "for ms windows" in lowered or "dosexec" in mime:
        return "a Windows executable"
    if lowered.startswith("elf") or mime in ELF_MIMES:
        return "a Linux executable (ELF)"
    if "mach-o" in lowered:
        return "a macOS executable"
    if mime in _DESCRIPTIONS:
        return _DESCRIPTIONS[mime]
    first = description.split(",", 1)[0].strip() or mime
    return f"{first} ({mime})"


def _too_short_for_magic_yet_text(head: bytes, mime: str) -> bool:
    if mime != "application/octet-stream" or len(head) >= _SHORTEST_MAGIC:
        return False
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(char.isprintable() or char in "\t\n\r" for char in text)


def _reads_as_text(mime: str) -> bool:
    # Logs often quote code and markup, and libmagic then calls them "C source", "Python script"
    # or "HTML document". Such text is harmless as a download (served as text/plain); a file
    # that is itself an SVG, a script or PHP is refused all the same.
    return mime in QUOTED_MARKUP_MIMES or (mime.startswith("text/x-") and mime not in ACTIVE_TEXT_MIMES)


def _contains_active_content(path: Path) -> bool:
    with path.open("rb") as handle:
        tail = b""
        while chunk := handle.read(_SCAN_CHUNK):
            lowered = chunk.lower()
            if _ACTIVE_MARKERS.search(tail + lowered):
                return True
            tail = lowered[-_SCAN_OVERLAP:]
    return False
