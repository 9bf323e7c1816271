"""Thumbnails as people see them, through the worker's own check of a file (`inspect_file`,
scanning off: the file type check, then the thumbnailer), on real images made with Pillow."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from samples import grey16_png, uniform_png

from worker.processing.inspect import inspect_file


def thumbnail_of(write_file, name: str, data: bytes) -> Image.Image:
    inspection = inspect_file(write_file(name, data), name, scanner=None)
    assert (inspection.status, inspection.reason) == ("not-scanned", "")
    assert inspection.thumbnail is not None
    image = Image.open(io.BytesIO(inspection.thumbnail))
    assert image.format == "WEBP"
    return image.convert("RGB")


def eight_bit(value: int) -> int:
    return round(value * 255 / 65535)


def test_a_16_bit_greyscale_gradient_keeps_its_shades(write_file):
    width, height = 256, 64
    row = [round(x * 64000 / (width - 1)) for x in range(width)]
    data = grey16_png([row] * height)
    with Image.open(io.BytesIO(data)) as source:
        assert source.mode == "I;16"  # what Pillow decodes a 16-bit greyscale PNG as

    thumbnail = thumbnail_of(write_file, "gradient.png", data)

    assert thumbnail.size == (width, height)  # under 320 px: not scaled
    for x in (0, 16, 32, 64, 128, 192, 255):
        red, green, blue = thumbnail.getpixel((x, height // 2))
        assert max(red, green, blue) - min(red, green, blue) <= 2, f"x={x}: {(red, green, blue)} is not grey"
        assert abs(green - eight_bit(row[x])) <= 6, f"x={x}: {green}, expected about {eight_bit(row[x])}"


@pytest.mark.parametrize("value", [0, 3000, 32768, 65535])
def test_a_uniform_16_bit_greyscale_image_keeps_its_brightness(write_file, value):
    thumbnail = thumbnail_of(write_file, "flat.png", grey16_png([[value] * 400] * 100))
    assert thumbnail.size == (320, 80)  # scaled down: the 16-bit pixels went through the resampling too
    low, high = (channel for channel in zip(*thumbnail.getextrema(), strict=True))
    assert max(high) - min(low) <= 4  # still uniform
    assert abs(thumbnail.getpixel((160, 40))[1] - eight_bit(value)) <= 3


@pytest.mark.parametrize(
    ("size", "megapixels"),
    [
        ((20000, 20000), "400.0"),  # over twice the limit: Pillow itself raises DecompressionBombError
        ((8000, 8000), "64.0"),  # between once and twice the limit: Pillow only warns
    ],
)
def test_an_image_over_the_pixel_limit_is_refused_in_our_words_with_the_real_limit(write_file, size, megapixels):
    data = uniform_png(*size)
    assert len(data) < 64 * 1024
    inspection = inspect_file(write_file("huge.png", data), "huge.png", scanner=None)
    assert inspection.status == "rejected"
    assert inspection.reason == (
        f"image is {megapixels} megapixels; images over 50 megapixels are not accepted (decompression bomb protection)"
    )
    assert inspection.thumbnail is None
