"""Helpers for the evidence tests (a module of its own: `conftest` is not importable by name)."""

from __future__ import annotations

import hashlib
import uuid

from shared.evidence.storage import StoredObject


def stored(data: bytes = b"hello") -> StoredObject:
    """What storage.put returns for `data` (the service tests never touch storage)."""
    return StoredObject(key=f"incoming/{uuid.uuid4()}", size=len(data), sha256=hashlib.sha256(data).hexdigest())
