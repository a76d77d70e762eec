from django.contrib import admin

from apps.tenancy.models import Domain, Membership, Tenant


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "plan", "is_active", "created_at"]
    list_filter = ["plan", "is_active"]
    search_fields = ["slug", "name"]
    readonly_fields = ["schema_name", "created_at"]
    inlines = [MembershipInline]

    def has_add_permission(self, request) -> bool:
        # Workspaces are created by `create_tenant` (the service), which also clones the schema.
        return False


@admin.register(Domain)
class DomainAdmin(admin.ModelAdmin):
    list_display = ["domain", "tenant", "is_primary"]
