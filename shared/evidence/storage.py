"""Where evidence bytes live: one interface, two backends (S3 and local disk).

Callers speak in keys such as `incoming/7c9e...` (`new_key(PREFIX_INCOMING)`): a prefix from
shared/evidence/tags.py and a server-generated UUID, never a user's file name. The backend
adds S3_KEY_PREFIX (`pr-42/`) itself, so a preview sharing a bucket needs nothing else.

boto3 is imported here and nowhere else; callers get a `Storage` from `make_storage(settings)`.

Every put streams: memory stays near one multipart part (S3) or one copy buffer (local),
whatever the file size, and a size limit is enforced while reading, leaving nothing behind.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import shutil
import threading
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, Protocol
from urllib.parse import urlencode

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from shared.config import Settings
from shared.evidence import tags as tag_names
from shared.evidence.names import content_disposition

CHUNK_BYTES = 1024 * 1024
_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_TAG_TEXT = re.compile(r"^[A-Za-z0-9 +\-=._:/@]{0,256}$")  # what S3 accepts in tag keys and values
MAX_TAGS = 10  # S3's limit per object


class StorageError(Exception):
    """The storage could not do what was asked (network, permissions, missing bucket)."""


class ObjectNotFound(StorageError):
    """No object under that key."""


class StorageFull(StorageError):
    """The store has no space left (a full disk under the local backend); nothing was stored."""


class TooLarge(StorageError):
    """The stream was longer than the limit; nothing was stored."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"larger than the limit of {limit} bytes")
        self.limit = limit


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    sha256: str


@dataclass(frozen=True)
class ListedObject:
    key: str
    modified: datetime  # UTC


def new_key(prefix: str) -> str:
    """A fresh object key under one of the agreed prefixes: `incoming/<uuid4>`."""
    if prefix not in (
        tag_names.PREFIX_INCOMING,
        tag_names.PREFIX_EVIDENCE,
        tag_names.PREFIX_QUARANTINE,
        tag_names.PREFIX_THUMBNAILS,
    ):
        raise ValueError(f"unknown prefix {prefix!r}")
    return f"{prefix}{uuid.uuid4()}"


def rekey(key: str, prefix: str) -> str:
    """The same object name under another prefix: `incoming/<id>` -> `quarantine/<id>`."""
    return prefix + check_key(key).rsplit("/", 1)[1]


def check_key(key: str) -> str:
    """Refuse anything that is not `segment/segment`: no traversal, no absolute or empty parts."""
    parts = key.split("/")
    if len(parts) < 2 or not all(_SEGMENT.match(part) for part in parts) or ".." in key:
        raise ValueError(f"not a storage key: {key!r}")
    return key


def merge_tags(current: Mapping[str, str], updates: Mapping[str, str]) -> dict[str, str]:
    """The tag set after an update: S3 replaces the whole set on every write, so merge first."""
    merged = {**current, **updates}
    if len(merged) > MAX_TAGS:
        raise ValueError(f"an object takes at most {MAX_TAGS} tags, got {len(merged)}")
    for key, value in merged.items():
        if not key or not _TAG_TEXT.match(key) or not _TAG_TEXT.match(value) or len(key) > 128:
            raise ValueError(f"tag {key!r}={value!r} has characters or a length S3 refuses")
    return merged


class Readable(Protocol):
    """What an upload is read from: a file, or the web's streaming request-body reader."""

    def read(self, size: int = -1, /) -> bytes: ...


class _LimitedReader:
    """Reads a stream through, hashing and counting; raises TooLarge past the limit."""

    def __init__(self, stream: Readable, limit: int | None) -> None:
        self._stream = stream
        self._limit = limit
        self.size = 0
        self.hash = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size if size is not None and size >= 0 else CHUNK_BYTES)
        self.size += len(data)
        if self._limit is not None and self.size > self._limit:
            raise TooLarge(self._limit)
        self.hash.update(data)
        return data


class Storage(Protocol):
    """What the web app and the worker may do with evidence bytes."""

    supports_presigned_urls: bool

    def put(
        self,
        key: str,
        stream: Readable,
        *,
        content_type: str = "application/octet-stream",
        tags: Mapping[str, str] | None = None,
        max_bytes: int | None = None,
    ) -> StoredObject:
        """Stream `stream` to `key`; TooLarge past `max_bytes`, leaving nothing behind.

        The web app passes no `tags`: on S3 a PutObject with tags needs s3:PutObjectTagging,
        which the bucket policy grants only to the worker role."""
        ...

    def open(self, key: str) -> contextlib.AbstractContextManager[BinaryIO]: ...

    def iter_chunks(self, key: str, chunk_size: int = CHUNK_BYTES) -> Iterator[bytes]: ...

    def size(self, key: str) -> int: ...

    def exists(self, key: str) -> bool: ...

    def copy(self, source: str, destination: str, *, tags: Mapping[str, str] | None = None) -> None: ...

    def move(self, source: str, destination: str, *, tags: Mapping[str, str] | None = None) -> None: ...

    def get_tags(self, key: str) -> dict[str, str]: ...

    def put_tags(self, key: str, updates: Mapping[str, str]) -> dict[str, str]: ...

    def set_legal_hold(self, key: str, on: bool) -> None:
        """Put every stored version of `key` on legal hold (`on`) or lift it, where the store
        has such a hold (an S3 bucket with Object Lock); elsewhere nothing. The worker calls it
        beside the `legal-hold` tag, which stays the record the lifecycle rules read, and the
        orphan sweep lifts it before deleting an object no evidence row needs."""
        ...

    def delete(self, key: str) -> None: ...

    def list_objects(self, prefix: str) -> Iterator[ListedObject]: ...

    def presigned_get_url(self, key: str, *, filename: str, content_type: str, expires_in: int) -> str: ...

    def check(self) -> None: ...


def make_storage(settings: Settings) -> Storage:
    """The backend the settings choose."""
    if settings.storage_backend == "s3":
        return S3Storage(
            bucket=settings.s3_bucket,
            key_prefix=settings.s3_key_prefix,
            endpoint_url=settings.s3_endpoint_url or None,
            region=settings.aws_region or None,
            chunk_bytes=settings.s3_multipart_chunk_bytes,
        )
    return LocalStorage(settings.effective_local_storage_path)


# -- local disk ------------------------------------------------------------------------------------


class LocalStorage:
    """Files under one folder; tags in a JSON file beside each object (under `.tags/`).

    The embedded default. A put writes `.partial/<uuid>` and renames it into place, so a
    reader never sees half a file and a refused upload leaves nothing."""

    supports_presigned_urls = False

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def _tags_path(self, key: str) -> Path:
        return self.root / ".tags" / f"{check_key(key)}.json"

    def put(self, key, stream, *, content_type="application/octet-stream", tags=None, max_bytes=None) -> StoredObject:
        target = self._path(key)
        partial = self.root / ".partial" / str(uuid.uuid4())
        partial.parent.mkdir(parents=True, exist_ok=True)
        reader = _LimitedReader(stream, max_bytes)
        try:
            with partial.open("wb") as out:
                while chunk := reader.read(CHUNK_BYTES):
                    out.write(chunk)
            target.parent.mkdir(parents=True, exist_ok=True)
            self._write_tags(key, merge_tags({}, tags or {}))
            os.replace(partial, target)
        except BaseException as error:
            partial.unlink(missing_ok=True)
            if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
                raise StorageFull(f"no space left in {self.root}") from error
            if isinstance(error, OSError) and error.errno in (errno.EROFS, errno.EACCES, errno.EIO):
                raise StorageError(f"local storage at {self.root} failed: {error}") from error
            raise
        return StoredObject(key=key, size=reader.size, sha256=reader.hash.hexdigest())

    @contextlib.contextmanager
    def open(self, key: str) -> Iterator[BinaryIO]:
        try:
            handle = self._path(key).open("rb")
        except FileNotFoundError:
            raise ObjectNotFound(key) from None
        with handle:
            yield handle

    def iter_chunks(self, key: str, chunk_size: int = CHUNK_BYTES) -> Iterator[bytes]:
        with self.open(key) as handle:
            while chunk := handle.read(chunk_size):
                yield chunk

    def size(self, key: str) -> int:
        try:
            return self._path(key).stat().st_size
        except FileNotFoundError:
            raise ObjectNotFound(key) from None

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def copy(self, source: str, destination: str, *, tags: Mapping[str, str] | None = None) -> None:
        merged = merge_tags(self.get_tags(source), tags or {})
        target = self._path(destination)
        partial = self.root / ".partial" / str(uuid.uuid4())
        partial.parent.mkdir(parents=True, exist_ok=True)
        try:
            shutil.copyfile(self._path(source), partial)
            target.parent.mkdir(parents=True, exist_ok=True)
            self._write_tags(destination, merged)
            os.replace(partial, target)
        except FileNotFoundError:
            partial.unlink(missing_ok=True)
            raise ObjectNotFound(source) from None

    def move(self, source: str, destination: str, *, tags: Mapping[str, str] | None = None) -> None:
        merged = merge_tags(self.get_tags(source), tags or {})
        target = self._path(destination)
        target.parent.mkdir(parents=True, exist_ok=True)
        self._write_tags(destination, merged)
        try:
            os.replace(self._path(source), target)
        except FileNotFoundError:
            raise ObjectNotFound(source) from None
        self._tags_path(source).unlink(missing_ok=True)

    def get_tags(self, key: str) -> dict[str, str]:
        if not self.exists(key):
            raise ObjectNotFound(key)
        try:
            return json.loads(self._tags_path(key).read_text())
        except FileNotFoundError:
            return {}

    def put_tags(self, key: str, updates: Mapping[str, str]) -> dict[str, str]:
        merged = merge_tags(self.get_tags(key), updates)
        self._write_tags(key, merged)
        return merged

    def set_legal_hold(self, key: str, on: bool) -> None:
        """Nothing to do: local disk has no versions and no lifecycle that could remove a held
        file, and the app deletes only files no evidence row needs (shared/evidence/orphans.py),
        so the `legal-hold` tag beside the file is the whole record of the hold."""

    def _write_tags(self, key: str, tags: Mapping[str, str]) -> None:
        path = self._tags_path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
        partial.write_text(json.dumps(dict(tags), sort_keys=True))
        os.replace(partial, path)

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)
        self._tags_path(key).unlink(missing_ok=True)

    def list_objects(self, prefix: str) -> Iterator[ListedObject]:
        """Objects directly under `prefix` (`incoming/`), with their modification time.

        `.partial/` lists the temporary files of puts that never finished (a crashed process)."""
        folder = self.root / prefix
        if not folder.is_dir():
            return
        for path in folder.iterdir():
            with contextlib.suppress(FileNotFoundError):  # moved or deleted meanwhile
                if path.is_file():
                    yield ListedObject(f"{prefix}{path.name}", datetime.fromtimestamp(path.stat().st_mtime, UTC))

    def presigned_get_url(self, key: str, *, filename: str, content_type: str, expires_in: int) -> str:
        raise NotImplementedError("local storage is streamed by the web app, not presigned")

    def check(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        probe = self.root / ".partial" / f"health-{uuid.uuid4().hex}"
        try:
            probe.parent.mkdir(parents=True, exist_ok=True)
            probe.write_bytes(b"ok")
            probe.unlink()
        except OSError as error:
            raise StorageError(f"local storage at {self.root} is not writable: {error}") from error


# -- S3 ---------------------------------------------------------------------------------------------


# One boto3 session per process for every S3 client. A new Session loads botocore's service
# models again: ~90 ms of CPU per S3 client here, against ~19 ms from a session that has them
# (each test app, worker runtime and `flask audit` command makes a client). Sessions are not
# thread-safe, so clients are made under a lock (the clients themselves are thread-safe); a
# forked child (Celery's prefork pool) gets a fresh lock, never one held by a parent's thread.
# Credentials are resolved once per process, as boto3's own default session does; the ECS task
# role's refresh themselves.
_session: boto3.session.Session | None = None
_session_lock = threading.Lock()


def _renew_session_lock_after_fork() -> None:
    global _session_lock
    _session_lock = threading.Lock()


os.register_at_fork(after_in_child=_renew_session_lock_after_fork)


def _s3_client(**options: Any) -> Any:
    global _session
    with _session_lock:
        if _session is None:
            _session = boto3.session.Session()
        return _session.client("s3", **options)


class S3Storage:
    """Objects in one bucket, all keys under `key_prefix`. Credentials come from boto3's own
    chain (the ECS task role; AWS_ACCESS_KEY_ID/... for MinIO or moto)."""

    supports_presigned_urls = True

    def __init__(
        self,
        *,
        bucket: str,
        key_prefix: str = "",
        endpoint_url: str | None = None,
        region: str | None = None,
        chunk_bytes: int = 6 * 1024 * 1024,
        max_concurrency: int = 4,
    ) -> None:
        self.bucket = bucket
        self.key_prefix = key_prefix
        config = Config(
            signature_version="s3v4",
            # A custom endpoint (moto, MinIO) serves buckets by path, not by virtual host.
            s3={"addressing_style": "path" if endpoint_url else "auto"},
            retries={"max_attempts": 3, "mode": "standard"},
            # A readiness probe or a publish-side check must fail fast, not hang on a dead endpoint.
            connect_timeout=5,
            read_timeout=60,
        )
        self.client = _s3_client(endpoint_url=endpoint_url, region_name=region, config=config)
        self._transfer = TransferConfig(
            multipart_threshold=chunk_bytes,
            multipart_chunksize=chunk_bytes,
            max_concurrency=max_concurrency,
            preferred_transfer_client="classic",
        )
        # An upload from a stream (the web app's, read from the request) holds its parts in
        # memory: two being sent while the next is read, so reading the request and sending
        # to S3 overlap and S3 (moto here) receives two parts at once. s3transfer's default
        # of 10 held parts cost the web worker +101 MiB RSS on a big upload. Measured on an
        # idle machine (README "Evidence uploads and the pipeline"), 1 GiB into moto in 8 MiB
        # parts: one part 0.67x boto3, two 0.91x, three 0.92x at +65 MiB RSS. Two it is, with
        # smaller parts (S3_MULTIPART_CHUNK_BYTES). boto3's TransferConfig takes it only as an
        # attribute.
        self._transfer.max_in_memory_upload_chunks = 2
        # Whether the bucket has S3 Object Lock (prod: yes; dev, staging, previews, MinIO: no),
        # asked the bucket on the first legal-hold change (`object_lock_enabled`). Asked rather
        # than configured: a setting could disagree with the bucket, and a wrong "off" would
        # silently leave held evidence deletable again.
        self._object_lock: bool | None = None

    def _full(self, key: str) -> str:
        return self.key_prefix + check_key(key)

    @contextlib.contextmanager
    def _errors(self, key: str) -> Iterator[None]:
        try:
            yield
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code in ("404", "NoSuchKey", "NotFound"):
                raise ObjectNotFound(key) from None
            raise StorageError(f"S3 {code or 'error'} on {key}: {error}") from error
        except BotoCoreError as error:
            raise StorageError(f"S3 unreachable ({key}): {error}") from error

    def put(self, key, stream, *, content_type="application/octet-stream", tags=None, max_bytes=None) -> StoredObject:
        reader = _LimitedReader(stream, max_bytes)
        extra = {"ContentType": content_type}
        if tags:
            extra["Tagging"] = urlencode(merge_tags({}, tags))
        full = self._full(key)
        try:
            with self._errors(key):
                # upload_fileobj streams: multipart above the threshold, aborting the upload on failure.
                self.client.upload_fileobj(reader, self.bucket, full, ExtraArgs=extra, Config=self._transfer)
        except BaseException:
            # A refused upload leaves no object (a small one may have been written in one PUT).
            with contextlib.suppress(ClientError, BotoCoreError):
                self.client.delete_object(Bucket=self.bucket, Key=full)
            raise
        return StoredObject(key=key, size=reader.size, sha256=reader.hash.hexdigest())

    @contextlib.contextmanager
    def open(self, key: str) -> Iterator[BinaryIO]:
        with self._errors(key):
            body = self.client.get_object(Bucket=self.bucket, Key=self._full(key))["Body"]
        try:
            yield body
        finally:
            body.close()

    def iter_chunks(self, key: str, chunk_size: int = CHUNK_BYTES) -> Iterator[bytes]:
        with self.open(key) as body:
            while chunk := body.read(chunk_size):
                yield chunk

    def size(self, key: str) -> int:
        with self._errors(key):
            return self.client.head_object(Bucket=self.bucket, Key=self._full(key))["ContentLength"]

    def exists(self, key: str) -> bool:
        try:
            self.size(key)
        except ObjectNotFound:
            return False
        return True

    def copy(self, source: str, destination: str, *, tags: Mapping[str, str] | None = None) -> None:
        merged = merge_tags(self.get_tags(source), tags or {})
        with self._errors(source):
            # The managed copy switches to multipart copy for objects over 5 GB; metadata and
            # content type come along. Tags are written afterwards, merged, on the new object.
            self.client.copy(
                {"Bucket": self.bucket, "Key": self._full(source)},
                self.bucket,
                self._full(destination),
                Config=self._transfer,
            )
            self.client.put_object_tagging(Bucket=self.bucket, Key=self._full(destination), Tagging=_tag_set(merged))

    def move(self, source: str, destination: str, *, tags: Mapping[str, str] | None = None) -> None:
        # S3 has no rename: copy, then delete. A crash between the two leaves both objects,
        # and repeating the move finishes the job (the copy is idempotent).
        self.copy(source, destination, tags=tags)
        self.delete(source)

    def get_tags(self, key: str) -> dict[str, str]:
        with self._errors(key):
            answer = self.client.get_object_tagging(Bucket=self.bucket, Key=self._full(key))
        return {tag["Key"]: tag["Value"] for tag in answer.get("TagSet", [])}

    def put_tags(self, key: str, updates: Mapping[str, str]) -> dict[str, str]:
        # PutObjectTagging replaces the whole set: read, merge, write. Only the worker writes
        # tags, one task per object at a time, so the read-merge-write does not race.
        merged = merge_tags(self.get_tags(key), updates)
        with self._errors(key):
            self.client.put_object_tagging(Bucket=self.bucket, Key=self._full(key), Tagging=_tag_set(merged))
        return merged

    def object_lock_enabled(self) -> bool:
        """Whether the bucket has S3 Object Lock; asked once per storage object (a worker process).

        Object Lock can only be turned on, never off, so a cached yes stays true; a bucket that
        gets it later is noticed when the worker restarts. An error (AccessDenied, throttling)
        is a StorageError and is not remembered: the next call asks again."""
        if self._object_lock is None:
            answer: dict = {}
            with self._errors(f"s3://{self.bucket}"):
                try:
                    answer = self.client.get_object_lock_configuration(Bucket=self.bucket)
                except ClientError as error:
                    if error.response.get("Error", {}).get("Code") != "ObjectLockConfigurationNotFoundError":
                        raise
            self._object_lock = answer.get("ObjectLockConfiguration", {}).get("ObjectLockEnabled") == "Enabled"
        return self._object_lock

    def set_legal_hold(self, key: str, on: bool) -> None:
        """S3 Object Lock legal hold ON or OFF on every version of `key`; nothing without Object Lock.

        A legal hold belongs to one object version, and a held version outlives a plain delete
        (the orphan sweep, an operator, a lifecycle expiration add a delete marker above it)
        and the noncurrent-version lifecycle rule. So both directions reach every version the
        key has: a hold also keeps what was deleted but not yet purged, and a lift leaves no
        version held for ever (nobody but the worker may lift one: the bucket policy). A key
        normally has one version; a redelivered task may have written a second, identical one.
        ObjectNotFound when the key has no version at all."""
        if not self.object_lock_enabled():
            return
        full = self._full(key)
        with self._errors(key):
            pages = self.client.get_paginator("list_object_versions").paginate(Bucket=self.bucket, Prefix=full)
            # The prefix also matches longer keys; delete markers (DeleteMarkers) take no hold.
            versions = [item["VersionId"] for page in pages for item in page.get("Versions", []) if item["Key"] == full]
            if not versions:
                raise ObjectNotFound(key)
            for version in versions:
                self.client.put_object_legal_hold(
                    Bucket=self.bucket, Key=full, VersionId=version, LegalHold={"Status": "ON" if on else "OFF"}
                )

    def delete(self, key: str) -> None:
        with self._errors(key):
            self.client.delete_object(Bucket=self.bucket, Key=self._full(key))

    def list_objects(self, prefix: str) -> Iterator[ListedObject]:
        """Objects under `prefix` (inside S3_KEY_PREFIX), keys without S3_KEY_PREFIX."""
        with self._errors(f"s3://{self.bucket}/{self.key_prefix}{prefix}"):
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self.key_prefix + prefix
            )
            for page in pages:
                for item in page.get("Contents", []):
                    yield ListedObject(item["Key"][len(self.key_prefix) :], item["LastModified"].astimezone(UTC))

    def presigned_get_url(self, key: str, *, filename: str, content_type: str, expires_in: int) -> str:
        """A short-lived GET that makes the browser save the file under its display name, with
        the type the worker detected (never the uploader's claim)."""
        with self._errors(key):
            return self.client.generate_presigned_url(
                "get_object",
                Params={
                    "Bucket": self.bucket,
                    "Key": self._full(key),
                    "ResponseContentDisposition": content_disposition(filename),
                    "ResponseContentType": content_type,
                },
                ExpiresIn=expires_in,
            )

    def check(self) -> None:
        """Reachable and writable with the web role's own permissions: start a multipart upload
        under incoming/ and abort it, which leaves no object. (HeadBucket would need
        s3:ListBucket, which no task role has: terraform/modules/iam.)"""
        key = self._full(new_key(tag_names.PREFIX_INCOMING))
        with self._errors(f"s3://{self.bucket}/{self.key_prefix}"):
            upload = self.client.create_multipart_upload(Bucket=self.bucket, Key=key)
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload["UploadId"])


def _tag_set(tags: Mapping[str, str]) -> dict:
    return {"TagSet": [{"Key": key, "Value": value} for key, value in sorted(tags.items())]}


__all__ = [
    "ListedObject",
    "LocalStorage",
    "ObjectNotFound",
    "S3Storage",
    "Storage",
    "StorageError",
    "StorageFull",
    "StoredObject",
    "TooLarge",
    "check_key",
    "make_storage",
    "merge_tags",
    "new_key",
    "rekey",
]
