"""django-tenants' migrate_schemas, plus the template schema new tenants are cloned from.

The template is not a tenant row, so django-tenants would never migrate it; here it is migrated
with the tenants every time, which keeps clones identical to a fully migrated schema. Then every
workspace's constraint and index names are aligned with the template's (see
apps.tenancy.schemas.schema_names_align).
"""

from django_tenants.management.commands.migrate_schemas import MigrateSchemasCommand
from django_tenants.utils import get_public_schema_name

from apps.tenancy.models import Tenant
from apps.tenancy.schemas import schema_names_align, template_schema_ensure, template_schema_name


class Command(MigrateSchemasCommand):
    def handle(self, *args, **options):
        super().handle(*args, **options)
        migrating_all_tenants = self.sync_tenant and not options.get("schema_name")
        if migrating_all_tenants:
            template_schema_ensure()
            options = {**options, "schema_name": template_schema_name(), "shared": False}
            super().handle(*args, **options)
            # Workspaces cloned before clones kept the template's names get them now.
            for schema in Tenant.objects.exclude(schema_name=get_public_schema_name()).values_list(
                "schema_name", flat=True
            ):
                schema_names_align(schema)
