"""The `campaign.*` events and their payload."""

from __future__ import annotations

from typing import Any

CREATED = "campaign.created"
SCHEDULED = "campaign.scheduled"
STARTED = "campaign.started"
PAUSED = "campaign.paused"
RESUMED = "campaign.resumed"
STOPPED = "campaign.stopped"
COMPLETED = "campaign.completed"
FAILED = "campaign.failed"


def _iso(value) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def campaign_data(campaign: Any) -> dict[str, Any]:
    data = {
        "id": str(campaign.id),
        "name": campaign.name,
        "status": campaign.status,
        "template_id": str(campaign.template_id),
        "scheduled_at": _iso(campaign.scheduled_at),
        "started_at": _iso(campaign.started_at),
        "completed_at": _iso(campaign.completed_at),
        "total_recipients": campaign.total_recipients,
        "stats": campaign.stats,
    }
    if campaign.failure_reason:
        data["failure"] = {"code": campaign.failure_code, "reason": campaign.failure_reason}
    return data
