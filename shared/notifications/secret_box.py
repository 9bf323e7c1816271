"""Webhook signing secrets at rest: encrypted with a key derived from SECRET_KEY.

The database holds only Fernet tokens (AES-128-CBC + HMAC-SHA256, from `cryptography`): a dump or
a read replica alone cannot forge our signatures. Changing SECRET_KEY makes stored secrets
unreadable; deliveries then fail with a message saying to rotate each endpoint's secret.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_INFO = b"incident-tracker webhook signing secrets v1"


class SecretUnreadable(RuntimeError):
    """A stored secret does not decrypt with this SECRET_KEY (it was changed since)."""


def _fernet(secret_key: str) -> Fernet:
    if not secret_key:
        raise ValueError("SECRET_KEY is needed to store webhook secrets")
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def seal(secret: str, *, secret_key: str) -> str:
    return _fernet(secret_key).encrypt(secret.encode()).decode("ascii")


def unseal(token: str, *, secret_key: str) -> str:
    try:
        return _fernet(secret_key).decrypt(token.encode("ascii")).decode()
    except (InvalidToken, ValueError):
        raise SecretUnreadable(
            "The endpoint's signing secret cannot be read with the current SECRET_KEY; rotate the secret."
        ) from None
