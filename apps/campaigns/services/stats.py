"""Campaign stats: counters moved by the dispatcher and by message status changes
(`_on_message_status`), never by counting recipients; `campaign_refresh_metrics` recounts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from apps.campaigns import selectors
from apps.campaigns.models import RECIPIENT_RANK, Campaign, CampaignRecipient, RecipientStatus
from apps.messaging.hooks import status_listener


def _funnel(status: str) -> tuple[int, int, int, int]:
    """(sent, delivered, read, failed) a recipient in `status` counts for. A failure after
    WhatsApp accepted the message moves the recipient from sent to failed, so that
    total = sent + failed + pending always holds (DESIGN.md, "stats is a funnel")."""
    delivered = status in (RecipientStatus.DELIVERED, RecipientStatus.READ)
    return (
        int(delivered or status == RecipientStatus.SENT),
        int(delivered),
        int(status == RecipientStatus.READ),
        int(status == RecipientStatus.FAILED),
    )


def counters_delta(changes: list[tuple[str, str]]) -> dict[str, Any]:
    """`F()` increments for recipients that moved (old status, new status)."""
    totals = [0, 0, 0, 0]
    for old, new in changes:
        before, after = _funnel(old), _funnel(new)
        for i in range(4):
            totals[i] += after[i] - before[i]
    names = ("sent_count", "delivered_count", "read_count", "failed_count")
    return {name: F(name) + n for name, n in zip(names, totals, strict=True) if n}


@transaction.atomic
def campaign_refresh_metrics(*, campaign: Campaign) -> Campaign:
    """Recompute the counters exactly from the recipient rows."""
    Campaign.objects.filter(pk=campaign.pk).update(
        updated_at=timezone.now(), **selectors.campaign_recount(campaign=campaign)
    )
    campaign.refresh_from_db()
    return campaign


MESSAGE_TO_RECIPIENT = {
    "accepted": RecipientStatus.SENT,
    "held_for_quality_assessment": RecipientStatus.SENT,
    "sent": RecipientStatus.SENT,
    "delivered": RecipientStatus.DELIVERED,
    "read": RecipientStatus.READ,
    "failed": RecipientStatus.FAILED,
}


def campaign_recipient_status_apply(
    *,
    recipient_id: Any,
    new_status: str,
    error_code: str = "",
    error_message: str = "",
    at: datetime | None = None,
) -> bool:
    """Move a recipient forward after a status callback and adjust its campaign's counters
    by the difference (no count over recipients). Out-of-order and duplicate callbacks
    converge: a status that is not further along changes nothing."""
    target = MESSAGE_TO_RECIPIENT.get(new_status)
    if target is None:
        return False
    at = at or timezone.now()
    with transaction.atomic():
        recipient = CampaignRecipient.objects.select_for_update().filter(pk=recipient_id).first()
        if recipient is None or RECIPIENT_RANK[target] <= RECIPIENT_RANK[recipient.status]:
            return False
        old = recipient.status
        fields: dict[str, Any] = {"status": target}
        stamps = {
            RecipientStatus.SENT: ["sent_at"],
            RecipientStatus.DELIVERED: ["delivered_at", "sent_at"],
            RecipientStatus.READ: ["read_at", "delivered_at", "sent_at"],
            RecipientStatus.FAILED: ["failed_at"],
        }[target]
        for name in stamps:
            if getattr(recipient, name) is None:
                fields[name] = at
        if target == RecipientStatus.FAILED:
            fields["error_code"] = str(error_code or "")[:32]
            fields["error_message"] = error_message
        CampaignRecipient.objects.filter(pk=recipient.pk).update(**fields)
        delta = counters_delta([(old, target)])
        if delta:
            Campaign.objects.filter(pk=recipient.campaign_id).update(**delta)
    return True


@status_listener
def _on_message_status(*, message: Any, previous_status: str, new_status: str) -> None:
    recipient_id = getattr(message, "campaign_recipient_id", None)
    if not recipient_id:
        return
    at = {
        "delivered": message.delivered_at,
        "read": message.read_at,
        "failed": message.failed_at,
        "sent": message.sent_at,
    }.get(new_status)
    campaign_recipient_status_apply(
        recipient_id=recipient_id,
        new_status=new_status,
        error_code=message.error_code,
        error_message=message.error_detail or message.error_title,
        at=at,
    )
