"""`Idempotency-Key` for the public API's POST, PUT, PATCH and DELETE.

The first completed response (status, body, Content-Type, Location) is kept in Redis for 24 h
under (API key record, Idempotency-Key): the record's id survives a rotation of its secret,
and two keys never share an entry. A retry gets that response again with
`Idempotent-Replayed: true`, whatever body it sends. While the first request runs, the entry
holds an "in progress" marker with a token; a retry then gets 409 `idempotency_in_progress`,
and only the request holding the token may complete or drop the entry. 5xx responses are not
kept: the entry is dropped so that the client can retry.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass

from django.http import HttpResponse

from apps.api.errors import ENVELOPE_ATTRIBUTE, ErrorCode
from apps.api.redis import redis_client
from apps.core.errors import ApplicationError

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MAX_KEY_LENGTH = 255
RESPONSE_TTL = 24 * 3600
# A request holds its marker at most this long (gunicorn kills a worker well before).
IN_PROGRESS_TTL = 300
REPLAYED_HEADERS = ("Content-Type", "Location")
_IN_PROGRESS = "in_progress:"

# Replace the entry only while it still holds our marker.
_COMPLETE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  if ARGV[2] == '' then redis.call('DEL', KEYS[1])
  else redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3]) end
  return 1
end
return 0
"""


class IdempotencyInProgress(ApplicationError):
    status = 409
    code = ErrorCode.IDEMPOTENCY_IN_PROGRESS


@dataclass(frozen=True)
class IdempotencyClaim:
    redis_key: str
    marker: str
    request_signature: str = ""


class IdempotentReplay(Exception):  # noqa: N818  (control flow, not an error)
    """Raised before the handler runs when a stored response answers the request."""

    def __init__(self, response: HttpResponse) -> None:
        super().__init__("idempotent replay")
        self.response = response


def _redis_key(api_key_id: int, idempotency_key: str) -> str:
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()
    return f"idempotency:{api_key_id}:{digest}"


def validate_idempotency_key(value: str) -> str:
    if not value or len(value) > MAX_KEY_LENGTH:
        raise ApplicationError(
            f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters.",
            code=ErrorCode.INVALID_REQUEST,
            status=400,
            details={"header": "Idempotency-Key", "max_length": MAX_KEY_LENGTH},
        )
    return value


def idempotency_begin(
    *, api_key_id: int, idempotency_key: str, request_signature: str = ""
) -> IdempotencyClaim:
    """Claim the key for this request, or raise IdempotentReplay / IdempotencyInProgress.

    A retry replays whatever its body, but only for the same method and path: a key reused
    for another operation is a client bug, answered with 409 rather than with another
    operation's response."""
    validate_idempotency_key(idempotency_key)
    client = redis_client()
    redis_key = _redis_key(api_key_id, idempotency_key)
    marker = _IN_PROGRESS + secrets.token_hex(8)
    for _ in range(3):
        if client.set(redis_key, marker, nx=True, ex=IN_PROGRESS_TTL):
            return IdempotencyClaim(
                redis_key=redis_key, marker=marker, request_signature=request_signature
            )
        stored = client.get(redis_key)
        if stored is None:
            continue  # it expired or was dropped between our two calls: claim again
        if stored.decode().startswith(_IN_PROGRESS):
            raise IdempotencyInProgress(
                "A request with this Idempotency-Key is still being processed; retry later."
            )
        stored_response = json.loads(stored)
        first_request = stored_response.get("request", "")
        if first_request and request_signature and first_request != request_signature:
            raise ApplicationError(
                f"This Idempotency-Key was first used for {first_request}; "
                "use a new key for a different request.",
                code=ErrorCode.CONFLICT,
                status=409,
                details={"header": "Idempotency-Key", "first_request": first_request},
            )
        raise IdempotentReplay(_replay(stored_response))
    raise IdempotencyInProgress("This Idempotency-Key is busy; retry later.")


def idempotency_complete(*, claim: IdempotencyClaim, response: HttpResponse) -> None:
    """Keep the response for replays, or drop the claim if it is a 5xx."""
    if response.status_code >= 500 or response.streaming:
        # A streamed body cannot be kept; the claim is dropped so that a retry runs again.
        payload = ""
    else:
        payload = json.dumps(
            {
                "status": response.status_code,
                "body": base64.b64encode(response.content).decode(),
                "headers": {h: response[h] for h in REPLAYED_HEADERS if response.has_header(h)},
                "request": claim.request_signature,
            }
        )
    redis_client().eval(_COMPLETE, 1, claim.redis_key, claim.marker, payload, RESPONSE_TTL)


def _replay(stored: dict) -> HttpResponse:
    response = HttpResponse(base64.b64decode(stored["body"]), status=stored["status"])
    for header, value in stored["headers"].items():
        response[header] = value
    response["Idempotent-Replayed"] = "true"
    # A stored error is already an envelope (with the first request's id): keep it as it was.
    setattr(response, ENVELOPE_ATTRIBUTE, response.status_code >= 400)
    return response
