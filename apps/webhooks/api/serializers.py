"""Shapes of the webhooks API. Output serializers render the documented objects; input
serializers type-check request bodies, while the services own the rules (the same hold for the
Settings → Webhooks page)."""

from __future__ import annotations

from rest_framework import serializers

from apps.webhooks.events import SUBSCRIBABLE_EVENT_TYPES
from apps.webhooks.models import DeliveryStatus

EVENT_TYPE_HELP = "Subscribed event types; an empty list means every type."


class EndpointSerializer(serializers.Serializer):
    id = serializers.UUIDField(read_only=True)
    url = serializers.URLField()
    description = serializers.CharField(allow_blank=True)
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=sorted(SUBSCRIBABLE_EVENT_TYPES)),
        help_text=EVENT_TYPE_HELP,
    )
    enabled = serializers.BooleanField()
    disabled_reason = serializers.CharField(
        allow_blank=True, help_text="Why it is disabled (by whom, or the failures that did it)."
    )
    disabled_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class EndpointWithSecretSerializer(EndpointSerializer):
    secret = serializers.CharField(
        help_text="`whsec_` + base64: verify signatures with it (Standard Webhooks)."
    )


class SecretSerializer(serializers.Serializer):
    secret = serializers.CharField()
    previous_secret = serializers.CharField(
        allow_null=True, help_text="Still signing beside `secret` until `previous_expires_at`."
    )
    previous_expires_at = serializers.DateTimeField(allow_null=True)


class EndpointCreateSerializer(serializers.Serializer):
    url = serializers.CharField(max_length=2000, help_text="HTTPS URL of your receiver.")
    description = serializers.CharField(max_length=500, required=False, allow_blank=True)
    event_types = serializers.ListField(
        child=serializers.CharField(max_length=64), required=False, help_text=EVENT_TYPE_HELP
    )
    enabled = serializers.BooleanField(required=False, default=True)


class EndpointUpdateSerializer(serializers.Serializer):
    url = serializers.CharField(max_length=2000, required=False)
    description = serializers.CharField(max_length=500, required=False, allow_blank=True)
    event_types = serializers.ListField(
        child=serializers.CharField(max_length=64), required=False, help_text=EVENT_TYPE_HELP
    )
    enabled = serializers.BooleanField(
        required=False, help_text="false disables the endpoint; true enables it again."
    )


class DeliverySerializer(serializers.Serializer):
    id = serializers.UUIDField()
    endpoint_id = serializers.UUIDField()
    event_id = serializers.CharField()
    event_type = serializers.CharField(source="event.type")
    status = serializers.ChoiceField(choices=DeliveryStatus.choices)
    attempt_count = serializers.IntegerField()
    next_attempt_at = serializers.DateTimeField(
        allow_null=True, help_text="When a pending delivery is attempted next."
    )
    last_attempt_at = serializers.DateTimeField(allow_null=True)
    last_response_status = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()


class AttemptSerializer(serializers.Serializer):
    attempted_at = serializers.DateTimeField()
    request_headers = serializers.DictField(child=serializers.CharField())
    request_body = serializers.CharField()
    response_status = serializers.IntegerField(allow_null=True)
    response_body = serializers.CharField(help_text="The first 2 KB of the receiver's answer.")
    duration_ms = serializers.IntegerField()
    error = serializers.CharField(help_text="Timeout, connection or address refusal, if any.")
    succeeded = serializers.BooleanField()


class DeliveryDetailSerializer(DeliverySerializer):
    attempts = AttemptSerializer(many=True, source="attempt_list")


class EventSerializer(serializers.Serializer):
    """The event exactly as webhook deliveries carry it (the envelope)."""

    id = serializers.CharField()
    type = serializers.CharField()
    created_at = serializers.CharField()
    tenant = serializers.CharField(help_text="The workspace's slug.")
    data = serializers.DictField(help_text="The object the event is about.")

    def to_representation(self, instance):
        from apps.webhooks.services import event_envelope

        return event_envelope(event=instance, tenant_slug=self.context["tenant_slug"])
