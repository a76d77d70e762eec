"""`PublicApiView`, the base of every public API endpoint, and `GET /me`.

A view declares `required_scopes` per method and raises `ApplicationError`s; authentication
(API key → tenant schema), scopes, the error envelope and the request id are handled here and
in the middleware.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.api.authentication import ApiKeyAuthentication
from apps.api.errors import public_api_exception_handler
from apps.api.idempotency import (
    UNSAFE_METHODS,
    IdempotencyClaim,
    IdempotentReplay,
    idempotency_begin,
    idempotency_complete,
)
from apps.api.permissions import HasRequiredScopes
from apps.api.ratelimit import RateLimitResult, rate_limited_error
from apps.api.schema import PublicApiAutoSchema
from apps.core.errors import ApplicationError


def _contains_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_contains_nul(k) or _contains_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_contains_nul(item) for item in value)
    return False


def _refuse_nul_characters(request: Request) -> None:
    """PostgreSQL text cannot hold NUL, so such input would fail deep in a query as a 500;
    it is refused here, once for every endpoint, as the malformed request it is."""
    query = {}
    if request.META.get("QUERY_STRING"):  # most requests have none: not worth a QueryDict
        query = {key: request.query_params.getlist(key) for key in request.query_params}
    data = request.data if request.method in UNSAFE_METHODS else None
    if hasattr(data, "dict") and not isinstance(data, dict):
        data = {key: data.getlist(key) for key in data}
    if _contains_nul(query) or _contains_nul(data):
        raise ApplicationError(
            "Text in the request may not contain NUL (\\u0000) characters.",
            code="invalid_request",
            status=400,
        )


class JsonNegotiation(DefaultContentNegotiation):
    """The public API speaks JSON only. A client that sends no `Accept`, `*/*` or
    `application/json`, and no `?format=`, gets it without DRF parsing the header and the
    query string (about 60 µs of a `GET /me`); anything else is negotiated as before, so
    `Accept: text/html` is still a 406."""

    def select_renderer(self, request, renderers, format_suffix=None):
        accept = request.META.get("HTTP_ACCEPT", "*/*")
        query = request.META.get("QUERY_STRING", "")
        if accept in ("*/*", "application/json") and not format_suffix and "format=" not in query:
            return renderers[0], renderers[0].media_type
        return super().select_renderer(request, renderers, format_suffix)


class PublicApiView(APIView):
    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [HasRequiredScopes]
    throttle_classes: list = []
    renderer_classes = [JSONRenderer]
    parser_classes = [JSONParser]
    content_negotiation_class = JsonNegotiation
    # {"GET": ["contacts:read"], "POST": ["contacts:write"]}; [] means any valid key.
    required_scopes: dict[str, list[str]] = {}
    schema = PublicApiAutoSchema()
    # No OPTIONS: the OpenAPI document describes the API, and every method needs its scopes.
    http_method_names = ["get", "post", "put", "patch", "delete", "head"]

    rate_limit: RateLimitResult | None = None
    idempotency_claim: IdempotencyClaim | None = None

    def get_exception_handler(self):
        return public_api_exception_handler

    def perform_authentication(self, request: Request) -> None:
        super().perform_authentication(request)
        # ApiKeyAuthentication counted the request in the round trip that checked the key; a
        # refused request counted nothing.
        self.rate_limit = request.rate_limit
        if not self.rate_limit.allowed:
            raise rate_limited_error(self.rate_limit)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # Authentication, rate limit, scopes; then, for writes, the Idempotency-Key.
        super().initial(request, *args, **kwargs)
        _refuse_nul_characters(request)
        idempotency_key = request.headers.get("Idempotency-Key")
        if idempotency_key is not None and request.method in UNSAFE_METHODS:
            self.idempotency_claim = idempotency_begin(
                api_key_id=request.auth.pk,
                idempotency_key=idempotency_key,
                request_signature=f"{request.method} {request.path}",
            )

    def handle_exception(self, exc: Exception):
        if isinstance(exc, IdempotentReplay):
            return exc.response
        return super().handle_exception(exc)

    def finalize_response(self, request: Request, response, *args: Any, **kwargs: Any):
        response = super().finalize_response(request, response, *args, **kwargs)
        if self.rate_limit is not None:
            for header, value in self.rate_limit.headers().items():
                response[header] = value
        if self.idempotency_claim is not None:
            if isinstance(response, Response):
                response.render()
            idempotency_complete(claim=self.idempotency_claim, response=response)
        return response


class MeApi(PublicApiView):
    """Who am I: the key's workspace, mode, scopes and plan limits. Needs no scope."""

    required_scopes = {"GET": []}

    class OutputSerializer(serializers.Serializer):
        class TenantSerializer(serializers.Serializer):
            slug = serializers.CharField()
            name = serializers.CharField()
            plan = serializers.CharField()

        class KeySerializer(serializers.Serializer):
            id = serializers.IntegerField()
            name = serializers.CharField()
            prefix = serializers.CharField()
            mode = serializers.ChoiceField(choices=["live", "test"])
            scopes = serializers.ListField(child=serializers.CharField())
            expires_at = serializers.DateTimeField(allow_null=True)

        class LimitsSerializer(serializers.Serializer):
            requests_per_minute = serializers.IntegerField()
            requests_per_day = serializers.IntegerField()

        tenant = TenantSerializer()
        api_key = KeySerializer()
        rate_limits = LimitsSerializer()

    @extend_schema(
        operation_id="me_retrieve",
        summary="Describe the calling API key",
        tags=["Platform"],
        responses={200: OutputSerializer},
        examples=[
            OpenApiExample(
                "me",
                response_only=True,
                value={
                    "tenant": {"slug": "acme", "name": "Acme", "plan": "pro"},
                    "api_key": {
                        "id": 7,
                        "name": "CRM sync",
                        "prefix": "lk_sk_live_3f9a1c07",
                        "mode": "live",
                        "scopes": ["contacts:read", "contacts:write"],
                        "expires_at": None,
                    },
                    "rate_limits": {"requests_per_minute": 1000, "requests_per_day": 100000},
                },
            )
        ],
    )
    def get(self, request: Request) -> Response:
        # Built by hand (OutputSerializer documents it): this endpoint is what clients and
        # bench/api_overhead.py use to measure the platform layer, so it adds little of its own.
        tenant, api_key = request.tenant, request.auth
        limits = tenant.limits
        return Response(
            {
                "tenant": {"slug": tenant.slug, "name": tenant.name, "plan": tenant.plan},
                "api_key": {
                    "id": api_key.pk,
                    "name": api_key.name,
                    "prefix": api_key.prefix,
                    "mode": api_key.mode,
                    "scopes": list(api_key.scopes),
                    "expires_at": api_key.expires_at,
                },
                "rate_limits": {
                    "requests_per_minute": limits.requests_per_minute,
                    "requests_per_day": limits.requests_per_day,
                },
            }
        )
