"""The public API's error envelope, in one place.

Every 4xx/5xx the public API sends has the same body:

    {"error": {"status": 403, "code": "insufficient_scope", "message": "...", "details": {...}},
     "request_id": "req_0123456789ab"}

Views never build it: they raise `apps.core.errors.ApplicationError` (or DRF's
`ValidationError`, or `Http404`) and `public_api_exception_handler` renders it. Paths that never
reach a view (unknown URLs, crashes outside DRF) are rewritten by `PublicApiErrorMiddleware`.
"""

from __future__ import annotations

import logging
from enum import StrEnum
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from rest_framework import exceptions as drf
from rest_framework.response import Response
from rest_framework.views import set_rollback

from apps.core.errors import ApplicationError
from apps.core.request_id import current_request_id

logger = logging.getLogger("apps.api")

PUBLIC_API_PREFIX = "/api/v1/public/"


class ErrorCode(StrEnum):
    INVALID_REQUEST = "invalid_request"
    AUTHENTICATION_REQUIRED = "authentication_required"
    INVALID_API_KEY = "invalid_api_key"
    INVALID_TOKEN = "invalid_token"  # dashboard API (JWT) only
    INSUFFICIENT_SCOPE = "insufficient_scope"
    IP_NOT_ALLOWED = "ip_not_allowed"
    PERMISSION_DENIED = "permission_denied"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    NOT_ACCEPTABLE = "not_acceptable"
    CONFLICT = "conflict"
    IDEMPOTENCY_IN_PROGRESS = "idempotency_in_progress"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    VALIDATION_ERROR = "validation_error"
    RATE_LIMITED = "rate_limited"
    INTERNAL_ERROR = "internal_error"


DEFAULT_MESSAGES = {
    400: "The request could not be understood.",
    401: "Authentication is required.",
    403: "You are not allowed to do this.",
    404: "The requested resource was not found.",
    405: "This method is not allowed on this path.",
    500: "Something went wrong on our side. Quote the request id if you contact support.",
}

# Marks a response whose body already is the envelope, so the middleware leaves it alone.
ENVELOPE_ATTRIBUTE = "lynkist_error_envelope"
WWW_AUTHENTICATE = 'Bearer realm="Lynkist API"'


def error_body(*, status: int, code: str, message: str, details: Any = None) -> dict[str, Any]:
    error: dict[str, Any] = {"status": status, "code": str(code), "message": message}
    if details is not None:
        error["details"] = details
    return {"error": error, "request_id": current_request_id.get()}


def _flatten_validation(detail: Any, field: str | None = None) -> list[dict[str, Any]]:
    """DRF's nested error structure as a flat list of {"field", "message"}: nested fields are
    joined with dots and list items carry their index, e.g. `contacts[3].phone`."""
    if isinstance(detail, dict):
        items = []
        for key, value in detail.items():
            if key in ("non_field_errors", "__all__"):
                items += _flatten_validation(value, field)
            elif isinstance(key, int):  # DRF reports list items by index
                items += _flatten_validation(value, f"{field or ''}[{key}]")
            else:
                items += _flatten_validation(value, f"{field}.{key}" if field else str(key))
        return items
    if isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            return [{"field": field, "message": str(item)} for item in detail]
        items = []
        for index, value in enumerate(detail):
            if isinstance(value, dict | list):
                items += _flatten_validation(value, f"{field}[{index}]" if field else f"[{index}]")
            else:
                items.append({"field": field, "message": str(value)})
        return items
    return [{"field": field, "message": str(detail)}]


def describe_exception(exc: Exception) -> tuple[int, str, str, Any, dict[str, str]]:
    """(status, code, message, details, extra headers) for an exception, or 500 for anything
    unexpected."""
    headers: dict[str, str] = {}
    if isinstance(exc, ApplicationError):
        details = exc.details
        if details is None and exc.status == 422:
            details = [{"field": exc.field, "message": exc.message}]
        if exc.status == 401:
            headers["WWW-Authenticate"] = WWW_AUTHENTICATE
        if exc.status == 429 and isinstance(details, dict) and "retry_after" in details:
            headers["Retry-After"] = str(details["retry_after"])
        return exc.status, exc.code, exc.message, details, headers
    if isinstance(exc, drf.ValidationError):
        details = _flatten_validation(exc.detail)
        return 422, ErrorCode.VALIDATION_ERROR, "The request has invalid fields.", details, headers
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        details = _flatten_validation(detail)
        return 422, ErrorCode.VALIDATION_ERROR, "The request has invalid fields.", details, headers
    if isinstance(exc, Http404 | drf.NotFound):
        return 404, ErrorCode.NOT_FOUND, DEFAULT_MESSAGES[404], None, headers
    if isinstance(exc, drf.ParseError):
        return 400, ErrorCode.INVALID_REQUEST, str(exc.detail), None, headers
    if isinstance(exc, drf.NotAuthenticated | drf.AuthenticationFailed):
        headers["WWW-Authenticate"] = WWW_AUTHENTICATE
        if isinstance(exc, drf.NotAuthenticated):
            return 401, ErrorCode.AUTHENTICATION_REQUIRED, str(exc.detail), None, headers
        # Only the dashboard API (JWT) raises these; API keys fail as ApplicationErrors.
        detail = exc.detail
        message = detail.get("detail") if isinstance(detail, dict) else detail
        return 401, ErrorCode.INVALID_TOKEN, str(message or "Invalid credentials."), None, headers
    if isinstance(exc, drf.MethodNotAllowed):
        return 405, ErrorCode.METHOD_NOT_ALLOWED, str(exc.detail), None, headers
    if isinstance(exc, drf.UnsupportedMediaType):
        return 415, ErrorCode.UNSUPPORTED_MEDIA_TYPE, str(exc.detail), None, headers
    if isinstance(exc, drf.NotAcceptable):
        return 406, ErrorCode.NOT_ACCEPTABLE, str(exc.detail), None, headers
    if isinstance(exc, drf.Throttled):
        if exc.wait is not None:
            headers["Retry-After"] = str(int(exc.wait))
        return 429, ErrorCode.RATE_LIMITED, "Too many requests.", None, headers
    if isinstance(exc, drf.PermissionDenied | DjangoPermissionDenied):
        message = str(exc.detail) if isinstance(exc, drf.APIException) else str(exc)
        return 403, ErrorCode.PERMISSION_DENIED, message or DEFAULT_MESSAGES[403], None, headers
    if isinstance(exc, drf.APIException):
        return exc.status_code, str(exc.default_code), str(exc.detail), None, headers
    return 500, ErrorCode.INTERNAL_ERROR, DEFAULT_MESSAGES[500], None, headers


def public_api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """DRF exception handler for the public API (and the dashboard API): every error becomes
    the envelope; an unexpected exception is logged with its traceback (and the request id, by
    the log filter) and answered with a bare 500."""
    status, code, message, details, headers = describe_exception(exc)
    if status >= 500:
        view = context.get("view")
        logger.error(
            "Unhandled error in %s",
            type(view).__name__ if view else "API view",
            exc_info=(type(exc), exc, exc.__traceback__),
        )
    set_rollback()
    response = Response(
        error_body(status=status, code=code, message=message, details=details),
        status=status,
        headers=headers,
    )
    setattr(response, ENVELOPE_ATTRIBUTE, True)
    return response


def error_json_response(*, status: int, code: str, message: str, details: Any = None):
    response = JsonResponse(
        error_body(status=status, code=code, message=message, details=details), status=status
    )
    setattr(response, ENVELOPE_ATTRIBUTE, True)
    return response
