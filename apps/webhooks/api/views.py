"""Public API for webhook endpoints, their deliveries and the event log
(`/api/v1/public/webhooks...`, `/api/v1/public/events...`). Thin: read the request, call a
selector or service, render; errors are raised, never formatted."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)
from rest_framework import serializers as drf
from rest_framework.request import Request
from rest_framework.response import Response

from apps.api.pagination import paginated_response
from apps.api.schema import error_responses, paginated
from apps.api.views import PublicApiView
from apps.core.errors import ApplicationError
from apps.webhooks import selectors
from apps.webhooks.api import serializers as s
from apps.webhooks.models import DeliveryStatus
from apps.webhooks.services.endpoints import (
    delivery_retry,
    endpoint_create,
    endpoint_delete,
    endpoint_disable,
    endpoint_enable,
    endpoint_rotate_secret,
    endpoint_send_test,
    endpoint_update,
)

READ = ["webhooks:read"]
WRITE = ["webhooks:write"]
TAG = "Webhooks"
EVENTS_TAG = "Events"

ENDPOINT_EXAMPLE = {
    "id": "5d0f2c1e-8a4b-4e57-9a8e-2f1b7c3d9e10",
    "url": "https://crm.example.com/lynkist/webhooks",
    "description": "CRM sync",
    "event_types": ["message.delivered", "message.read", "message.failed"],
    "enabled": True,
    "disabled_reason": "",
    "disabled_at": None,
    "created_at": "2026-05-12T08:00:00Z",
    "updated_at": "2026-05-12T08:00:00Z",
}
SECRET_EXAMPLE = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
DELIVERY_EXAMPLE = {
    "id": "9a7c2f4e-1b3d-4c5e-8f60-7a1b2c3d4e5f",
    "endpoint_id": ENDPOINT_EXAMPLE["id"],
    "event_id": "evt_4f1c2a9b8d7e6f5a4b3c2d1e",
    "event_type": "message.read",
    "status": "pending",
    "attempt_count": 2,
    "next_attempt_at": "2026-05-12T08:35:12Z",
    "last_attempt_at": "2026-05-12T08:05:10Z",
    "last_response_status": 503,
    "created_at": "2026-05-12T08:05:00Z",
}
EVENT_EXAMPLE = {
    "id": "evt_4f1c2a9b8d7e6f5a4b3c2d1e",
    "type": "contact.created",
    "created_at": "2026-05-12T08:05:00Z",
    "tenant": "acme",
    "data": {"id": "f47ac10b-58cc-4372-a567-0e02b2c3d479", "first_name": "Anurag"},
}


def _body(request: Request, serializer_class: type[drf.Serializer]) -> dict[str, Any]:
    if not isinstance(request.data, dict):
        raise ApplicationError("The request body must be a JSON object.", code="invalid_request")
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _endpoint_data(endpoint, *, with_secret: bool = False) -> dict[str, Any]:
    serializer = s.EndpointWithSecretSerializer if with_secret else s.EndpointSerializer
    return serializer(endpoint).data


class EndpointListCreateApi(PublicApiView):
    required_scopes = {"GET": READ, "POST": WRITE}

    @extend_schema(
        tags=[TAG],
        operation_id="webhooks_list",
        summary="List webhook endpoints",
        parameters=[
            OpenApiParameter("page", int, description="Page number, from 1."),
            OpenApiParameter("limit", int, description="1 to 100, default 20."),
        ],
        responses={200: paginated(s.EndpointSerializer)},
    )
    def get(self, request: Request) -> Response:
        return paginated_response(
            request=request,
            queryset=selectors.endpoint_list(),
            serializer_class=s.EndpointSerializer,
        )

    @extend_schema(
        tags=[TAG],
        operation_id="webhooks_create",
        summary="Create a webhook endpoint",
        description=(
            "The response is the only time the secret is shown unasked (it can be read again "
            "with `GET /webhooks/{id}/secret`). The URL must be HTTPS and must not resolve to "
            "a private, loopback, link-local, CGNAT or multicast address (422 otherwise)."
        ),
        request=s.EndpointCreateSerializer,
        examples=[
            OpenApiExample(
                "New endpoint",
                request_only=True,
                value={
                    "url": ENDPOINT_EXAMPLE["url"],
                    "description": "CRM sync",
                    "event_types": ENDPOINT_EXAMPLE["event_types"],
                },
            ),
            OpenApiExample(
                "Created",
                response_only=True,
                status_codes=["201"],
                value={**ENDPOINT_EXAMPLE, "secret": SECRET_EXAMPLE},
            ),
        ],
        responses={201: s.EndpointWithSecretSerializer},
    )
    def post(self, request: Request) -> Response:
        if isinstance(request.data, dict) and "url" not in request.data:
            raise ApplicationError(
                "url is required.",
                code="invalid_request",
                status=400,
                details=[{"field": "url", "message": "url is required"}],
            )
        data = _body(request, s.EndpointCreateSerializer)
        with transaction.atomic():
            endpoint = endpoint_create(
                tenant=request.tenant,
                actor=None,
                url=data["url"],
                description=data.get("description", ""),
                event_types=data.get("event_types", []),
            )
            if not data.get("enabled", True):
                endpoint_disable(tenant=request.tenant, endpoint=endpoint, actor=None)
        return Response(_endpoint_data(endpoint, with_secret=True), status=201)


class EndpointDetailApi(PublicApiView):
    required_scopes = {"GET": READ, "PATCH": WRITE, "DELETE": WRITE}

    @extend_schema(
        tags=[TAG],
        operation_id="webhooks_retrieve",
        summary="Get a webhook endpoint",
        responses={200: s.EndpointSerializer},
        examples=[OpenApiExample("Endpoint", response_only=True, value=ENDPOINT_EXAMPLE)],
    )
    def get(self, request: Request, endpoint_id: str) -> Response:
        return Response(_endpoint_data(selectors.endpoint_get(endpoint_id=endpoint_id)))

    @extend_schema(
        tags=[TAG],
        operation_id="webhooks_update",
        summary="Update a webhook endpoint",
        description="Only the fields you send change. `enabled: true` also clears the "
        "failure history that disabled it; its pending deliveries resume.",
        request=s.EndpointUpdateSerializer,
        responses={200: s.EndpointSerializer},
    )
    def patch(self, request: Request, endpoint_id: str) -> Response:
        data = _body(request, s.EndpointUpdateSerializer)
        endpoint = selectors.endpoint_get(endpoint_id=endpoint_id)
        with transaction.atomic():
            endpoint = endpoint_update(
                tenant=request.tenant,
                endpoint=endpoint,
                actor=None,
                url=data.get("url"),
                description=data.get("description"),
                event_types=data.get("event_types"),
            )
            if data.get("enabled") is True:
                endpoint_enable(tenant=request.tenant, endpoint=endpoint, actor=None)
            elif data.get("enabled") is False:
                endpoint_disable(tenant=request.tenant, endpoint=endpoint, actor=None)
        return Response(_endpoint_data(endpoint))

    @extend_schema(
        tags=[TAG],
        operation_id="webhooks_destroy",
        summary="Delete a webhook endpoint",
        description="Its deliveries, pending or not, go with it.",
        responses={204: OpenApiResponse(description="Deleted.")},
    )
    def delete(self, request: Request, endpoint_id: str) -> Response:
        endpoint = selectors.endpoint_get(endpoint_id=endpoint_id)
        endpoint_delete(tenant=request.tenant, endpoint=endpoint, actor=None)
        return Response(status=204)


class EndpointSecretApi(PublicApiView):
    required_scopes = {"GET": WRITE}

    @extend_schema(
        tags=[TAG],
        operation_id="webhooks_secret_retrieve",
        summary="Reveal an endpoint's signing secret",
        description="Needs `webhooks:write`: whoever holds the secret can forge deliveries.",
        responses={200: s.SecretSerializer},
    )
    def get(self, request: Request, endpoint_id: str) -> Response:
        endpoint = selectors.endpoint_get(endpoint_id=endpoint_id)
        return Response(s.SecretSerializer(_secret_body(endpoint)).data)


def _secret_body(endpoint) -> dict[str, Any]:
    from django.utils import timezone

    expires = endpoint.previous_secret_expires_at
    current = bool(endpoint.previous_secret and expires and expires > timezone.now())
    return {
        "secret": endpoint.secret,
        "previous_secret": endpoint.previous_secret if current else None,
        "previous_expires_at": expires if current else None,
    }


class EndpointRotateSecretApi(PublicApiView):
    required_scopes = {"POST": WRITE}

    @extend_schema(
        tags=[TAG],
        operation_id="webhooks_rotate_secret",
        summary="Rotate an endpoint's signing secret",
        description="A new secret signs from now on; for 24 hours every delivery carries a "
        "signature with each secret (`webhook-signature: v1,<new> v1,<old>`), so your "
        "receiver can switch over without dropping any.",
        request=None,
        responses={200: s.SecretSerializer},
    )
    def post(self, request: Request, endpoint_id: str) -> Response:
        endpoint = selectors.endpoint_get(endpoint_id=endpoint_id)
        endpoint = endpoint_rotate_secret(tenant=request.tenant, endpoint=endpoint, actor=None)
        return Response(s.SecretSerializer(_secret_body(endpoint)).data)


class EndpointTestApi(PublicApiView):
    required_scopes = {"POST": WRITE}

    @extend_schema(
        tags=[TAG],
        operation_id="webhooks_test",
        summary="Send a test event",
        description="Sends a `webhook.test` event to this endpoint alone, now. The answer is "
        "the delivery; follow it with `GET /webhooks/{id}/deliveries/{delivery_id}`.",
        request=None,
        responses={
            202: s.DeliverySerializer,
            **error_responses(409, codes={409: "conflict"}),
        },
    )
    def post(self, request: Request, endpoint_id: str) -> Response:
        endpoint = selectors.endpoint_get(endpoint_id=endpoint_id)
        delivery = endpoint_send_test(tenant=request.tenant, endpoint=endpoint, actor=None)
        return Response(s.DeliverySerializer(delivery).data, status=202)


DELIVERY_FILTERS = [
    OpenApiParameter("status", str, enum=DeliveryStatus.values, description="Exact match."),
    OpenApiParameter("event_type", str, description="Only deliveries of this event type."),
    OpenApiParameter("page", int, description="Page number, from 1."),
    OpenApiParameter("limit", int, description="1 to 100, default 20."),
]


class DeliveryListApi(PublicApiView):
    required_scopes = {"GET": READ}

    @extend_schema(
        tags=[TAG],
        operation_id="webhooks_deliveries_list",
        summary="List an endpoint's deliveries",
        parameters=DELIVERY_FILTERS,
        responses={200: paginated(s.DeliverySerializer)},
        examples=[
            OpenApiExample(
                "A page",
                response_only=True,
                value={
                    "data": [DELIVERY_EXAMPLE],
                    "pagination": {
                        "page": 1,
                        "limit": 20,
                        "total_items": 1,
                        "total_pages": 1,
                        "has_next": False,
                        "has_prev": False,
                    },
                },
            )
        ],
    )
    def get(self, request: Request, endpoint_id: str) -> Response:
        endpoint = selectors.endpoint_get(endpoint_id=endpoint_id)
        status = request.query_params.get("status", "").strip()
        if status and status not in DeliveryStatus.values:
            raise ApplicationError(
                f"status must be one of {', '.join(DeliveryStatus.values)}.",
                code="validation_error",
                status=422,
                details=[{"field": "status", "message": "unknown status"}],
            )
        return paginated_response(
            request=request,
            queryset=selectors.delivery_list(
                endpoint=endpoint,
                status=status,
                event_type=request.query_params.get("event_type", "").strip(),
            ),
            serializer_class=s.DeliverySerializer,
        )


class DeliveryDetailApi(PublicApiView):
    required_scopes = {"GET": READ}

    @extend_schema(
        tags=[TAG],
        operation_id="webhooks_deliveries_retrieve",
        summary="Get a delivery with its attempts",
        description="Each attempt shows the request as sent (headers and body) and the "
        "receiver's answer (status, first 2 KB of the body) or the error.",
        responses={200: s.DeliveryDetailSerializer},
    )
    def get(self, request: Request, endpoint_id: str, delivery_id: str) -> Response:
        endpoint = selectors.endpoint_get(endpoint_id=endpoint_id)
        delivery = selectors.delivery_get(endpoint=endpoint, delivery_id=delivery_id)
        delivery.attempt_list = list(selectors.delivery_attempts(delivery=delivery))
        return Response(s.DeliveryDetailSerializer(delivery).data)


class DeliveryRetryApi(PublicApiView):
    required_scopes = {"POST": WRITE}

    @extend_schema(
        tags=[TAG],
        operation_id="webhooks_deliveries_retry",
        summary="Retry a delivery now",
        description="A pending delivery comes due at once; a failed (or succeeded) one gets "
        "one more attempt outside the retry schedule. 409 while the endpoint is disabled.",
        request=None,
        responses={202: s.DeliverySerializer, **error_responses(409)},
    )
    def post(self, request: Request, endpoint_id: str, delivery_id: str) -> Response:
        endpoint = selectors.endpoint_get(endpoint_id=endpoint_id)
        delivery = selectors.delivery_get(endpoint=endpoint, delivery_id=delivery_id)
        delivery = delivery_retry(tenant=request.tenant, delivery=delivery, actor=None)
        return Response(s.DeliverySerializer(delivery).data, status=202)


class EventListApi(PublicApiView):
    required_scopes = {"GET": READ}

    @extend_schema(
        tags=[EVENTS_TAG],
        operation_id="events_list",
        summary="List the workspace's events (last 30 days)",
        description="Every event, newest first, whether or not an endpoint received it. "
        "Each item is the envelope webhook deliveries carry.",
        parameters=[
            OpenApiParameter("type", str, description="Only events of this type."),
            OpenApiParameter("page", int, description="Page number, from 1."),
            OpenApiParameter("limit", int, description="1 to 100, default 20."),
        ],
        responses={200: paginated(s.EventSerializer)},
    )
    def get(self, request: Request) -> Response:
        return paginated_response(
            request=request,
            queryset=selectors.event_list(event_type=request.query_params.get("type", "").strip()),
            serializer_class=s.EventSerializer,
            context={"tenant_slug": request.tenant.slug},
        )


class EventDetailApi(PublicApiView):
    required_scopes = {"GET": READ}

    @extend_schema(
        tags=[EVENTS_TAG],
        operation_id="events_retrieve",
        summary="Get an event",
        responses={200: s.EventSerializer},
        examples=[OpenApiExample("Event", response_only=True, value=EVENT_EXAMPLE)],
    )
    def get(self, request: Request, event_id: str) -> Response:
        event = selectors.event_get(event_id=event_id)
        return Response(s.EventSerializer(event, context={"tenant_slug": request.tenant.slug}).data)
