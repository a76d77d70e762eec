"""The request id of the work in progress, for logs and responses.

A contextvar rather than a thread-local so that it follows the request into async code too.
"""

from __future__ import annotations

import re
import secrets
from contextvars import ContextVar

current_request_id: ContextVar[str] = ContextVar("current_request_id", default="-")
# The client address of the request in progress, for audit entries written deep in services.
current_client_ip: ContextVar[str | None] = ContextVar("current_client_ip", default=None)

# What we accept from a client: at most 128 characters that cannot break a header or a log line.
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


def new_request_id() -> str:
    return f"req_{secrets.token_hex(6)}"


def request_id_from_client(value: str | None) -> str:
    if value and _SAFE_REQUEST_ID.match(value):
        return value
    return new_request_id()
