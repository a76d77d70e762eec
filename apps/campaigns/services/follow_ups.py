"""Follow-up campaigns from a finished one: retry the failures worth retrying, or retarget
the recipients in one state. Each is a new draft whose audience is those contacts.
"""

from __future__ import annotations

from typing import Any

from django.db import connection, transaction

from apps.campaigns import events
from apps.campaigns.models import Campaign, CampaignRecipient, RecipientStatus
from apps.campaigns.services.lifecycle import InvalidTransition, S, _emit
from apps.core.errors import ApplicationError, ValidationFailed

RETARGET_STATUSES = {
    "pending": [RecipientStatus.PENDING],
    "failed": [RecipientStatus.FAILED],
    "sent_not_delivered": [RecipientStatus.SENT],
    "delivered_not_read": [RecipientStatus.DELIVERED],
    "read": [RecipientStatus.READ],
}


@transaction.atomic
def _follow_up(
    *, campaign: Campaign, name: str, recipients: Any, created_by_email: str
) -> Campaign:
    if campaign.status not in (S.COMPLETED, S.STOPPED, S.FAILED):
        raise InvalidTransition("Follow-up campaigns start from a finished campaign.")
    follow_up = Campaign.objects.create(
        name=name[:120],
        description=campaign.description,
        template=campaign.template,
        batch_size=campaign.batch_size,
        variable_mapping=campaign.variable_mapping,
        send_window_start=campaign.send_window_start,
        send_window_end=campaign.send_window_end,
        send_mode=campaign.send_mode,
        created_by_email=created_by_email,
    )
    sql, params = (
        recipients.filter(contact__isnull=False).values("contact_id").query.sql_with_params()
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO campaigns_campaignaudience (campaign_id, kind, contact_id) "  # noqa: S608
            f"SELECT DISTINCT %s, 'contact', sub.contact_id FROM ({sql}) sub",
            [follow_up.pk, *params],
        )
    _emit(events.CREATED, follow_up)
    return follow_up


def campaign_retry_failed(*, campaign: Campaign, created_by_email: str = "") -> Campaign:
    """A draft for the recipients whose failure may succeed if tried again (the catalogue's
    per-code `retryable` flag)."""
    from apps.whatsapp.errors import error_info

    codes = set(
        CampaignRecipient.objects.filter(campaign=campaign, status=RecipientStatus.FAILED)
        .values_list("error_code", flat=True)
        .distinct()
    )
    retryable = [code for code in codes if error_info(code).retryable]
    if not retryable:
        raise ApplicationError("No recipient failed with an error worth retrying.")
    recipients = CampaignRecipient.objects.filter(
        campaign=campaign, status=RecipientStatus.FAILED, error_code__in=retryable
    )
    return _follow_up(
        campaign=campaign,
        name=f"{campaign.name} (retry failed)",
        recipients=recipients,
        created_by_email=created_by_email,
    )


def campaign_retarget(*, campaign: Campaign, segment: str, created_by_email: str = "") -> Campaign:
    """A draft for the recipients in one state, e.g. delivered but not read."""
    if segment not in RETARGET_STATUSES:
        raise ValidationFailed(f"Unknown segment {segment!r}.", field="segment")
    recipients = CampaignRecipient.objects.filter(
        campaign=campaign, status__in=RETARGET_STATUSES[segment]
    )
    return _follow_up(
        campaign=campaign,
        name=f"{campaign.name} ({segment.replace('_', ' ')})",
        recipients=recipients,
        created_by_email=created_by_email,
    )
