"""The upload's streaming multipart reader (web/evidence/multipart.py) against werkzeug's own
form parser as the reference: whatever the browser sends, both must read the same fields and
the same file bytes, however the body is cut into reads."""

from __future__ import annotations

import io
import random

import pytest
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge
from werkzeug.formparser import parse_form_data
from werkzeug.http import parse_options_header
from werkzeug.test import EnvironBuilder

from web.evidence import multipart
from web.evidence.multipart import MultipartReader, RequestBody


class Trickle(io.RawIOBase):
    """A request body that arrives in reads of random small sizes (a slow network)."""

    def __init__(self, data: bytes, seed: int, largest: int) -> None:
        self._data, self._position = data, 0
        self._rng, self._largest = random.Random(seed), largest

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        step = min(size, self._rng.randint(1, self._largest))
        data = self._data[self._position : self._position + step]
        self._position += len(data)
        return data


def encode(fields: dict) -> tuple[bytes, str]:
    environ = EnvironBuilder(method="POST", data=fields, content_type="multipart/form-data").get_environ()
    return environ["wsgi.input"].read(), environ["CONTENT_TYPE"]


def read_all(body, content_type: str) -> list[tuple]:
    boundary = parse_options_header(content_type)[1]["boundary"].encode()
    seen = []
    for part in MultipartReader(body, boundary).parts():
        if part[0] == "field":
            seen.append(part)
        else:
            file = part[1]
            seen.append(("file", file.name, file.filename, file.content_type, file.stream.read()))
    return seen


def reference(data: bytes, content_type: str) -> list[tuple]:
    environ = EnvironBuilder(method="POST", input_stream=io.BytesIO(data), content_type=content_type).get_environ()
    environ["CONTENT_LENGTH"] = str(len(data))
    _, form, files = parse_form_data(environ)
    seen = [("field", name, value) for name, value in form.items(multi=True)]
    for name, file in files.items(multi=True):
        seen.append(("file", name, file.filename, file.content_type, file.read()))
    return seen


def noisy_bytes(size: int, seed: int) -> bytes:
    """Random bytes salted with CR, LF and dashes: every way a delimiter can almost appear."""
    rng = random.Random(seed)
    alphabet = b"\r\n-\r\n--ab\x00\xff"
    return bytes(rng.choice(alphabet) if rng.random() < 0.3 else rng.randrange(256) for _ in range(size))


@pytest.mark.parametrize("seed", range(12))
def test_fields_and_files_read_as_werkzeug_reads_them_whatever_the_read_sizes(seed, monkeypatch):
    monkeypatch.setattr(multipart, "READ_BYTES", 1 + seed * 37)
    fields = {
        "csrf_token": "token-value",
        "file": (io.BytesIO(noisy_bytes(5000 + seed * 311, seed)), 'шаг 1 "log".txt', "text/plain"),
        "note": "naïve\r\nline two",
        "second": (io.BytesIO(b""), "empty.bin", "application/octet-stream"),
        "third": (io.BytesIO(noisy_bytes(300, seed + 100)), "x.png", "image/png"),
    }
    data, content_type = encode(fields)
    expected = reference(data, content_type)
    for largest in (1, 7, 64, 4096):
        ours = read_all(Trickle(data, seed, largest), content_type)
        assert sorted(ours, key=repr) == sorted(expected, key=repr)
        in_body_order = sorted(ours, key=lambda part: data.index(f'name="{part[1]}"'.encode()))
        assert ours == in_body_order  # in the order the browser sent them


def test_a_file_is_read_in_the_sizes_asked_for():
    content = noisy_bytes(10_000, 1)
    data, content_type = encode({"file": (io.BytesIO(content), "a.bin")})
    boundary = parse_options_header(content_type)[1]["boundary"].encode()
    _, part = next(MultipartReader(io.BytesIO(data), boundary).parts())
    sizes = []
    while chunk := part.stream.read(3000):
        sizes.append(len(chunk))
    assert sizes == [3000, 3000, 3000, 1000]


@pytest.mark.parametrize(
    ("cut", "message"),
    [
        (lambda data: data[: len(data) // 2], "cut off"),  # the connection dropped mid-file
        (lambda data: data[:-8], "cut off"),  # no closing boundary
        (lambda data: data.replace(b"Content-Disposition", b"Content-Dispositio\xff"), "not valid UTF-8"),
        (lambda data: data.replace(b"form-data; ", b"attachment; "), "not a named form field"),
    ],
)
def test_a_broken_body_is_a_bad_request_naming_the_problem(cut, message):
    data, content_type = encode({"file": (io.BytesIO(noisy_bytes(3000, 2)), "a.bin")})
    with pytest.raises(BadRequest, match=message):
        read_all(io.BytesIO(cut(data)), content_type)


def test_part_headers_fields_and_part_counts_are_bounded():
    boundary = b"b0undary"
    huge_header = b"--b0undary\r\nX-Padding: " + b"a" * (multipart.MAX_HEADER_BYTES + 10) + b"\r\n\r\n"
    with pytest.raises(BadRequest, match="headers"):
        list(MultipartReader(io.BytesIO(huge_header), boundary).parts())
    long_field, content_type = encode({"csrf_token": "x" * (multipart.MAX_FIELD_BYTES + 1)})
    with pytest.raises(BadRequest, match="too long"):
        read_all(io.BytesIO(long_field), content_type)
    many, content_type = encode({f"f{n}": "v" for n in range(multipart.MAX_PARTS + 1)})
    with pytest.raises(BadRequest, match="more than"):
        read_all(io.BytesIO(many), content_type)


def test_a_boundary_longer_than_rfc_2046s_70_characters_is_read_and_an_absurd_one_refused():
    # werkzeug's test client makes boundaries of 71-72 characters now and then
    # ("---------------WerkzeugFormPart_1764454458.1234567" + "0.12345678901234567").
    boundary = "---------------WerkzeugFormPart_1764454458.12345670.12345678901234567891"
    assert len(boundary) > 70
    data = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.log"\r\n'
        f"Content-Type: text/plain\r\n\r\nline one\r\n--{boundary}--\r\n"
    ).encode()
    content_type = f"multipart/form-data; boundary={boundary}"
    assert read_all(io.BytesIO(data), content_type) == [("file", "file", "a.log", "text/plain", b"line one")]
    with pytest.raises(BadRequest, match="boundary is missing or too long"):
        MultipartReader(io.BytesIO(data), b"b" * (multipart.MAX_BOUNDARY_BYTES + 1))


def test_a_body_without_a_length_is_bounded_by_the_upload_limit():
    endless = {"wsgi.input": io.BytesIO(b"x" * 5000), "wsgi.input_terminated": True}
    body = RequestBody.of(endless, None, 4096)
    assert len(body.read(4096)) == 4096
    with pytest.raises(RequestEntityTooLarge):
        body.read(4096)
    fitting = RequestBody.of({"wsgi.input": io.BytesIO(b"x" * 100), "wsgi.input_terminated": True}, None, 4096)
    assert fitting.read(4096) == b"x" * 100
    assert fitting.read(4096) == b""
    # With a length, never a byte past it (the next request's bytes on a kept-alive connection).
    assert RequestBody.of({"wsgi.input": io.BytesIO(b"abcdef")}, 4, 4096).read(100) == b"abcd"
