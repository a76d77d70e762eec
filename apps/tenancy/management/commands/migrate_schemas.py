"""django-tenants' migrate_schemas, plus the template schema new tenants are cloned from.

The template is not a tenant row, so django-tenants would never migrate it; here it is migrated
with the tenants every time, which keeps clones identical to a fully migrated schema.
"""

from django_tenants.management.commands.migrate_schemas import MigrateSchemasCommand

from apps.tenancy.schemas import template_schema_ensure, template_schema_name


class Command(MigrateSchemasCommand):
    def handle(self, *args, **options):
        super().handle(*args, **options)
        migrating_all_tenants = self.sync_tenant and not options.get("schema_name")
        if migrating_all_tenants:
            template_schema_ensure()
            options = {**options, "schema_name": template_schema_name(), "shared": False}
            super().handle(*args, **options)
