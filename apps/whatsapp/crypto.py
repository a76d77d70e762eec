"""Encryption at rest for secrets such as access tokens (Fernet, key from the environment).

FIELD_ENCRYPTION_KEY may be a Fernet key (32 url-safe base64 bytes) or any other string, from
which a key is derived with SHA-256, so a plain passphrase in the environment still works.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


@functools.cache
def _fernet(key: str) -> Fernet:
    try:
        raw = base64.urlsafe_b64decode(key.encode())
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raw = hashlib.sha256(key.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(raw))


def encrypt(value: str) -> str:
    return _fernet(settings.FIELD_ENCRYPTION_KEY).encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet(settings.FIELD_ENCRYPTION_KEY).decrypt(token.encode()).decode()
    except InvalidToken as error:
        raise ValueError(
            "the stored secret cannot be decrypted with FIELD_ENCRYPTION_KEY"
        ) from error
