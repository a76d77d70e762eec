"""Public API for messages (`/api/v1/public/messages...`). Thin: parse, call the send service
or a selector, render. Test-mode keys (`lk_sk_test_`) send through the sandbox provider."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from apps.api.pagination import paginated_response
from apps.api.schema import error_responses, paginated
from apps.api.views import PublicApiView
from apps.core.errors import ApplicationError
from apps.messaging import selectors, services
from apps.messaging.events import message_error
from apps.messaging.models import MessageStatus

SEND = ["messages:send"]
READ = ["messages:read"]
TAGS = ["Messages"]

SEND_EXAMPLE = {
    "to": "+919999999999",
    "template_name": "order_confirmation",
    "language": "en_US",
    "components": [
        {
            "type": "body",
            "parameters": [
                {"type": "text", "text": "Anurag"},
                {"type": "text", "text": "ORD-1042"},
            ],
        }
    ],
}
MESSAGE_EXAMPLE = {
    "id": "0b5e7c1a-3d2f-4a8b-9c6d-1e2f3a4b5c6d",
    "message_id": "wamid.HBgMOTE5OTk5OTk5OTk5FQIAERgSQjQ2",
    "direction": "outbound",
    "to": "+919999999999",
    "from": None,
    "type": "template",
    "template_name": "order_confirmation",
    "language": "en_US",
    "body": "Hi Anurag, your order ORD-1042 has shipped.",
    "status": "read",
    "error": None,
    "contact_id": "3f1c2a9e-5d7b-4e8a-9c0f-1a2b3c4d5e6f",
    "campaign_id": None,
    "created_at": "2026-05-12T08:00:00Z",
    "sent_at": "2026-05-12T08:00:01Z",
    "delivered_at": "2026-05-12T08:00:02Z",
    "read_at": "2026-05-12T08:00:09Z",
    "failed_at": None,
}


# Inline enums: named enum components would collide with other resources' `status` fields.
@extend_schema_field({"type": "string", "enum": MessageStatus.values})
class MessageStatusField(serializers.CharField):
    pass


@extend_schema_field({"type": "string", "enum": ["outbound", "inbound"]})
class DirectionField(serializers.CharField):
    pass


class SendInputSerializer(serializers.Serializer):
    to = serializers.CharField(help_text="Recipient phone in E.164 (+<country><number>).")
    template_name = serializers.CharField(help_text="Approved template name.")
    language = serializers.CharField(
        required=False, default="en", help_text="Must match an approved variant, e.g. en_US."
    )
    components = serializers.ListField(
        child=serializers.DictField(),
        required=False,
        help_text="Meta's send components: header, body and button entries whose "
        "parameters fill the template's {{n}} placeholders in order.",
    )


class SendOutputSerializer(serializers.Serializer):
    message_id = serializers.CharField(help_text="Meta's wamid.")
    status = serializers.CharField(help_text='Always "accepted".')
    to = serializers.CharField()


class StatusEventSerializer(serializers.Serializer):
    status = serializers.CharField()
    occurred_at = serializers.DateTimeField()
    applied = serializers.BooleanField(
        help_text="False when it arrived after a later status (kept for the record)."
    )
    error_code = serializers.CharField(allow_null=True)


class MessageOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    message_id = serializers.CharField(allow_null=True, help_text="Meta's wamid.")
    direction = DirectionField()
    to = serializers.CharField(allow_null=True)
    from_ = serializers.CharField(allow_null=True)
    type = serializers.CharField()
    template_name = serializers.CharField(allow_null=True)
    language = serializers.CharField(allow_null=True)
    body = serializers.CharField(allow_null=True)
    status = MessageStatusField()
    error = serializers.JSONField(allow_null=True, help_text="{code, title, details}")
    contact_id = serializers.UUIDField(allow_null=True)
    campaign_id = serializers.UUIDField(allow_null=True)
    created_at = serializers.DateTimeField()
    sent_at = serializers.DateTimeField(allow_null=True)
    delivered_at = serializers.DateTimeField(allow_null=True)
    read_at = serializers.DateTimeField(allow_null=True)
    failed_at = serializers.DateTimeField(allow_null=True)

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")  # a Python keyword, named as in the API
        return fields

    def to_representation(self, message) -> dict[str, Any]:
        outbound = message.direction == "outbound"

        def stamp(value):
            return value.isoformat().replace("+00:00", "Z") if value else None

        return {
            "id": str(message.id),
            "message_id": message.wamid,
            "direction": message.direction,
            "to": message.phone if outbound else None,
            "from": None if outbound else message.phone,
            "type": message.kind,
            "template_name": message.template_name or None,
            "language": message.template_language or None,
            "body": message.body or None,
            "status": message.status,
            "error": message_error(message),
            "contact_id": str(message.contact_id) if message.contact_id else None,
            "campaign_id": str(message.campaign_id) if message.campaign_id else None,
            "created_at": stamp(message.created_at),
            "sent_at": stamp(message.sent_at),
            "delivered_at": stamp(message.delivered_at or message.read_at),
            "read_at": stamp(message.read_at),
            "failed_at": stamp(message.failed_at),
        }


class MessageDetailSerializer(MessageOutputSerializer):
    timeline = StatusEventSerializer(many=True)

    def to_representation(self, message) -> dict[str, Any]:
        data = super().to_representation(message)
        data["timeline"] = [
            {
                "status": event.status,
                "occurred_at": event.occurred_at.isoformat().replace("+00:00", "Z"),
                "applied": event.applied,
                "error_code": event.error_code or None,
            }
            for event in selectors.message_timeline(message=message)
        ]
        return data


def _required(data: Any, name: str) -> Any:
    value = data.get(name) if isinstance(data, dict) else None
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ApplicationError(
            f"{name} is required.",
            code="invalid_request",
            status=400,
            field=name,
            details=[{"field": name, "message": f"{name} is required."}],
        )
    if not isinstance(value, str):
        raise ApplicationError(
            f"{name} must be a string.",
            code="invalid_request",
            status=400,
            field=name,
            details=[{"field": name, "message": f"{name} must be a string."}],
        )
    return value


class MessageSendTemplateApi(PublicApiView):
    required_scopes = {"POST": SEND}

    @extend_schema(
        tags=TAGS,
        operation_id="messages_send_template",
        summary="Send a template message",
        description="Sends an approved template through the workspace's active WABA. "
        "`accepted` means WhatsApp took the message, not that it was delivered: follow "
        "`message.sent|delivered|read|failed` webhooks. A send to an opted-out number is "
        "accepted and then fails with `lk_opted_out` (delivered as `message.failed`). "
        "Test keys send through the sandbox.",
        request=SendInputSerializer,
        responses={
            200: SendOutputSerializer,
            **error_responses(404, codes={404: "no_active_waba"}),
            **error_responses(502, 504),
        },
        examples=[
            OpenApiExample("Order confirmation", value=SEND_EXAMPLE, request_only=True),
            OpenApiExample(
                "Accepted",
                value={
                    "message_id": "wamid.HBgMOTE5OTk5OTk5OTk5FQIAERgSQjQ2",
                    "status": "accepted",
                    "to": "+919999999999",
                },
                response_only=True,
            ),
        ],
    )
    def post(self, request: Request) -> Response:
        data = request.data
        if not isinstance(data, dict):
            raise ApplicationError("The body must be a JSON object.", code="invalid_request")
        to = _required(data, "to")
        template_name = _required(data, "template_name")
        language = data.get("language") or "en"
        if not isinstance(language, str):
            raise ApplicationError(
                "language must be a string.", code="invalid_request", field="language"
            )
        message = services.message_send_template(
            to=to,
            template_name=template_name,
            language=language,
            components=data.get("components"),
            mode=getattr(request.auth, "mode", "live"),
            origin="api",
        )
        return Response(
            {"message_id": message.public_id, "status": "accepted", "to": message.phone}
        )


class MessageListApi(PublicApiView):
    required_scopes = {"GET": READ}

    @extend_schema(
        tags=TAGS,
        operation_id="messages_list",
        summary="List messages",
        description="Sent and received messages, newest first.",
        parameters=[
            OpenApiParameter("status", str, enum=MessageStatus.values),
            OpenApiParameter("to", str, description="The other party's number, E.164."),
            OpenApiParameter("contact_id", str),
            OpenApiParameter("campaign_id", str),
            OpenApiParameter("template_name", str),
            OpenApiParameter("created_after", str, description="ISO 8601, inclusive."),
            OpenApiParameter("created_before", str, description="ISO 8601, exclusive."),
            OpenApiParameter("page", int),
            OpenApiParameter("limit", int, description="1 to 100, default 20."),
        ],
        responses={200: paginated(MessageOutputSerializer)},
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        filters = selectors.MessageFilters(
            status=params.get("status", ""),
            to=params.get("to", ""),
            contact_id=params.get("contact_id", ""),
            campaign_id=params.get("campaign_id", ""),
            template_name=params.get("template_name", ""),
            created_after=params.get("created_after", ""),
            created_before=params.get("created_before", ""),
        )
        return paginated_response(
            request=request,
            queryset=selectors.message_list(filters=filters),
            serializer_class=MessageOutputSerializer,
        )


class MessageDetailApi(PublicApiView):
    required_scopes = {"GET": READ}

    @extend_schema(
        tags=TAGS,
        operation_id="messages_get",
        summary="Get a message with its status timeline",
        description="By Lynkist's id or Meta's wamid.",
        responses={
            200: MessageDetailSerializer,
            **error_responses(404),
        },
        examples=[
            OpenApiExample(
                "A read message",
                value={
                    **MESSAGE_EXAMPLE,
                    "timeline": [
                        {
                            "status": "sent",
                            "occurred_at": "2026-05-12T08:00:01Z",
                            "applied": True,
                            "error_code": None,
                        },
                        {
                            "status": "read",
                            "occurred_at": "2026-05-12T08:00:09Z",
                            "applied": True,
                            "error_code": None,
                        },
                    ],
                },  # fmt: skip
                response_only=True,
            )
        ],
    )
    def get(self, request: Request, message_id: str) -> Response:
        message = selectors.message_get(identifier=message_id)
        return Response(MessageDetailSerializer(message).data)
