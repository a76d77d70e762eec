"""Errors that never reach a public API view still leave in the envelope.

Unknown paths (Django's 404), crashes outside DRF (Django logs them with their traceback and
the request id, then answers 500), and anything else that produces a non-envelope 4xx/5xx
under `/api/v1/public/` is rewritten here. Views' own errors
are already envelopes (see apps/api/errors.py) and pass through untouched.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

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
