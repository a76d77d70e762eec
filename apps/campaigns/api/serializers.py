"""Shapes of the public Campaigns API (the Campaigns page's campaign object and friends)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from apps.campaigns.models import Campaign

# DRF's own rendering of a date-time (ISO 8601, UTC as Z, in the active time zone).
_stamp = serializers.DateTimeField().to_representation


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


class StatsSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    sent = serializers.IntegerField()
    delivered = serializers.IntegerField()
    read = serializers.IntegerField()
    failed = serializers.IntegerField()
    pending = serializers.IntegerField()


class CampaignSerializer(serializers.ModelSerializer):
    template_id = serializers.UUIDField()
    template_name = serializers.CharField(source="template.name", allow_null=True)
    template_category = serializers.CharField(source="template.category", allow_null=True)
    template_language = serializers.CharField(source="template.language", allow_null=True)
    variable_mapping = serializers.JSONField(allow_null=True)
    stats = StatsSerializer()

    class Meta:
        model = Campaign
        fields = [
            "id",
            "name",
            "description",
            "status",
            "template_id",
            "template_name",
            "template_category",
            "template_language",
            "variable_mapping",
            "batch_size",
            "scheduled_at",
            "started_at",
            "completed_at",
            "total_recipients",
            "stats",
            "created_at",
            "updated_at",
        ]

    def to_representation(self, campaign: Campaign) -> dict[str, Any]:
        # By hand, as the fields above would render it (tests/campaigns/test_api_shapes.py
        # holds the two equal): building a ModelSerializer's fields on every call cost a third
        # of GET /campaigns/{id}.
        template = campaign.template
        return {
            "id": str(campaign.id),
            "name": _text(campaign.name),
            "description": _text(campaign.description),
            "status": _text(campaign.status),
            "template_id": _text(campaign.template_id),
            "template_name": _text(template.name),
            "template_category": _text(template.category),
            "template_language": _text(template.language),
            "variable_mapping": campaign.variable_mapping,
            "batch_size": campaign.batch_size,
            "scheduled_at": _stamp(campaign.scheduled_at),
            "started_at": _stamp(campaign.started_at),
            "completed_at": _stamp(campaign.completed_at),
            "total_recipients": campaign.total_recipients,
            "stats": campaign.stats,
            "created_at": _stamp(campaign.created_at),
            "updated_at": _stamp(campaign.updated_at),
        }


class AudienceRowSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["group", "source"])
    id = serializers.UUIDField()
    name = serializers.CharField()


class CampaignDetailSerializer(CampaignSerializer):
    audiences = serializers.SerializerMethodField()

    class Meta(CampaignSerializer.Meta):
        fields = [*CampaignSerializer.Meta.fields, "audiences"]

    def get_audiences(self, campaign: Campaign) -> list[dict]:
        rows = self.context.get("audiences")
        if rows is None:
            from apps.campaigns.selectors import campaign_audience_rows

            rows = campaign_audience_rows(campaign=campaign)
        return [
            {"type": row["type"], "id": str(row["id"]), "name": _text(row["name"])} for row in rows
        ]

    def to_representation(self, campaign: Campaign) -> dict[str, Any]:
        """`context["audiences"]`: the campaign's audience rows when the caller read them
        already (`selectors.campaign_get_with_audience_rows`)."""
        return {**super().to_representation(campaign), "audiences": self.get_audiences(campaign)}


class AudienceInputSerializer(serializers.Serializer):
    groups = serializers.ListField(child=serializers.UUIDField(), required=False, default=list)
    sources = serializers.ListField(child=serializers.UUIDField(), required=False, default=list)


class CampaignCreateInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    description = serializers.CharField(max_length=500, required=False, allow_null=True)
    template_id = serializers.CharField()
    batch_size = serializers.IntegerField(min_value=1, max_value=1000, required=False, default=50)
    variable_mapping = serializers.JSONField(required=False, allow_null=True)
    audience = AudienceInputSerializer(required=False)
    scheduled_at = serializers.DateTimeField(required=False, allow_null=True)


class ScheduleInputSerializer(serializers.Serializer):
    scheduled_at = serializers.DateTimeField()


class PreviewInputSerializer(serializers.Serializer):
    sample_contact_id = serializers.UUIDField(required=False, allow_null=True)


class CoverageInputSerializer(serializers.Serializer):
    fields = serializers.ListField(child=serializers.CharField(), min_length=1, max_length=50)


class PreviewSampleSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    first_name = serializers.CharField()
    phone = serializers.CharField()


class AudiencePreviewSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    sample = PreviewSampleSerializer(many=True)


class CoverageEntrySerializer(serializers.Serializer):
    present = serializers.IntegerField()
    missing = serializers.IntegerField()


class CoverageSerializer(serializers.Serializer):
    total_recipients = serializers.IntegerField()
    coverage = serializers.DictField(child=CoverageEntrySerializer())


class RenderedSerializer(serializers.Serializer):
    campaign_id = serializers.UUIDField()
    sample_contact_id = serializers.UUIDField()
    resolved_components = serializers.ListField(child=serializers.DictField())
    missing_variables = serializers.ListField(
        child=serializers.CharField(),
        help_text="Placeholders this contact leaves empty (no value and no fallback), e.g. "
        "`body.2`: a send to this contact would fail validation.",
    )


class ErrorBucketSerializer(serializers.Serializer):
    code = serializers.CharField()
    title = serializers.CharField()
    fix = serializers.CharField()
    count = serializers.IntegerField()
    sample_message = serializers.CharField()
    retryable = serializers.BooleanField(
        help_text="Whether a new attempt may succeed: these recipients are what "
        "“retry failed” sends again."
    )


class ErrorsSummarySerializer(serializers.Serializer):
    total_failed = serializers.IntegerField()
    by_code = ErrorBucketSerializer(many=True)


class FailedRecipientSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    phone_number = serializers.CharField(source="phone")
    contact_id = serializers.UUIDField(allow_null=True)
    status = serializers.CharField()
    message_id = serializers.CharField(source="wamid", allow_null=True)
    error = serializers.CharField(source="error_message")


class DrilldownSerializer(serializers.Serializer):
    error_code = serializers.CharField()
    recipients = FailedRecipientSerializer(many=True)


class CampaignListSerializer(serializers.Serializer):
    data = CampaignSerializer(many=True)
