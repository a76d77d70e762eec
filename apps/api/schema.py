"""The public API's OpenAPI document (drf-spectacular), and helpers for resource apps.

`PublicApiAutoSchema` (the schema class of every `PublicApiView`) adds to each operation what
the platform layer does, so apps don't repeat it:
- the scopes the view declares (`x-required-scopes` and a line in the description);
- the `Idempotency-Key` header on POST, PUT, PATCH and DELETE;
- the error responses every operation can give (400 for writes, 401, 403, 404 on paths with an
  id, 422 for writes, 429, 500), all with the envelope schema and an example;
- `X-Request-Id` and the rate-limit headers on every response.

Resource apps add their own operation-specific errors with `error_responses(...)`, and use
`paginated(Serializer)` as the response of list operations:

    @extend_schema(
        tags=["Contacts"],
        responses={200: paginated(ContactOut), **error_responses(409)},
    )
"""

from __future__ import annotations

import functools
from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiExample, OpenApiResponse
from rest_framework import serializers

from apps.api.errors import DEFAULT_MESSAGES, ErrorCode
from apps.api.idempotency import MAX_KEY_LENGTH, UNSAFE_METHODS
from apps.api.permissions import required_scopes_for

ERROR_COMPONENT = "#/components/schemas/Error"

# The code and an example message for each status the platform layer itself can produce.
STATUS_ERRORS: dict[int, tuple[str, str]] = {
    400: (ErrorCode.INVALID_REQUEST, "JSON parse error - Expecting value: line 1 column 1."),
    401: (ErrorCode.INVALID_API_KEY, "Unknown API key."),
    403: (ErrorCode.INSUFFICIENT_SCOPE, "This API key lacks the contacts:write scope."),
    404: (ErrorCode.NOT_FOUND, DEFAULT_MESSAGES[404]),
    405: (ErrorCode.METHOD_NOT_ALLOWED, 'Method "PUT" not allowed.'),
    409: (ErrorCode.CONFLICT, "The request conflicts with the current state."),
    422: (ErrorCode.VALIDATION_ERROR, "The request has invalid fields."),
    429: (ErrorCode.RATE_LIMITED, "Rate limit of 60 requests per minute reached; retry in 12 s."),
    500: (ErrorCode.INTERNAL_ERROR, DEFAULT_MESSAGES[500]),
    502: ("upstream_error", "WhatsApp answered with an error."),
    504: ("upstream_timeout", "WhatsApp did not answer in time."),
}
STATUS_DESCRIPTIONS = {
    400: "Malformed JSON, a missing required field or a bad header (`invalid_request`).",
    401: "Missing (`authentication_required`) or invalid, revoked, expired or rotated-out "
    "(`invalid_api_key`) API key.",
    403: "The key lacks a scope (`insufficient_scope`) or the caller's IP is not in the key's "
    "allowlist (`ip_not_allowed`).",
    404: "No such object in this workspace (`not_found`).",
    405: "The path does not accept this method (`method_not_allowed`).",
    409: "Conflict with the current state (`conflict`), or a request with the same "
    "Idempotency-Key is still running (`idempotency_in_progress`).",
    422: "One or more fields are invalid (`validation_error`); `details` lists them.",
    429: "The workspace's per-minute or per-day budget is spent (`rate_limited`); see Retry-After.",
    500: "Unexpected error (`internal_error`); quote the request id to support.",
    502: "The upstream (WhatsApp) answered with an error (`upstream_error`).",
    504: "The upstream (WhatsApp) did not answer in time (`upstream_timeout`).",
}
EXAMPLE_DETAILS: dict[int, Any] = {
    403: {"required_scopes": ["contacts:write"], "granted_scopes": ["contacts:read"]},
    422: [{"field": "phone", "message": "Enter a valid phone number in E.164 format."}],
    429: {"limit": 60, "window": "minute", "retry_after": 12},
}

IDEMPOTENCY_PARAMETER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": (
        "Makes the request safe to retry. The first completed response is kept for 24 h per "
        "API key and replayed (with `Idempotent-Replayed: true`) for any retry with the same "
        "key, whatever its body; a retry while the first runs gets 409 "
        "`idempotency_in_progress`. 5xx responses are not kept. Use a UUID v4."
    ),
    "schema": {"type": "string", "maxLength": MAX_KEY_LENGTH},
}

RESPONSE_HEADERS = {
    "X-Request-Id": {
        "description": "The request's id: yours if you sent a safe one, else `req_` + 12 hex.",
        "schema": {"type": "string"},
    },
    "X-RateLimit-Limit": {
        "description": "The budget of the window closest to running out.",
        "schema": {"type": "integer"},
    },
    "X-RateLimit-Remaining": {
        "description": "Requests left in that window.",
        "schema": {"type": "integer"},
    },
    "X-RateLimit-Reset": {
        "description": "Seconds until that window starts over.",
        "schema": {"type": "integer"},
    },
    "RateLimit-Policy": {
        "description": "Both windows, as in the IETF RateLimit header draft.",
        "schema": {"type": "string"},
    },
    "RateLimit": {
        "description": "What is left of each window, as in the IETF RateLimit header draft.",
        "schema": {"type": "string"},
    },
}


def error_example(status: int, code: str | None = None, message: str | None = None) -> dict:
    default_code, default_message = STATUS_ERRORS.get(status, ("error", "Error."))
    error: dict[str, Any] = {
        "status": status,
        "code": str(code or default_code),
        "message": message or default_message,
    }
    if status in EXAMPLE_DETAILS and code is None:
        error["details"] = EXAMPLE_DETAILS[status]
    return {"error": error, "request_id": "req_0123456789ab"}


class ErrorDetailSerializer(serializers.Serializer):
    status = serializers.IntegerField()
    code = serializers.CharField(help_text="Stable, machine-readable error code.")
    message = serializers.CharField(help_text="Human-readable explanation.")
    details = serializers.JSONField(
        required=False,
        help_text="Typed extra data: `{required_scopes, granted_scopes}` for "
        "`insufficient_scope`, a list of `{field, message}` for `validation_error`.",
    )


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()
    request_id = serializers.CharField()


def error_responses(*statuses: int, codes: dict[int, str] | None = None) -> dict:
    """Error responses for `extend_schema(responses={...})`: `error_responses(404, 409)` with
    the standard codes, or `error_responses(409, codes={409: "phone_taken"})` to name yours."""
    codes = codes or {}
    responses = {}
    for status in statuses:
        code = codes.get(status)
        responses[status] = OpenApiResponse(
            response=ErrorSerializer,
            description=STATUS_DESCRIPTIONS.get(status, "Error."),
            examples=[
                OpenApiExample(
                    str(code or STATUS_ERRORS.get(status, ("error",))[0]),
                    value=error_example(status, code),
                    response_only=True,
                    status_codes=[str(status)],
                )
            ],
        )
    return responses


class PaginationSerializer(serializers.Serializer):
    page = serializers.IntegerField()
    limit = serializers.IntegerField()
    total_items = serializers.IntegerField()
    total_pages = serializers.IntegerField()
    has_next = serializers.BooleanField()
    has_prev = serializers.BooleanField()


@functools.cache
def paginated(item_serializer: type[serializers.Serializer]) -> type[serializers.Serializer]:
    """The list envelope `{"data": [item...], "pagination": {...}}` for `item_serializer`."""
    name = item_serializer.__name__.removesuffix("Serializer")
    return type(
        f"Paginated{name}List",
        (serializers.Serializer,),
        {
            "data": item_serializer(many=True),
            "pagination": PaginationSerializer(),
            "__module__": __name__,
        },
    )


def _default_error_statuses(method: str, path: str, has_query: bool) -> list[int]:
    statuses = [401, 403, 429, 500]
    if method in UNSAFE_METHODS or has_query:
        statuses += [400, 422]
    if method in UNSAFE_METHODS:
        statuses.append(409)  # idempotency_in_progress
    if "{" in path:
        statuses.append(404)
    return sorted(statuses)


class PublicApiAutoSchema(AutoSchema):
    def get_serializer_name(self, serializer, direction):
        # Serializers nested in views (`ContactCreateApi.OutputSerializer`, the HackSoft style)
        # are named after their path, so two views' `OutputSerializer`s never collide.
        qualname = type(serializer).__qualname__
        if "." not in qualname:
            return super().get_serializer_name(serializer, direction)
        *outer, last = qualname.split(".")
        return "".join(part.removesuffix("Serializer") for part in outer) + last

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        method = method.upper()
        scopes = required_scopes_for(self.view, method) or []
        operation["x-required-scopes"] = scopes
        scope_line = (
            "**Scopes:** " + ", ".join(f"`{scope}`" for scope in scopes)
            if scopes
            else "**Scopes:** none; any valid API key."
        )
        operation["description"] = "\n\n".join(
            part for part in (operation.get("description", ""), scope_line) if part
        )
        if method in UNSAFE_METHODS:
            parameters = operation.setdefault("parameters", [])
            if not any(p.get("name") == "Idempotency-Key" for p in parameters):
                parameters.append(IDEMPOTENCY_PARAMETER)
        query = [p for p in operation.get("parameters", []) if p.get("in") == "query"]
        for parameter in query:
            # Pages and limits start at 1 (a larger limit is clamped, so it has no maximum).
            if parameter["name"] in ("page", "limit"):
                parameter.setdefault("schema", {"type": "integer"})["minimum"] = 1
        responses = operation.setdefault("responses", {})
        for status in _default_error_statuses(method, path, has_query=bool(query)):
            if str(status) not in responses:
                responses[str(status)] = {
                    "description": STATUS_DESCRIPTIONS[status],
                    "content": {
                        "application/json": {
                            "schema": {"$ref": ERROR_COMPONENT},
                            "example": error_example(status),
                        }
                    },
                }
        for response in responses.values():
            headers = response.setdefault("headers", {})
            for name, header in RESPONSE_HEADERS.items():
                headers.setdefault(name, header)
        return operation


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "apps.api.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "lk_sk_live_<40 hex> or lk_sk_test_<40 hex>",
            "description": "An API key from Settings → API keys, sent as "
            "`Authorization: Bearer lk_sk_live_...`. Test keys see the workspace's data but "
            "every send they cause goes to the sandbox.",
        }


def postprocess_schema(result, generator, request, public):
    """Make sure the shared Error component exists (operations reference it even when no view
    named ErrorSerializer explicitly) and describe the conventions once, at the top."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault(
        "Error",
        {
            "type": "object",
            "properties": {
                "error": {
                    "type": "object",
                    "properties": {
                        "status": {"type": "integer"},
                        "code": {"type": "string"},
                        "message": {"type": "string"},
                        "details": {},
                    },
                    "required": ["status", "code", "message"],
                },
                "request_id": {"type": "string"},
            },
            "required": ["error", "request_id"],
        },
    )
    return result
