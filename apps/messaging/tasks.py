from __future__ import annotations

from celery import shared_task

from apps.messaging.callbacks_drain import callbacks_drain, callbacks_prune


@shared_task(name="apps.messaging.tasks.meta_callbacks_drain_task", ignore_result=True)
def meta_callbacks_drain_task() -> int:
    """Process stored Meta callbacks (public schema; each change is routed to its workspace
    by the pipeline, which enters that schema itself)."""
    return callbacks_drain()


@shared_task(name="apps.messaging.tasks.meta_callbacks_sweep_task", ignore_result=True)
def meta_callbacks_sweep_task() -> int:
    """Periodic: process anything a crash or a lost nudge left waiting."""
    return callbacks_drain(max_batches=500)


@shared_task(name="apps.messaging.tasks.meta_callbacks_prune_task", ignore_result=True)
def meta_callbacks_prune_task() -> int:
    return callbacks_prune()


@shared_task(name="apps.messaging.tasks.unmatched_statuses_retry_all", ignore_result=True)
def unmatched_statuses_retry_all() -> int:
    """Periodic: in every workspace, apply parked statuses whose message now exists."""
    from django_tenants.utils import get_public_schema_name, schema_context

    from apps.messaging.services import unmatched_statuses_retry
    from apps.tenancy.models import Tenant

    applied = 0
    schemas = Tenant.objects.exclude(schema_name=get_public_schema_name()).values_list(
        "schema_name", flat=True
    )
    for schema in schemas:
        with schema_context(schema):
            applied += unmatched_statuses_retry()
    return applied
