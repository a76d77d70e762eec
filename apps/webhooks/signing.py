"""Standard Webhooks signatures (https://www.standardwebhooks.com/): a secret `whsec_` +
base64 random bytes; `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`,
several space-separated signatures while two secrets are valid."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

SECRET_PREFIX = "whsec_"
# 24 bytes: the length Standard Webhooks' reference libraries generate (192 bits).
SECRET_BYTES = 24
USER_AGENT = "Lynkist-Webhooks/1"


def secret_new() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def signature(*, secret: str, msg_id: str, timestamp: int, body: str) -> str:
    digest = hmac.new(
        _key(secret), f"{msg_id}.{timestamp}.{body}".encode(), hashlib.sha256
    ).digest()
    return "v1," + base64.b64encode(digest).decode()


def signed_headers(
    *, secrets_: list[str], msg_id: str, timestamp: int, body: str
) -> dict[str, str]:
    """The headers of one request: every valid secret signs it, the newest first."""
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(
            signature(secret=s, msg_id=msg_id, timestamp=timestamp, body=body) for s in secrets_
        ),
    }
