"""The template schema that new tenants are cloned from.

Running every tenant migration for each new workspace gets slower with every app; cloning a
schema that `migrate_schemas` keeps current costs the same whatever the number of migrations.
"""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django_tenants.utils import schema_exists


def template_schema_name() -> str:
    return settings.TENANT_BASE_SCHEMA


def template_schema_ensure() -> bool:
    """Create the template schema if it is missing; True when it had to be created."""
    name = template_schema_name()
    if schema_exists(name):
        return False
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE SCHEMA "{name}"')
    return True
