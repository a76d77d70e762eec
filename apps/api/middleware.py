"""Errors that never reach a public API view still leave in the envelope.

Unknown paths (Django's 404), crashes outside DRF (Django logs them with their traceback and
the request id, then answers 500), and anything else that produces a non-envelope 4xx/5xx
under `/api/v1/public/` is rewritten here. Views' own errors
are already envelopes (see apps/api/errors.py) and pass through untouched.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.module_loading import import_string

from apps.api.authentication import PREFETCH_ATTRIBUTE, prefetch_admission
from apps.api.errors import (
    DEFAULT_MESSAGES,
    ENVELOPE_ATTRIBUTE,
    PUBLIC_API_PREFIX,
    ErrorCode,
    error_json_response,
)

_CODES = {
    400: ErrorCode.INVALID_REQUEST,
    401: ErrorCode.AUTHENTICATION_REQUIRED,
    403: ErrorCode.PERMISSION_DENIED,
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.METHOD_NOT_ALLOWED,
}


class PublicApiErrorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code >= 400
            and request.path_info.startswith(PUBLIC_API_PREFIX.rstrip("/"))
            and not getattr(response, ENVELOPE_ATTRIBUTE, False)
        ):
            return self._envelope(response)
        return response

    @staticmethod
    def _envelope(original: HttpResponse) -> HttpResponse:
        status = original.status_code
        code = _CODES.get(status, ErrorCode.INTERNAL_ERROR if status >= 500 else "error")
        message = DEFAULT_MESSAGES.get(status, DEFAULT_MESSAGES[500] if status >= 500 else "")
        response = error_json_response(status=status, code=code, message=message)
        if original.has_header("Allow"):
            response["Allow"] = original["Allow"]
        return response


class RateLimitPrefetchMiddleware:
    """Sends a public API request's rate-limit count to Redis as the request comes in, so
    the round trip overlaps the work between here and the view's authentication (middleware,
    URL resolution, DRF's set-up) instead of adding to it: about 0.1 ms of a `GET /me` on a
    quiet 2-core VM, where waking Redis and then the worker costs more than the round trip's
    own 75 µs.

    Only for a key this process holds a copy of that would admit the request
    (apps.api.authentication.prefetch_admission); the view's authentication takes the count
    over and decides as before. A request no view authenticated (an unknown path, the
    OpenAPI document) was still counted, so its answer is read here and its response gets
    the rate-limit headers like every other."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path_info.startswith(PUBLIC_API_PREFIX):
            return self.get_response(request)
        prefetched = prefetch_admission(request)
        setattr(request, PREFETCH_ATTRIBUTE, prefetched)
        response = self.get_response(request)
        if prefetched is not None and not prefetched.consumed:
            rate_limit = prefetched.pending.result()
            if rate_limit is not None:
                for header, value in rate_limit.headers().items():
                    response[header] = value
        return response


def dashboard_only(middleware_path: str) -> type:
    """The middleware at `middleware_path`, run for every path but the public API's.

    Sessions, CSRF, login, flash messages and htmx serve people in a browser. A public API
    request carries an API key and none of their state, yet paid for all of them (about
    0.35 ms of the 1.5 ms a `GET /me` cost in-process), so the public API skips them, hooks
    (`process_view` and the like) included. A subclass, so that checks asking for the
    original (the admin's) still find it.
    """
    middleware_class = import_string(middleware_path)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info.startswith(PUBLIC_API_PREFIX):
            return self.get_response(request)
        return middleware_class.__call__(self, request)

    namespace: dict = {"__call__": __call__, "__module__": __name__}
    for hook in ("process_view", "process_exception", "process_template_response"):
        if hasattr(middleware_class, hook):
            namespace[hook] = _unless_public_api(getattr(middleware_class, hook))
    return type(f"DashboardOnly{middleware_class.__name__}", (middleware_class,), namespace)


def _unless_public_api(hook: Callable) -> Callable:
    def skipping_public_api(self, request: HttpRequest, *args):
        if request.path_info.startswith(PUBLIC_API_PREFIX):
            # What a hook returns when it has nothing to say: the response it was given
            # (process_template_response) or None.
            return args[-1] if hook.__name__ == "process_template_response" else None
        return hook(self, request, *args)

    return skipping_public_api


SessionMiddleware = dashboard_only("django.contrib.sessions.middleware.SessionMiddleware")
CsrfViewMiddleware = dashboard_only("django.middleware.csrf.CsrfViewMiddleware")
AuthenticationMiddleware = dashboard_only("django.contrib.auth.middleware.AuthenticationMiddleware")
MessageMiddleware = dashboard_only("django.contrib.messages.middleware.MessageMiddleware")
HtmxMiddleware = dashboard_only("django_htmx.middleware.HtmxMiddleware")
