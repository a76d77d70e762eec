"""Meta's webhooks: /webhooks/whatsapp.

GET is Meta's verification handshake. POST is checked against X-Hub-Signature-256 before its
body is parsed (a bad or missing signature is 403 and stores nothing), stored raw in the
public schema (`MetaCallback`), then acknowledged: the work happens in a worker
(`apps.messaging.callbacks_drain`). A crash anywhere after the INSERT loses nothing: the row
waits until a drain processes it.
"""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from apps.messaging.callbacks_drain import callback_store
from apps.messaging.services import meta_signature_valid


@csrf_exempt
@require_http_methods(["GET", "POST"])
def whatsapp_webhook(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _verify(request)
    body = request.body
    if not meta_signature_valid(
        body=body,
        header=request.headers.get("X-Hub-Signature-256"),
        secret=settings.META_APP_SECRET,
    ):
        return HttpResponse("invalid signature", status=403, content_type="text/plain")
    callback_store(body=body)
    return HttpResponse("EVENT_RECEIVED", content_type="text/plain")


def _verify(request: HttpRequest) -> HttpResponse:
    mode = request.GET.get("hub.mode", "")
    token = request.GET.get("hub.verify_token", "")
    challenge = request.GET.get("hub.challenge", "")
    expected = settings.META_VERIFY_TOKEN or ""
    if mode == "subscribe" and expected and hmac.compare_digest(token.encode(), expected.encode()):
        return HttpResponse(challenge, content_type="text/plain")
    return HttpResponse("verification failed", status=403, content_type="text/plain")
