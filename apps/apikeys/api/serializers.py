from __future__ import annotations

from rest_framework import serializers

from apps.apikeys.models import ApiKey, ApiKeyMode
from apps.apikeys.scopes import ALL_SCOPES


class ApiKeyOutputSerializer(serializers.ModelSerializer):
    status = serializers.CharField(read_only=True)

    class Meta:
        model = ApiKey
        fields = [
            "id",
            "name",
            "prefix",
            "mode",
            "scopes",
            "ip_allowlist",
            "status",
            "expires_at",
            "last_used_at",
            "revoked_at",
            "rotated_at",
            "previous_key_expires_at",
            "created_at",
        ]
        read_only_fields = fields


class ApiKeyCreateInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=ALL_SCOPES), required=False, default=list
    )
    mode = serializers.ChoiceField(choices=ApiKeyMode.values, default=ApiKeyMode.LIVE)
    ip_allowlist = serializers.ListField(
        child=serializers.CharField(max_length=64), required=False, default=list
    )
    expires_at = serializers.DateTimeField(required=False, allow_null=True, default=None)


class ApiKeyUpdateInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False)
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=ALL_SCOPES), required=False
    )
    ip_allowlist = serializers.ListField(child=serializers.CharField(max_length=64), required=False)
    expires_at = serializers.DateTimeField(required=False, allow_null=True)


class ApiKeyRotateInputSerializer(serializers.Serializer):
    # 0 (the old secret stops at once) to 168 hours (7 days).
    grace_period_hours = serializers.IntegerField(min_value=0, max_value=168, default=24)
