"""Celery entry points for webhooks: thin wrappers over the services.

Beat runs `webhooks_dispatch_all` every two seconds: one cheap query per few hundred workspaces
finds those with events to fan out or deliveries due, and each gets its own
`webhooks_process_tenant` task, so one workspace's slow receivers never hold up another's.
"""

from __future__ import annotations

from celery import shared_task
from django.core.cache import cache
from django.db import connection
from django_tenants.utils import get_public_schema_name, schema_context
from psycopg import sql

from apps.core.tasks import tenant_task
from apps.tenancy.models import Tenant

# Workspaces checked per query by the dispatcher (one EXISTS pair per schema, UNION ALL).
SCHEMAS_PER_SCAN = 200
# While this key exists a processing task for the workspace is queued and not yet started.
QUEUED_KEY = "webhooks:queued:{schema}"


def _workspace_schemas() -> list[str]:
    from django.conf import settings

    excluded = {get_public_schema_name(), getattr(settings, "TENANT_BASE_SCHEMA", None)}
    with schema_context(get_public_schema_name()):
        return [
            schema
            for schema in Tenant.objects.order_by("schema_name").values_list(
                "schema_name", flat=True
            )
            if schema not in excluded
        ]


def _schemas_with_work(schemas: list[str]) -> list[str]:
    parts = [
        sql.SQL(
            "SELECT {name} WHERE EXISTS (SELECT 1 FROM {schema}.webhooks_event"
            " WHERE fanned_out_at IS NULL)"
            " OR EXISTS (SELECT 1 FROM {schema}.webhooks_delivery d"
            " JOIN {schema}.webhooks_endpoint e ON e.id = d.endpoint_id"
            " WHERE d.status = 'pending' AND d.next_attempt_at <= now() AND e.enabled)"
        ).format(name=sql.Literal(schema), schema=sql.Identifier(schema))
        for schema in schemas
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL(" UNION ALL ").join(parts).as_string(cursor.connection))
        return [row[0] for row in cursor.fetchall()]


@shared_task(name="apps.webhooks.tasks.webhooks_dispatch_all", ignore_result=True)
def webhooks_dispatch_all() -> int:
    """Queue one processing task per workspace that has webhook work, unless one is queued."""
    schemas = _workspace_schemas()
    queued = 0
    for start in range(0, len(schemas), SCHEMAS_PER_SCAN):
        for schema in _schemas_with_work(schemas[start : start + SCHEMAS_PER_SCAN]):
            if cache.add(QUEUED_KEY.format(schema=schema), 1, timeout=120):
                webhooks_process_tenant.delay(schema)
                queued += 1
    return queued


@tenant_task(ignore_result=True)
def webhooks_process_tenant() -> dict:
    from apps.webhooks.services.deliveries import deliveries_send_due

    schema = connection.schema_name
    # Started: the dispatcher may queue the next run, which picks up what this one leaves.
    cache.delete(QUEUED_KEY.format(schema=schema))
    tenant = Tenant.objects.get(schema_name=schema)
    return vars(deliveries_send_due(tenant=tenant))


@shared_task(name="apps.webhooks.tasks.webhooks_prune_all", ignore_result=True)
def webhooks_prune_all() -> int:
    """Drop events older than the 30-day log, with their deliveries, in every workspace."""
    from apps.webhooks.services.deliveries import events_prune

    removed = 0
    for schema in _workspace_schemas():
        with schema_context(schema):
            removed += events_prune()
    return removed
