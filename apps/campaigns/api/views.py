"""Public Campaigns API (`/api/v1/public/campaigns...`), as the Campaigns page documents it.
Views are thin: parse, call a service or selector, render; errors are raised."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from apps.api.schema import error_responses
from apps.api.views import PublicApiView
from apps.campaigns import selectors, services
from apps.campaigns.api import serializers as s
from apps.core.errors import ApplicationError

READ = ["campaigns:read"]
WRITE = ["campaigns:write"]
SEND = ["campaigns:send"]
TAG = ["Campaigns"]

CAMPAIGN_EXAMPLE = {
    "id": "cb3f9a52-1d2e-4c7b-9f3a-5e8d7c6b5a41",
    "name": "May launch — India",
    "description": "Marketing blast for May product launch",
    "status": "DRAFT",
    "template_id": "f47ac10b-58cc-4372-a567-0e02b2c3d479",
    "template_name": "order_confirmation",
    "template_category": "UTILITY",
    "template_language": "en_US",
    "variable_mapping": {
        "body": {
            "1": {"field": "first_name", "fallback": "there"},
            "2": {"field": "custom_fields.order_id"},
        }
    },
    "batch_size": 50,
    "scheduled_at": None,
    "started_at": None,
    "completed_at": None,
    "total_recipients": 0,
    "stats": {"total": 0, "sent": 0, "delivered": 0, "read": 0, "failed": 0, "pending": 0},
    "created_at": "2026-05-28T10:00:00Z",
    "updated_at": "2026-05-28T10:00:00Z",
}


def _input(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    """A missing required field or a body that is not an object: 400 `invalid_request`;
    a field that is present but wrong: 422 `validation_error`."""
    data = request.data if request.data is not None else {}
    if not isinstance(data, dict):
        raise ApplicationError("The request body must be a JSON object.", code="invalid_request")
    serializer = serializer_class(data=data)
    missing = [
        name for name, field in serializer.fields.items() if field.required and name not in data
    ]
    if missing:
        raise ApplicationError(
            f"{missing[0]} is required.",
            code="invalid_request",
            details=[{"field": name, "message": f"{name} is required"} for name in missing],
        )
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _campaign(campaign_id: str):
    return selectors.campaign_get(campaign_id=campaign_id)


def _detail(campaign, status: int = 200) -> Response:
    return Response(s.CampaignDetailSerializer(campaign).data, status=status)


class CampaignListCreateApi(PublicApiView):
    required_scopes = {"GET": READ, "POST": WRITE}

    @extend_schema(
        tags=TAG,
        operation_id="campaigns_list",
        summary="List campaigns",
        description="Newest first. Not paginated.",
        responses={200: s.CampaignListSerializer},
        examples=[
            OpenApiExample("campaigns", value={"data": [CAMPAIGN_EXAMPLE]}, response_only=True)
        ],
    )
    def get(self, request: Request) -> Response:
        return Response({"data": s.CampaignSerializer(selectors.campaign_list(), many=True).data})

    @extend_schema(
        tags=TAG,
        operation_id="campaigns_create",
        summary="Create a campaign",
        description="Starts in SCHEDULED when `scheduled_at` is given, else DRAFT. Emits "
        "campaign.created (and campaign.scheduled).",
        request=s.CampaignCreateInputSerializer,
        responses={201: s.CampaignDetailSerializer, **error_responses(400, 422)},
        examples=[OpenApiExample("campaign", value=CAMPAIGN_EXAMPLE, response_only=True)],
    )
    def post(self, request: Request) -> Response:
        data = _input(s.CampaignCreateInputSerializer, request)
        audience = data.get("audience") or {}
        campaign = services.campaign_create(
            name=data["name"],
            description=data.get("description"),
            template=services.template_resolve(template_id=data["template_id"]),
            batch_size=data.get("batch_size", 50),
            variable_mapping=data.get("variable_mapping"),
            groups=audience.get("groups", []),
            sources=audience.get("sources", []),
            scheduled_at=data.get("scheduled_at"),
            send_mode=request.auth.mode,
        )
        return _detail(campaign, status=201)


class CampaignDetailApi(PublicApiView):
    required_scopes = {"GET": READ}

    @extend_schema(
        tags=TAG,
        operation_id="campaigns_get",
        summary="Get a campaign",
        description="The campaign object plus its audiences (group and source rows).",
        responses={200: s.CampaignDetailSerializer, **error_responses(404)},
    )
    def get(self, request: Request, campaign_id: str) -> Response:
        campaign, audiences = selectors.campaign_get_with_audience_rows(campaign_id=campaign_id)
        return Response(s.CampaignDetailSerializer(campaign, context={"audiences": audiences}).data)


class CampaignAudienceApi(PublicApiView):
    required_scopes = {"PUT": WRITE}

    @extend_schema(
        tags=TAG,
        operation_id="campaigns_set_audience",
        summary="Set audience",
        description="Replaces the audience (groups and sources). Only while DRAFT or PAUSED.",
        request=s.AudienceInputSerializer,
        responses={200: s.CampaignDetailSerializer, **error_responses(400, 404, 422)},
    )
    def put(self, request: Request, campaign_id: str) -> Response:
        campaign = _campaign(campaign_id)
        data = _input(s.AudienceInputSerializer, request)
        campaign = services.campaign_set_audience(
            campaign=campaign, groups=data["groups"], sources=data["sources"]
        )
        return _detail(campaign)


class CampaignAudiencePreviewApi(PublicApiView):
    required_scopes = {"GET": READ}

    @extend_schema(
        tags=TAG,
        operation_id="campaigns_audience_preview",
        summary="Preview resolved audience",
        description="Count and a sample of the resolved audience, without materialising it.",
        responses={200: s.AudiencePreviewSerializer, **error_responses(404)},
    )
    def get(self, request: Request, campaign_id: str) -> Response:
        contacts = selectors.campaign_audience_contacts(campaign=_campaign(campaign_id))
        return Response(
            s.AudiencePreviewSerializer(selectors.audience_preview(contacts=contacts)).data
        )


class CampaignFieldCoverageApi(PublicApiView):
    required_scopes = {"POST": READ}

    @extend_schema(
        tags=TAG,
        operation_id="campaigns_field_coverage",
        summary="Field coverage report",
        description="For each field, how many of the resolved audience have it populated.",
        request=s.CoverageInputSerializer,
        responses={200: s.CoverageSerializer, **error_responses(400, 404, 422)},
    )
    def post(self, request: Request, campaign_id: str) -> Response:
        from apps.campaigns.mapping import field_is_known

        campaign = _campaign(campaign_id)
        fields = list(dict.fromkeys(_input(s.CoverageInputSerializer, request)["fields"]))
        unknown = [name for name in fields if not field_is_known(name)]
        if unknown:
            raise ApplicationError(
                f"Unknown field {unknown[0]!r}.",
                code="validation_error",
                status=422,
                details=[{"field": "fields", "message": f"Unknown field {n!r}"} for n in unknown],
            )
        contacts = selectors.campaign_audience_contacts(campaign=campaign)
        return Response(selectors.audience_field_coverage(contacts=contacts, fields=fields))


class CampaignPreviewApi(PublicApiView):
    required_scopes = {"POST": WRITE}

    @extend_schema(
        tags=TAG,
        operation_id="campaigns_preview",
        summary="Render a template preview",
        description="The template rendered for one contact with the campaign's mapping "
        "(the audience's first contact when `sample_contact_id` is omitted).",
        request=s.PreviewInputSerializer,
        responses={200: s.RenderedSerializer, **error_responses(400, 404, 422)},
    )
    def post(self, request: Request, campaign_id: str) -> Response:
        campaign = _campaign(campaign_id)
        data = _input(s.PreviewInputSerializer, request)
        result = services.campaign_preview(
            campaign=campaign, contact_id=data.get("sample_contact_id")
        )
        return Response(result)


def _lifecycle(action: str, summary: str, description: str, *, body=None):
    return extend_schema(
        tags=TAG,
        operation_id=f"campaigns_{action}",
        summary=summary,
        description=description,
        request=body,
        responses={200: s.CampaignDetailSerializer, **error_responses(400, 404, 409)},
    )


class CampaignSendApi(PublicApiView):
    required_scopes = {"POST": SEND}

    @_lifecycle(
        "send",
        "Send now",
        "DRAFT or SCHEDULED -> RUNNING. Emits campaign.started. "
        "Campaigns sent with a test key go through the sandbox.",
    )
    def post(self, request: Request, campaign_id: str) -> Response:
        campaign = services.campaign_send_now(
            campaign=_campaign(campaign_id), send_mode=request.auth.mode
        )
        return _detail(campaign)


class CampaignScheduleApi(PublicApiView):
    required_scopes = {"POST": SEND}

    @_lifecycle(
        "schedule",
        "Schedule",
        "Moves to SCHEDULED with a UTC start time. Emits campaign.scheduled.",
        body=s.ScheduleInputSerializer,
    )
    def post(self, request: Request, campaign_id: str) -> Response:
        campaign = _campaign(campaign_id)
        data = _input(s.ScheduleInputSerializer, request)
        return _detail(
            services.campaign_schedule(campaign=campaign, scheduled_at=data["scheduled_at"])
        )


class CampaignPauseApi(PublicApiView):
    required_scopes = {"POST": SEND}

    @_lifecycle(
        "pause",
        "Pause",
        "Pauses a RUNNING or SCHEDULED campaign; in-flight sends drain. Emits campaign.paused.",
    )
    def post(self, request: Request, campaign_id: str) -> Response:
        return _detail(services.campaign_pause(campaign=_campaign(campaign_id)))


class CampaignResumeApi(PublicApiView):
    required_scopes = {"POST": SEND}

    @_lifecycle("resume", "Resume", "Resumes a PAUSED campaign. Emits campaign.resumed.")
    def post(self, request: Request, campaign_id: str) -> Response:
        return _detail(services.campaign_resume(campaign=_campaign(campaign_id)))


class CampaignStopApi(PublicApiView):
    required_scopes = {"POST": SEND}

    @_lifecycle(
        "stop", "Stop", "Terminal. Recipients not yet sent stay pending. Emits campaign.stopped."
    )
    def post(self, request: Request, campaign_id: str) -> Response:
        return _detail(services.campaign_stop(campaign=_campaign(campaign_id)))


class CampaignRefreshMetricsApi(PublicApiView):
    required_scopes = {"POST": WRITE}

    @extend_schema(
        tags=TAG,
        operation_id="campaigns_refresh_metrics",
        summary="Recompute stats",
        description="Recomputes stats exactly from the recipient rows.",
        request=None,
        responses={200: s.CampaignDetailSerializer, **error_responses(404)},
    )
    def post(self, request: Request, campaign_id: str) -> Response:
        return _detail(services.campaign_refresh_metrics(campaign=_campaign(campaign_id)))


class CampaignErrorsApi(PublicApiView):
    required_scopes = {"GET": READ}

    @extend_schema(
        tags=TAG,
        operation_id="campaigns_errors",
        summary="Errors summary",
        description="Failed recipients bucketed by error code, with the catalogue's title and fix.",
        responses={200: s.ErrorsSummarySerializer, **error_responses(404)},
    )
    def get(self, request: Request, campaign_id: str) -> Response:
        summary = selectors.campaign_errors_summary(campaign=_campaign(campaign_id))
        return Response(s.ErrorsSummarySerializer(summary).data)


class CampaignErrorDrilldownApi(PublicApiView):
    required_scopes = {"GET": READ}

    @extend_schema(
        tags=TAG,
        operation_id="campaigns_error_drilldown",
        summary="Errors drill-down",
        description="Recipients that failed with one code; `limit` at most 200 (default 200).",
        parameters=[OpenApiParameter("limit", int, required=False)],
        responses={200: s.DrilldownSerializer, **error_responses(404, 422)},
    )
    def get(self, request: Request, campaign_id: str, error_code: str) -> Response:
        campaign = _campaign(campaign_id)
        raw = request.query_params.get("limit", str(selectors.DRILLDOWN_MAX))
        if not raw.isdigit() or int(raw) < 1:
            raise ApplicationError(
                "limit must be a positive integer.",
                code="validation_error",
                status=422,
                details=[{"field": "limit", "message": "must be a positive integer"}],
            )
        recipients = selectors.campaign_errors_drilldown(
            campaign=campaign, error_code=error_code, limit=int(raw)
        )
        return Response(
            s.DrilldownSerializer({"error_code": error_code, "recipients": recipients}).data
        )
