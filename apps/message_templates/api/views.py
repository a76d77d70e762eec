"""Public API for message templates (`/api/v1/public/templates...`). Thin: parse, call a
selector or service, render. Test-mode keys (`lk_sk_test_`) work against the sandbox, so
nothing they do reaches Meta."""

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
from apps.message_templates import selectors, services
from apps.message_templates.models import Category, Status
from apps.message_templates.rendering import template_placeholders
from apps.whatsapp.services import whatsapp_provider_get

READ = ["templates:read"]
WRITE = ["templates:write"]
TAGS = ["Templates"]

TEMPLATE_EXAMPLE = {
    "id": "3f1c2a9e-5d7b-4e8a-9c0f-1a2b3c4d5e6f",
    "meta_id": "1234567890123456",
    "name": "order_confirmation",
    "language": "en_US",
    "category": "UTILITY",
    "status": "APPROVED",
    "rejection_reason": None,
    "quality_rating": "GREEN",
    "components": [
        {
            "type": "BODY",
            "text": "Hi {{1}}, your order {{2}} has shipped.",
            "example": {"body_text": [["Anurag", "ORD-1042"]]},
        }
    ],
    "placeholders": {"body": ["1", "2"]},
    "created_at": "2026-05-12T08:00:00Z",
    "updated_at": "2026-05-12T08:05:00Z",
}
ERROR_502_504 = error_responses(502, 504)
NO_WABA = error_responses(404, codes={404: "no_active_waba"})


# Inline enums: named enum components would collide with other resources' `status` fields.
@extend_schema_field({"type": "string", "enum": Status.values})
class TemplateStatusField(serializers.CharField):
    pass


@extend_schema_field({"type": "string", "enum": Category.values})
class TemplateCategoryField(serializers.CharField):
    pass


class TemplateOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    meta_id = serializers.CharField(allow_null=True, help_text="Meta's template id.")
    name = serializers.CharField()
    language = serializers.CharField()
    category = TemplateCategoryField()
    status = TemplateStatusField()
    rejection_reason = serializers.CharField(allow_null=True)
    quality_rating = serializers.CharField(allow_null=True)
    components = serializers.JSONField(help_text="Meta's component list, as submitted.")
    placeholders = serializers.SerializerMethodField(
        help_text="Placeholders per component: the keys a campaign's variable mapping uses."
    )
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def get_placeholders(self, template) -> dict[str, Any]:
        return template_placeholders(template.components)

    def to_representation(self, instance):
        data = super().to_representation(instance)
        for field in ("meta_id", "rejection_reason", "quality_rating"):
            data[field] = data[field] or None
        return data


def _provider(request: Request):
    return whatsapp_provider_get(mode=getattr(request.auth, "mode", "live"))


class TemplateListCreateApi(PublicApiView):
    required_scopes = {"GET": READ, "POST": WRITE}

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(help_text="Lowercase letters, digits and underscores.")
        language = serializers.CharField(help_text="WhatsApp language code, e.g. en_US.")
        category = serializers.CharField(help_text="MARKETING, UTILITY or AUTHENTICATION.")
        components = serializers.ListField(
            child=serializers.DictField(), help_text="Meta's component list."
        )

    @extend_schema(
        tags=TAGS,
        operation_id="templates_list",
        summary="List templates",
        parameters=[
            OpenApiParameter("status", str, enum=Status.values),
            OpenApiParameter("category", str, enum=Category.values),
            OpenApiParameter("language", str, description="Exact code, e.g. en_US."),
            OpenApiParameter("name", str, description="Part of the name."),
            OpenApiParameter("page", int),
            OpenApiParameter("limit", int, description="1 to 100, default 20."),
        ],
        responses={200: paginated(TemplateOutputSerializer)},
        examples=[
            OpenApiExample(
                "A page of templates",
                value={
                    "data": [TEMPLATE_EXAMPLE],
                    "pagination": {
                        "page": 1,
                        "limit": 20,
                        "total_items": 1,
                        "total_pages": 1,
                        "has_next": False,
                        "has_prev": False,
                    },
                },
                response_only=True,
            )
        ],
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        queryset = selectors.message_template_list(
            status=params.get("status", ""),
            category=params.get("category", ""),
            language=params.get("language", ""),
            name=params.get("name", ""),
        )
        return paginated_response(
            request=request, queryset=queryset, serializer_class=TemplateOutputSerializer
        )

    @extend_schema(
        tags=TAGS,
        operation_id="templates_create",
        summary="Create and submit a template",
        description="Validates the template with WhatsApp's rules, submits it for review and "
        "returns it PENDING. Its approval arrives later (`template.approved` or "
        "`template.rejected`); the sandbox decides within a few seconds and rejects names "
        "containing `reject`.",
        request=InputSerializer,
        responses={
            201: TemplateOutputSerializer,
            **NO_WABA,
            **error_responses(409),
            **ERROR_502_504,
        },
        examples=[
            OpenApiExample(
                "Order confirmation",
                value={
                    "name": "order_confirmation",
                    "language": "en_US",
                    "category": "UTILITY",
                    "components": TEMPLATE_EXAMPLE["components"],
                },
                request_only=True,
            ),
            OpenApiExample(
                "Submitted", value={**TEMPLATE_EXAMPLE, "status": "PENDING"}, response_only=True
            ),
        ],
    )
    def post(self, request: Request) -> Response:
        data = request.data if isinstance(request.data, dict) else None
        if data is None:
            raise ApplicationError("The request body must be a JSON object.")
        missing = [f for f in ("name", "language", "category", "components") if f not in data]
        if missing:
            raise ApplicationError(
                f"{missing[0]} is required.",
                details=[{"field": f, "message": f"{f} is required."} for f in missing],
            )
        serializer = self.InputSerializer(data=data)
        serializer.is_valid(raise_exception=True)
        template = services.message_template_create(
            **serializer.validated_data, provider=_provider(request)
        )
        return Response(TemplateOutputSerializer(template).data, status=201)


class TemplateDetailApi(PublicApiView):
    required_scopes = {"GET": READ, "DELETE": WRITE}

    @extend_schema(
        tags=TAGS,
        operation_id="templates_get",
        summary="Get a template",
        description="`id` is Lynkist's UUID or Meta's template id.",
        responses={200: TemplateOutputSerializer},
        examples=[OpenApiExample("Template", value=TEMPLATE_EXAMPLE, response_only=True)],
    )
    def get(self, request: Request, template_id: str) -> Response:
        template = selectors.message_template_get(identifier=template_id)
        return Response(TemplateOutputSerializer(template).data)

    @extend_schema(
        tags=TAGS,
        operation_id="templates_delete",
        summary="Delete a template",
        description="Deletes the template from WhatsApp, then from Lynkist.",
        responses={204: None, **ERROR_502_504},
    )
    def delete(self, request: Request, template_id: str) -> Response:
        template = selectors.message_template_get(identifier=template_id)
        services.message_template_delete(template=template, provider=_provider(request))
        return Response(status=204)


class TemplateSyncApi(PublicApiView):
    required_scopes = {"POST": WRITE}

    class OutputSerializer(serializers.Serializer):
        created = serializers.IntegerField()
        updated = serializers.IntegerField()
        removed = serializers.IntegerField()
        status_changes = serializers.IntegerField()

    @extend_schema(
        tags=TAGS,
        operation_id="templates_sync",
        summary="Sync templates from WhatsApp",
        description="Pulls every template of the WABA with its status: adds new ones, updates "
        "known ones (status changes emit their events) and removes ones deleted in WhatsApp.",
        request=None,
        responses={200: OutputSerializer, **NO_WABA, **ERROR_502_504},
        examples=[
            OpenApiExample(
                "Synced",
                value={"created": 2, "updated": 14, "removed": 1, "status_changes": 3},
                response_only=True,
            )
        ],
    )
    def post(self, request: Request) -> Response:
        result = services.message_template_sync(provider=_provider(request))
        return Response(self.OutputSerializer(result).data)
