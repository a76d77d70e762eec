"""Meta's webhooks: /webhooks/whatsapp.

GET is Meta's verification handshake. POST is checked against X-Hub-Signature-256 before its
body is parsed (a bad or missing signature is 403 and stores nothing), stored raw in the
public schema (`MetaCallback`), then acknowledged: the work happens in a worker
(`apps.messaging.callbacks_drain`). A crash anywhere after the INSERT loses nothing: the row
waits until a drain processes it.

A 100,000 recipient campaign brings 300,000 callbacks within minutes, so the POST also has a
WSGI fast path (`receiver_fast_path`, installed in lynkist/wsgi.py) that answers it without
Django's middleware and URL resolution, which cost more than the work itself (signature,
a share of one INSERT that the process's writer thread makes for every callback waiting,
a Redis SET at most every 50 ms). The Django view below serves GET and any server not using
lynkist/wsgi.py; both call `callback_receive`, so the rules live in one place.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable, Iterable

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from apps.messaging.callbacks_drain import callback_store
from apps.messaging.services import meta_signature_valid

logger = logging.getLogger(__name__)

RECEIVER_PATH = "/webhooks/whatsapp"


def callback_receive(*, body: bytes, signature: str | None) -> tuple[int, str]:
    """(HTTP status, text) for one POST from Meta: 403 and nothing stored unless the
    signature is the app secret's HMAC of these exact bytes; 503 when the row could not be
    stored (Meta retries), 200 once it is committed."""
    if not meta_signature_valid(body=body, header=signature, secret=settings.META_APP_SECRET):
        return 403, "invalid signature"
    try:
        callback_store(body=body)
    except DatabaseError:
        # A connection broken since the last request (database restarted): one fresh try.
        connection.close()
        try:
            callback_store(body=body)
        except DatabaseError:
            logger.exception("could not store a Meta callback")
            connection.close()
            return 503, "try again later"
    return 200, "EVENT_RECEIVED"


@csrf_exempt
@require_http_methods(["GET", "POST"])
def whatsapp_webhook(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _verify(request)
    status, text = callback_receive(
        body=request.body, signature=request.headers.get("X-Hub-Signature-256")
    )
    return HttpResponse(text, status=status, content_type="text/plain")


def _verify(request: HttpRequest) -> HttpResponse:
    mode = request.GET.get("hub.mode", "")
    token = request.GET.get("hub.verify_token", "")
    challenge = request.GET.get("hub.challenge", "")
    expected = settings.META_VERIFY_TOKEN or ""
    if mode == "subscribe" and expected and hmac.compare_digest(token.encode(), expected.encode()):
        return HttpResponse(challenge, content_type="text/plain")
    return HttpResponse("verification failed", status=403, content_type="text/plain")


# --- WSGI fast path -------------------------------------------------------------------------

WSGIApp = Callable[[dict, Callable], Iterable[bytes]]
_REASONS = {
    200: "200 OK",
    400: "400 Bad Request",
    403: "403 Forbidden",
    413: "413 Content Too Large",
    503: "503 Service Unavailable",
}


def receiver_fast_path(app: WSGIApp) -> WSGIApp:
    """Wrap the Django WSGI application so that POST /webhooks/whatsapp is answered directly;
    every other request goes to Django untouched."""

    def application(environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "POST" or environ.get("PATH_INFO") != RECEIVER_PATH:
            return app(environ, start_response)
        status, text = _fast_receive(environ)
        payload = text.encode()
        start_response(
            _REASONS[status],
            [
                ("Content-Type", "text/plain"),
                ("Content-Length", str(len(payload))),
                ("X-Content-Type-Options", "nosniff"),
            ],
        )
        return [payload]

    return application


def _fast_receive(environ: dict) -> tuple[int, str]:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 400, "bad Content-Length"
    if length < 0:
        return 400, "bad Content-Length"
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if limit is not None and length > limit:
        return 413, "body too large"
    body = environ["wsgi.input"].read(length) if length else b""
    return callback_receive(body=body, signature=environ.get("HTTP_X_HUB_SIGNATURE_256"))
