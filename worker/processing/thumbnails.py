"""Thumbnails of image evidence with Pillow, safe against hostile images.

- Only the decoder of the type the file check accepted may run (`Image.open(formats=[...])`):
  a file cannot reach Pillow's rarer, less hardened decoders by lying about its type.
- MAX_IMAGE_PIXELS is lowered and the DecompressionBombWarning (between 1x and 2x the limit)
  is an error like DecompressionBombError above 2x: Pillow checks the size from the header,
  so a 30000x30000 PNG of a few KB is refused before a single row is decoded.
- The thumbnail is a fresh image holding only pixels: no EXIF (GPS position, camera serial),
  no ICC profile, no XMP, no comments. EXIF orientation is applied first so it looks right.
- Output: WebP, at most THUMBNAIL_SIZE pixels on its longer side.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

from PIL import Image, ImageOps

THUMBNAIL_SIZE = 320
# 50 megapixels: a 48 MP phone photo passes, an image that would take gigabytes to decode does not.
MAX_PIXELS = 50_000_000
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
                pixels = oriented.convert("RGBA" if _has_alpha(oriented) else "RGB")
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            raise ImageRejected(f"image is too large to process safely ({error})") from None
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
        raise ImageRejected(f"image is too large to process safely ({width}x{height} pixels, limit {MAX_PIXELS})")


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
