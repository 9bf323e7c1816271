"""Sample files for the worker tests, made on the spot.

The EICAR test string is assembled at run time so that no file in the repository is itself
flagged by a virus scanner on a developer's machine.
"""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image

EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + b"EICAR-STANDARD-ANTIVIRUS-" + b"TEST-FILE!$H+H*"


def image_bytes(fmt: str, size: tuple[int, int] = (64, 48), *, exif: bool = False, color="teal") -> bytes:
    image = Image.new("RGB", size, color)
    out = io.BytesIO()
    options = {}
    if exif:
        data = Image.Exif()
        data[0x010F] = "SecretCam"  # Make
        data[0x8298] = "owner@example.com"  # Copyright
        options["exif"] = data.tobytes()
    image.save(out, fmt, **options)
    return out.getvalue()


def png_bomb(width: int = 30000, height: int = 30000) -> bytes:
    """A valid PNG header claiming width x height pixels, with almost no data: a few hundred bytes."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 1024))
        + chunk(b"IEND", b"")
    )


def uniform_png(width: int, height: int) -> bytes:
    """A complete, valid 1-bit black PNG of width x height: every row is there, so a decoder
    could read it all, yet it is tiny on disk (~50 KB at 20000x20000, deflate's best ratio)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    row = b"\0" * (1 + (width + 7) // 8)  # filter byte "none", then the row's bits
    packer = zlib.compressobj(9)
    data = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


def grey16_png(values: list[list[int]]) -> bytes:
    """A 16-bit greyscale PNG of these rows of values (0..65535); Pillow opens it as I;16."""
    height, width = len(values), len(values[0])
    image = Image.new("I;16", (width, height))
    image.putdata([value for row in values for value in row])
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def minimal_pe() -> bytes:
    """The headers of a Windows PE executable: MZ stub pointing at a PE signature."""
    stub = bytearray(b"MZ" + b"\0" * 0x3E)
    stub[0x3C:0x40] = struct.pack("<I", 0x40)
    # PE signature, COFF header for i386 with an optional header of PE32 magic 0x10b.
    coff = struct.pack("<HHIIIHH", 0x14C, 1, 0, 0, 0, 0xE0, 0x0102)
    optional = struct.pack("<H", 0x10B) + b"\0" * (0xE0 - 2)
    return bytes(stub) + b"PE\0\0" + coff + optional + b"\0" * 512


def gif_js_polyglot() -> bytes:
    """A GIF whose header doubles as JavaScript: `GIF89a/*...*/=1;alert(document.domain);`."""
    image = bytearray(image_bytes("GIF", (2, 2)))
    image[6:8] = b"/*"  # the logical screen width becomes the start of a JS comment
    return bytes(image) + b"*/=1;alert(document.domain);"
