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


# ------------------------------------------------------------------------------------------
# Constraint and index names: clones keep the template's
# ------------------------------------------------------------------------------------------
# django-tenants clones tables with CREATE TABLE ... (LIKE ... INCLUDING ALL), and PostgreSQL
# then names the copied unique constraints (and some indexes) by its default rules: the
# template's `campaign_recipient_once` became `campaigns_campaignrecipient_campaign_id_phone_key`
# in every cloned workspace. Migrations that remove or rename a constraint do it by name, so a
# clone must carry the template's names. They are matched by table and definition.
_CONSTRAINTS = """
    SELECT t.relname, c.conname, pg_get_constraintdef(c.oid)
    FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
    JOIN pg_class t ON t.oid = c.conrelid
    WHERE n.nspname = %s
"""
_INDEXES = "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = %s"


def _by_definition(cursor, sql: str, schema: str) -> dict[tuple[str, str], str | None]:
    """(table, definition without the names) -> name; None where two share a definition."""
    with_schema = f'"{schema}".', f"{schema}."
    found: dict[tuple[str, str], str | None] = {}
    cursor.execute(sql, [schema])
    for table, name, definition in cursor.fetchall():
        for prefix in with_schema:  # references to the schema's own tables, when qualified
            definition = definition.replace(prefix, "")
        definition = definition.replace(f'INDEX "{name}" ON', "INDEX ON")
        definition = definition.replace(f"INDEX {name} ON", "INDEX ON")
        key = (table, definition)
        found[key] = None if key in found else name
    return found


def _renames(cursor, sql: str, schema: str) -> list[tuple[str, str, str]]:
    template = _by_definition(cursor, sql, template_schema_name())
    mine = _by_definition(cursor, sql, schema)
    return [
        (table, name, template[(table, definition)])
        for (table, definition), name in mine.items()
        if name and template.get((table, definition)) and template[(table, definition)] != name
    ]


def schema_names_align(schema: str) -> int:
    """Give `schema`'s constraints and indexes the names their twins have in the template;
    returns how many were renamed. Idempotent: a schema that matches is left alone."""
    from django.db import transaction

    quote = connection.ops.quote_name
    renamed = 0
    with transaction.atomic(), connection.cursor() as cursor:
        # Constraints first: renaming one renames the index behind it.
        for table, old, new in _renames(cursor, _CONSTRAINTS, schema):
            cursor.execute(
                f"ALTER TABLE {quote(schema)}.{quote(table)} "
                f"RENAME CONSTRAINT {quote(old)} TO {quote(new)}"
            )
            renamed += 1
        for _, old, new in _renames(cursor, _INDEXES, schema):
            cursor.execute(f"ALTER INDEX {quote(schema)}.{quote(old)} RENAME TO {quote(new)}")
            renamed += 1
    return renamed
