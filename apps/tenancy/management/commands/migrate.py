# `migrate` is `migrate_schemas` in a tenant project (django-tenants does the same); the test
# runner calls `migrate`, so the template schema is built for test databases too.
from apps.tenancy.management.commands.migrate_schemas import Command  # noqa: F401
