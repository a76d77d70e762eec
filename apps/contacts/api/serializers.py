"""Shapes of the contacts, groups and sources API. Output serializers render the documented
objects; input serializers describe request bodies for the OpenAPI document, while the
services own validation (the same rules hold for pages, imports and the API)."""

from __future__ import annotations

from rest_framework import serializers

from apps.contacts.events import contact_data, iso


class ContactSerializer(serializers.Serializer):
    id = serializers.UUIDField(read_only=True)
    first_name = serializers.CharField(max_length=255)
    last_name = serializers.CharField(allow_null=True, required=False)
    phone = serializers.CharField(max_length=20, allow_null=True, required=False)
    email = serializers.EmailField(allow_null=True, required=False)
    company = serializers.CharField(allow_null=True, required=False)
    job_title = serializers.CharField(allow_null=True, required=False)
    status = serializers.CharField(allow_null=True, required=False)
    tags = serializers.ListField(child=serializers.CharField(), required=False)
    custom_fields = serializers.DictField(required=False)
    source_id = serializers.UUIDField(allow_null=True, required=False)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True, allow_null=True)

    def to_representation(self, instance):
        return contact_data(instance)


class ContactCreateSerializer(serializers.Serializer):
    first_name = serializers.CharField(max_length=255)
    last_name = serializers.CharField(allow_null=True, required=False)
    phone = serializers.CharField(
        max_length=20, allow_null=True, required=False, help_text="E.164, e.g. +919999999999"
    )
    email = serializers.EmailField(allow_null=True, required=False)
    company = serializers.CharField(allow_null=True, required=False)
    job_title = serializers.CharField(allow_null=True, required=False)
    status = serializers.CharField(
        allow_null=True, required=False, help_text="Free-form: active, lead, customer..."
    )
    tags = serializers.ListField(child=serializers.CharField(max_length=64), required=False)
    custom_fields = serializers.DictField(required=False)
    source_id = serializers.UUIDField(allow_null=True, required=False)


class ContactUpdateSerializer(ContactCreateSerializer):
    first_name = serializers.CharField(max_length=255, required=False)


class ContactSearchSerializer(serializers.Serializer):
    search_term = serializers.CharField(required=False, allow_blank=True)
    status = serializers.CharField(required=False, allow_blank=True)
    tag = serializers.CharField(required=False, allow_blank=True)
    group_id = serializers.UUIDField(required=False, allow_null=True)
    source_id = serializers.UUIDField(required=False, allow_null=True)


class ContactBulkSerializer(serializers.Serializer):
    contacts = ContactCreateSerializer(many=True)


class BulkErrorSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    error = serializers.CharField()


class BulkResultSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    created = serializers.IntegerField()
    failed = serializers.IntegerField()
    errors = BulkErrorSerializer(many=True)


class MessageSerializer(serializers.Serializer):
    message = serializers.CharField()


class GroupSerializer(serializers.Serializer):
    id = serializers.UUIDField(read_only=True)
    name = serializers.CharField(max_length=255)
    description = serializers.CharField(allow_blank=True, required=False)
    contact_count = serializers.IntegerField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)

    def to_representation(self, instance):
        return {
            "id": str(instance.id),
            "name": instance.name,
            "description": instance.description,
            "contact_count": getattr(instance, "contact_count", 0),
            "created_at": iso(instance.created_at),
            "updated_at": iso(instance.updated_at),
        }


class GroupWriteSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=255)
    description = serializers.CharField(allow_blank=True, allow_null=True, required=False)


class GroupUpdateSerializer(GroupWriteSerializer):
    name = serializers.CharField(max_length=255, required=False)


class ContactIdsSerializer(serializers.Serializer):
    contact_ids = serializers.ListField(child=serializers.CharField(), max_length=1000)


class MembershipResultSerializer(serializers.Serializer):
    added = serializers.IntegerField(required=False)
    removed = serializers.IntegerField(required=False)
    unchanged = serializers.IntegerField()
    unknown_ids = serializers.ListField(child=serializers.CharField())


class SourceSerializer(serializers.Serializer):
    id = serializers.UUIDField(read_only=True)
    name = serializers.CharField(max_length=255)
    kind = serializers.ChoiceField(choices=["import", "api", "form", "manual"])
    contact_count = serializers.IntegerField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)

    def to_representation(self, instance):
        return {
            "id": str(instance.id),
            "name": instance.name,
            "kind": instance.kind,
            "contact_count": getattr(instance, "contact_count", 0),
            "created_at": iso(instance.created_at),
        }


class SourceWriteSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=255)
    kind = serializers.ChoiceField(choices=["import", "api", "form", "manual"], required=False)
