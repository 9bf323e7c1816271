"""Thumbnails of image evidence with Pillow, safe against hostile images.

- Only the decoder of the type the file check accepted may run (`Image.open(formats=[...])`):
  a file cannot reach Pillow's rarer, less hardened decoders by lying about its type.
- MAX_IMAGE_PIXELS is lowered and the DecompressionBombWarning (between 1x and 2x the limit)
  is an error like DecompressionBombError above 2x: Pillow checks the size from the header,
  so a 30000x30000 PNG of a few KB is refused before a single row is decoded. Either way the
  reason says so in our words, with our limit (Pillow's own text names 2x the limit above 2x).
- The thumbnail is a fresh image holding only pixels: no EXIF (GPS position, camera serial),
  no ICC profile, no XMP, no comments. EXIF orientation is applied first so it looks right.
- Greyscale deeper than 8 bits (a 16-bit PNG decodes as I;16) is scaled down to 8 bits:
  Pillow's convert() would clip every value over 255 to white.
- Output: WebP, at most THUMBNAIL_SIZE pixels on its longer side.
"""

from __future__ import annotations

import io
import re
import warnings
from pathlib import Path
from typing import cast

from PIL import Image, ImageOps

THUMBNAIL_SIZE = 320
# 50 megapixels: a 48 MP phone photo passes, an image that would take gigabytes to decode does not.
MAX_PIXELS = 50_000_000
SIXTEEN_BIT_MAX = 65535
# Pillow's bomb error and warning name the image's pixel count as "Image size (N pixels)".
_PILLOW_PIXELS = re.compile(r"\((\d+) pixels\)")
ALLOWED_FORMATS = ("PNG", "JPEG", "GIF", "WEBP")
WEBP_QUALITY = 80

# Pillow reads the limit from this module attribute at every open; the worker process never
# needs bigger images, so the limit is lowered for the whole process.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS


class ImageRejected(Exception):
    """The image cannot be thumbnailed safely; the message says why, for the evidence page."""


def make_thumbnail(path: Path | str, pillow_format: str) -> bytes:
    """WebP bytes of a thumbnail of the image at `path`, decoded only as `pillow_format`."""
    if pillow_format not in ALLOWED_FORMATS:
        raise ValueError(f"no thumbnails for {pillow_format!r}")
    label = {"WEBP": "WebP"}.get(pillow_format, pillow_format)
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(path, formats=[pillow_format]) as image:
                _check_size(image)
                if pillow_format == "JPEG":
                    # Decode at a reduced scale where JPEG allows it: less memory, same thumbnail.
                    image.draft("RGB", (THUMBNAIL_SIZE * 2, THUMBNAIL_SIZE * 2))
                image.seek(0)  # the first frame of an animation
                oriented = ImageOps.exif_transpose(image)
                oriented.thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE), Image.Resampling.LANCZOS)
                small = _to_eight_bits(oriented)
                pixels = small.convert("RGBA" if _has_alpha(small) else "RGB")
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            # Raised by Image.open from the header (or from a GIF frame's extent), before our
            # own check could see the size: the count is only in Pillow's text.
            found = _PILLOW_PIXELS.search(str(error))
            raise ImageRejected(_too_many_pixels(int(found.group(1)) if found else None)) from None
        except ImageRejected:
            raise
        except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, MemoryError) as error:
            # UnidentifiedImageError is an OSError; truncated or corrupt data raise the others.
            raise ImageRejected(f"file is not a valid {label} image ({type(error).__name__}: {error})") from None
    # A new image from the pixels alone: nothing of the original's metadata comes along.
    clean = Image.frombytes(pixels.mode, pixels.size, pixels.tobytes())
    out = io.BytesIO()
    clean.save(out, format="WEBP", quality=WEBP_QUALITY, method=4)
    return out.getvalue()


def _check_size(image: Image.Image) -> None:
    width, height = image.size
    if width < 1 or height < 1:
        raise ImageRejected(f"image has no pixels ({width}x{height})")
    if width * height > MAX_PIXELS:
        raise ImageRejected(_too_many_pixels(width * height))


def _too_many_pixels(pixels: int | None) -> str:
    limit = f"images over {MAX_PIXELS / 1_000_000:g} megapixels are not accepted (decompression bomb protection)"
    if pixels is None:
        return f"image is too large; {limit}"
    return f"image is {pixels / 1_000_000:.1f} megapixels; {limit}"


def _to_eight_bits(image: Image.Image) -> Image.Image:
    """Greyscale of more than 8 bits (I;16*, I, F) as 8-bit L, scaled, not clipped.

    The nominal 16-bit range maps onto 0..255 (a value of 3000 stays near black); values a
    16-bit image cannot hold (only I and F can) are stretched from their minimum to maximum."""
    if not (image.mode.startswith("I") or image.mode == "F"):
        return image
    wide = image.convert("I") if image.mode.startswith("I;16") else image  # point() scales I and F
    low, high = cast(tuple[float, float], wide.getextrema())  # one band: (min, max)
    if low >= 0 and high <= SIXTEEN_BIT_MAX:
        low, high = 0, SIXTEEN_BIT_MAX
    scale = 255 / max(high - low, 1)
    offset = 0.5 - low * scale  # + 0.5: point() truncates
    return wide.point(lambda value: value * scale + offset).convert("L")


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
