from django.contrib import admin

from apps.apikeys.models import ApiKey


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "prefix", "tenant", "mode", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["mode"]
    search_fields = ["name", "prefix", "tenant__slug"]
    readonly_fields = ["prefix", "key_hash", "previous_key_hash", "previous_key_expires_at"]
