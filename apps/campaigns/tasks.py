"""Celery entry points for campaigns: thin wrappers over the engine.

- `campaign_dispatch_task(schema, campaign_id=...)`: dispatch for a time budget, then queue
  itself again while there is work (or later, outside the send window). Idempotent: running
  it twice, or in several workers, sends nobody twice.
- `campaigns_tick` (beat, every few seconds): in every workspace, start due SCHEDULED
  campaigns (each once, see `campaigns_start_due`), and revive RUNNING campaigns whose
  dispatcher went quiet (a worker restart), so dispatch resumes rather than restarts.
"""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, schema_context

from apps.campaigns import dispatch, services
from apps.campaigns.models import Campaign, CampaignStatus
from apps.core.tasks import tenant_task
from apps.tenancy.models import Tenant

# A RUNNING campaign whose dispatcher has not recorded a batch for this long gets a new one.
QUIET_DISPATCH = timedelta(seconds=90)


@tenant_task(ignore_result=True, acks_late=True)
def campaign_dispatch_task(*, campaign_id: str) -> None:
    from django.db import connection

    result = dispatch.campaign_dispatch(campaign_id=campaign_id)
    if result.finished or result.retry_in is None:
        return
    campaign_dispatch_task.apply_async(
        args=[connection.schema_name],
        kwargs={"campaign_id": campaign_id},
        countdown=result.retry_in,
    )


def _workspace_schemas() -> list[str]:
    excluded = {get_public_schema_name(), getattr(settings, "TENANT_BASE_SCHEMA", None)}
    with schema_context(get_public_schema_name()):
        return [
            s
            for s in Tenant.objects.filter(is_active=True).values_list("schema_name", flat=True)
            if s not in excluded
        ]


def campaigns_tick_schema(schema_name: str) -> dict[str, int]:
    """The beat's work in one workspace (also what tests call)."""
    with schema_context(schema_name):
        started = services.campaigns_start_due()
        quiet = timezone.now() - QUIET_DISPATCH
        revived = 0
        for campaign in Campaign.objects.filter(status=CampaignStatus.RUNNING):
            dispatch.campaign_reconcile_stale(campaign=campaign)
            if services.campaign_complete_if_done(campaign=campaign):
                continue
            quiet_since = campaign.last_dispatch_at is None or campaign.last_dispatch_at < quiet
            if quiet_since and str(campaign.id) not in started:
                campaign_dispatch_task.delay(schema_name, campaign_id=str(campaign.id))
                revived += 1
        return {"started": len(started), "revived": revived}


@shared_task(name="apps.campaigns.tasks.campaigns_tick", ignore_result=True)
def campaigns_tick() -> int:
    started = 0
    for schema in _workspace_schemas():
        started += campaigns_tick_schema(schema)["started"]
    return started
