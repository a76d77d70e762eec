from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from apps.core.request_id import current_client_ip, current_request_id, request_id_from_client


class RequestIdMiddleware:
    """Give every request an id (the client's if it is safe), echo it in `X-Request-Id` and
    put it in every log line written while the request runs."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request_id_from_client(request.headers.get("X-Request-Id"))
        request.request_id = request_id
        token = current_request_id.set(request_id)
        ip_token = current_client_ip.set(request.META.get("REMOTE_ADDR"))
        try:
            response = self.get_response(request)
        finally:
            current_request_id.reset(token)
            current_client_ip.reset(ip_token)
        response["X-Request-Id"] = request_id
        return response


# Scripts and styles only from our own origin: no inline script anywhere, so an injected
# <script> in user content cannot run even if escaping were ever missed.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


class ContentSecurityPolicyMiddleware:
    """Send the site's CSP on every response that does not set its own."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return response
