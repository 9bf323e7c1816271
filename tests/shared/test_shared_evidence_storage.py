"""Evidence storage: the same behaviour from S3 (a real moto server over HTTP) and local disk."""

from __future__ import annotations

import hashlib
import io
import os
import signal
import time
import urllib.request
from pathlib import Path

import pytest
from servers import S3_TEST_BUCKET, s3_endpoint_fixture  # noqa: F401 - provides the s3_endpoint fixture

from shared.config import Settings
from shared.evidence import tags
from shared.evidence.storage import (
    LocalStorage,
    ObjectNotFound,
    S3Storage,
    StorageError,
    TooLarge,
    check_key,
    make_storage,
    merge_tags,
    new_key,
    rekey,
)

MIB = 1024 * 1024
BUCKET = S3_TEST_BUCKET


@pytest.fixture(params=["s3", "local"])
def storage(request: pytest.FixtureRequest, tmp_path: Path):
    if request.param == "local":
        return LocalStorage(tmp_path / "evidence")
    endpoint = request.getfixturevalue("s3_endpoint")
    # A fresh prefix per test, as a preview's `pr-<n>/` would be.
    prefix = f"t-{os.urandom(4).hex()}/"
    return S3Storage(bucket=BUCKET, key_prefix=prefix, endpoint_url=endpoint, region="us-east-1", chunk_bytes=5 * MIB)


def _all_keys(storage) -> list[str]:
    if isinstance(storage, LocalStorage):
        return sorted(str(p.relative_to(storage.root)) for p in storage.root.rglob("*") if p.is_file())
    answer = storage.client.list_objects_v2(Bucket=BUCKET, Prefix=storage.key_prefix)
    return sorted(item["Key"] for item in answer.get("Contents", []))


def test_put_streams_and_reports_size_and_sha256(storage):
    data = os.urandom(3 * MIB + 17)
    key = new_key(tags.PREFIX_INCOMING)
    stored = storage.put(key, io.BytesIO(data), content_type="image/png", tags={tags.TAG_SCAN_STATUS: "pending-x"})
    assert (stored.size, stored.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    assert storage.size(key) == len(data)
    assert storage.exists(key)
    assert b"".join(storage.iter_chunks(key, 64 * 1024)) == data
    with storage.open(key) as handle:
        assert handle.read(10) == data[:10]


def test_big_upload_goes_multipart_and_comes_back_whole(storage):
    data = os.urandom(12 * MIB + 5)  # three parts of 5 MiB on S3
    key = new_key(tags.PREFIX_INCOMING)
    stored = storage.put(key, io.BytesIO(data), tags={tags.TAG_RETENTION: tags.RETENTION_ACTIVE})
    assert stored.size == len(data)
    assert hashlib.sha256(b"".join(storage.iter_chunks(key))).hexdigest() == stored.sha256
    assert storage.get_tags(key) == {tags.TAG_RETENTION: tags.RETENTION_ACTIVE}


class _Endless(io.RawIOBase):
    """A stream that never ends and must not be read past the limit."""

    def __init__(self) -> None:
        self.served = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        buffer[:] = b"x" * len(buffer)
        self.served += len(buffer)
        return len(buffer)


@pytest.mark.parametrize("limit", [1000, 11 * MIB])
def test_an_upload_over_the_limit_is_refused_and_leaves_nothing(storage, limit):
    stream = _Endless()
    with pytest.raises(TooLarge):
        storage.put(new_key(tags.PREFIX_INCOMING), stream, max_bytes=limit)
    assert stream.served < limit + 16 * MIB  # stopped reading soon after the limit
    assert _all_keys(storage) == []
    if isinstance(storage, S3Storage):
        uploads = storage.client.list_multipart_uploads(Bucket=BUCKET, Prefix=storage.key_prefix)
        assert uploads.get("Uploads", []) == []


def test_tags_are_merged_never_clobbered(storage):
    key = new_key(tags.PREFIX_INCOMING)
    storage.put(key, io.BytesIO(b"log line\n"), tags={tags.TAG_RETENTION: tags.RETENTION_ACTIVE})
    storage.put_tags(key, {tags.TAG_LEGAL_HOLD: tags.LEGAL_HOLD_OFF})
    merged = storage.put_tags(key, {tags.TAG_SCAN_STATUS: tags.SCAN_CLEAN})
    expected = {
        tags.TAG_RETENTION: tags.RETENTION_ACTIVE,
        tags.TAG_LEGAL_HOLD: tags.LEGAL_HOLD_OFF,
        tags.TAG_SCAN_STATUS: tags.SCAN_CLEAN,
    }
    assert merged == expected
    assert storage.get_tags(key) == expected
    storage.put_tags(key, {tags.TAG_RETENTION: tags.RETENTION_CLOSED})
    assert storage.get_tags(key) == {**expected, tags.TAG_RETENTION: tags.RETENTION_CLOSED}


def test_move_to_quarantine_keeps_the_name_and_the_tags(storage):
    key = new_key(tags.PREFIX_INCOMING)
    storage.put(key, io.BytesIO(b"X5O!P%@AP"), content_type="text/plain", tags={tags.TAG_LEGAL_HOLD: "false"})
    quarantined = rekey(key, tags.PREFIX_QUARANTINE)
    storage.move(key, quarantined, tags={tags.TAG_SCAN_STATUS: tags.SCAN_INFECTED})
    assert not storage.exists(key)
    assert storage.get_tags(quarantined) == {tags.TAG_LEGAL_HOLD: "false", tags.TAG_SCAN_STATUS: tags.SCAN_INFECTED}
    assert b"".join(storage.iter_chunks(quarantined)) == b"X5O!P%@AP"
    # Repeating a finished move (a redelivered task) reports the missing source, it does not destroy anything.
    with pytest.raises(ObjectNotFound):
        storage.move(key, quarantined)
    assert storage.exists(quarantined)


def test_copy_keeps_the_source(storage):
    key = new_key(tags.PREFIX_INCOMING)
    storage.put(key, io.BytesIO(b"abc"))
    copy = rekey(key, tags.PREFIX_EVIDENCE)
    storage.copy(key, copy, tags={tags.TAG_SCAN_STATUS: tags.SCAN_CLEAN})
    assert storage.exists(key)
    assert storage.exists(copy)
    assert storage.get_tags(key) == {}
    assert storage.get_tags(copy) == {tags.TAG_SCAN_STATUS: tags.SCAN_CLEAN}


def test_missing_objects_and_delete(storage):
    key = new_key(tags.PREFIX_EVIDENCE)
    for operation in (storage.size, storage.get_tags, lambda k: list(storage.iter_chunks(k))):
        with pytest.raises(ObjectNotFound):
            operation(key)
    assert not storage.exists(key)
    storage.put(key, io.BytesIO(b"abc"))
    storage.delete(key)
    storage.delete(key)  # idempotent
    assert not storage.exists(key)
    assert _all_keys(storage) == []


def test_health_check_leaves_nothing_behind(storage):
    storage.check()
    assert _all_keys(storage) == []
    if isinstance(storage, S3Storage):
        # Checked with what the web role may do (start and abort an upload in incoming/), not
        # HeadBucket, which needs s3:ListBucket; no upload is left open.
        uploads = storage.client.list_multipart_uploads(Bucket=BUCKET, Prefix=storage.key_prefix)
        assert uploads.get("Uploads", []) == []


def test_s3_health_check_names_a_missing_bucket(s3_endpoint):
    with pytest.raises(StorageError, match="no-such-bucket"):
        S3Storage(bucket="no-such-bucket", endpoint_url=s3_endpoint, region="us-east-1").check()


def test_s3_key_prefix_puts_everything_under_it(s3_endpoint):
    storage = S3Storage(bucket=BUCKET, key_prefix="pr-42/", endpoint_url=s3_endpoint, region="us-east-1")
    key = new_key(tags.PREFIX_INCOMING)
    storage.put(key, io.BytesIO(b"abc"))
    raw = storage.client.head_object(Bucket=BUCKET, Key=f"pr-42/{key}")
    assert raw["ContentLength"] == 3
    storage.delete(key)


def test_presigned_get_forces_a_download_with_the_detected_type(s3_endpoint):
    storage = S3Storage(bucket=BUCKET, endpoint_url=s3_endpoint, region="us-east-1")
    key = new_key(tags.PREFIX_EVIDENCE)
    storage.put(key, io.BytesIO(b"<html><script>alert(1)</script>"), content_type="text/html")
    url = storage.presigned_get_url(key, filename="報告 \r\nX: y.html", content_type="text/plain", expires_in=60)
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - a URL we just signed for moto
        assert response.read() == b"<html><script>alert(1)</script>"
        assert response.headers["Content-Type"] == "text/plain"
        disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment; ")
    assert "filename*=UTF-8''%E5%A0%B1%E5%91%8A%20X_%20y.html" in disposition
    assert "\r" not in disposition
    assert "\n" not in disposition
    assert "X-Amz-Expires=60" in url


def test_storages_share_one_session_and_each_keeps_its_own_endpoint(s3_endpoint, tmp_path):
    """Clients come from one boto3 session per process (its service models loaded once); each
    storage still talks to its own endpoint and bucket."""
    first = S3Storage(bucket=BUCKET, key_prefix="a/", endpoint_url=s3_endpoint, region="us-east-1")
    elsewhere = S3Storage(bucket="nowhere", endpoint_url="http://127.0.0.1:9", region="eu-west-1")
    assert first.client is not elsewhere.client
    assert first.client.meta.endpoint_url == s3_endpoint
    assert elsewhere.client.meta.endpoint_url == "http://127.0.0.1:9"
    assert elsewhere.client.meta.region_name == "eu-west-1"
    first.put(new_key(tags.PREFIX_INCOMING), io.BytesIO(b"still reaches moto"))


def test_a_child_forked_while_a_client_is_being_made_can_make_its_own(s3_endpoint):
    """Celery's prefork pool forks the worker. A fork while another thread holds the session's
    lock (mid-client) must not leave the child waiting on that lock for ever."""
    from shared.evidence import storage as storage_module

    with storage_module._session_lock:  # as another thread would, making a client
        child = os.fork()
        if child == 0:  # the child: it must make a client and exit, whatever the parent holds
            status = 1
            try:
                S3Storage(bucket=BUCKET, endpoint_url=s3_endpoint, region="us-east-1")
                status = 0
            finally:
                os._exit(status)
    deadline = time.monotonic() + 20
    while True:
        pid, status = os.waitpid(child, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            os.kill(child, signal.SIGKILL)
            os.waitpid(child, 0)
            pytest.fail("the forked child hung on the session lock its parent held")
        time.sleep(0.05)
    assert os.waitstatus_to_exitcode(status) == 0


def test_local_storage_cannot_presign(tmp_path):
    with pytest.raises(NotImplementedError):
        LocalStorage(tmp_path).presigned_get_url("evidence/x", filename="a", content_type="text/plain", expires_in=5)


def test_local_files_never_leave_their_root(tmp_path):
    storage = LocalStorage(tmp_path / "root")
    for key in ("../escape", "/etc/passwd", "incoming/../../x", "incoming/", "plain", "incoming/.hidden", "a//b"):
        with pytest.raises(ValueError, match="not a storage key"):
            storage.put(key, io.BytesIO(b"x"))
    assert not (tmp_path / "escape").exists()


def test_keys_are_uuids_under_the_agreed_prefixes():
    key = new_key(tags.PREFIX_INCOMING)
    assert key.startswith("incoming/")
    assert len(key) == len("incoming/") + 36
    assert check_key(key) == key
    assert rekey(key, tags.PREFIX_QUARANTINE) == "quarantine/" + key.removeprefix("incoming/")
    with pytest.raises(ValueError, match="unknown prefix"):
        new_key("../")


def test_merge_refuses_what_s3_would():
    with pytest.raises(ValueError, match="an object takes at most 10 tags, got 11"):
        merge_tags({f"k{i}": "v" for i in range(10)}, {"one-more": "v"})
    with pytest.raises(ValueError, match="has characters or a length S3 refuses"):
        merge_tags({}, {"scan-status": "clean\r\nx"})


def test_make_storage_follows_the_settings(tmp_path):
    local = make_storage(Settings(data_dir=str(tmp_path)))
    assert isinstance(local, LocalStorage)
    assert local.root == tmp_path / "evidence"
    s3 = make_storage(
        Settings(storage_backend="s3", s3_bucket="b", s3_key_prefix="pr-7/", s3_endpoint_url="http://127.0.0.1:1")
    )
    assert isinstance(s3, S3Storage)
    assert (s3.bucket, s3.key_prefix) == ("b", "pr-7/")


class _Zeros(io.RawIOBase):
    """`size` bytes produced on demand: the upload must not need them all in memory."""

    def __init__(self, size: int) -> None:
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        count = min(len(buffer), self.left)
        buffer[:count] = b"\0" * count
        self.left -= count
        return count


def _peak_memory_of_put(storage, size: int) -> int:
    import tracemalloc

    tracemalloc.start()
    try:
        stored = storage.put(new_key(tags.PREFIX_INCOMING), _Zeros(size))
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        assert stored.size == size


def test_memory_does_not_grow_with_the_file_size(storage):
    small, large = _peak_memory_of_put(storage, 40 * MIB), _peak_memory_of_put(storage, 120 * MIB)
    assert large < small + 4 * MIB, f"peak {small / MIB:.1f} MiB for 40 MiB, {large / MIB:.1f} MiB for 120 MiB"
    # S3 (5 MiB parts, 4 in flight): measured ~36 MiB, about 7 parts; local disk: one 1 MiB buffer.
    assert large < 48 * MIB


class _Unseekable(io.RawIOBase):
    """An upload as the web app streams it: `size` bytes from a socket, no seek, no length."""

    def __init__(self, size: int) -> None:
        self._left = size
        self._block = os.urandom(MIB)

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        step = min(self._left, MIB if size is None or size < 0 else size)
        self._left -= step
        return (self._block * (step // MIB + 1))[:step]


def test_a_streamed_upload_holds_about_three_parts_in_memory_whatever_its_size(s3_endpoint):
    import tracemalloc

    part = 5 * MIB
    storage = S3Storage(bucket=BUCKET, key_prefix="t-mem/", endpoint_url=s3_endpoint, region="us-east-1",
                        chunk_bytes=part)  # fmt: skip
    key = new_key(tags.PREFIX_INCOMING)
    tracemalloc.start()
    try:
        stored = storage.put(key, _Unseekable(60 * MIB))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert stored.size == 60 * MIB
    assert storage.size(key) == 60 * MIB
    # Two parts being sent, the next being read (and the read's own copy): the web worker's
    # memory does not grow with the file, nor with s3transfer's default of 10 parts in flight.
    assert peak < 5 * part, f"peak {peak / MIB:.1f} MiB with {part // MIB} MiB parts"
