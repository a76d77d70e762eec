"""Reads for campaigns: the audience (resolved in SQL, never materialised for a preview),
field coverage, one contact's resolved values, stats, the error report, the builder's
contact picker and messaging-limit warning, and the overview's figures."""

from __future__ import annotations

import functools
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from apps.campaigns import mapping as mapping_rules
from apps.campaigns.models import (
    AudienceKind,
    Campaign,
    CampaignAudience,
    CampaignRecipient,
    CampaignStatus,
    RecipientStatus,
)
from apps.contacts.models import LIVE, Contact, GroupMember
from apps.core.errors import NotFound
from apps.core.rows import model_columns, model_from_row, model_table
from apps.whatsapp.errors import error_info

PREVIEW_SAMPLE = 10
DRILLDOWN_MAX = 200


def campaign_list(*, status: str = "", search: str = "") -> QuerySet[Campaign]:
    campaigns = Campaign.objects.select_related("template").order_by("-created_at", "-id")
    if status:
        campaigns = campaigns.filter(status=status)
    if search:
        campaigns = campaigns.filter(name__icontains=search)
    return campaigns


def campaign_get(*, campaign_id: Any) -> Campaign:
    try:
        return Campaign.objects.select_related("template").get(pk=uuid.UUID(str(campaign_id)))
    except (ValueError, Campaign.DoesNotExist):
        raise NotFound("Campaign not found.") from None


@functools.cache
def _detail_sql() -> str:
    from apps.contacts.models import Group, Source
    from apps.message_templates.models import MessageTemplate

    return (
        f"SELECT {model_columns('c', Campaign)}, {model_columns('t', MessageTemplate)}, "  # noqa: S608
        "(SELECT json_agg(json_build_array(a.kind, "
        "CASE WHEN a.kind = %s THEN a.group_id ELSE a.source_id END, "
        "CASE WHEN a.kind = %s THEN g.name ELSE s.name END) ORDER BY a.id)::text "
        f"FROM {model_table(CampaignAudience)} a "
        f"LEFT JOIN {model_table(Group)} g ON g.id = a.group_id "
        f"LEFT JOIN {model_table(Source)} s ON s.id = a.source_id "
        "WHERE a.campaign_id = c.id AND a.kind IN (%s, %s)) "
        f"FROM {model_table(Campaign)} c "
        f"JOIN {model_table(MessageTemplate)} t ON t.id = c.template_id "
        "WHERE c.id = %s"
    )


def campaign_get_with_audience_rows(*, campaign_id: Any) -> tuple[Campaign, list[dict[str, Any]]]:
    """`campaign_get` and `campaign_audience_rows` in one statement, without the ORM's
    query building, which cost more than the database did: every public read of a campaign
    asks for both (the load bench reads one at every stats request)."""
    from apps.message_templates.models import MessageTemplate

    try:
        pk = uuid.UUID(str(campaign_id))
    except ValueError:
        raise NotFound("Campaign not found.") from None
    group, source = AudienceKind.GROUP.value, AudienceKind.SOURCE.value
    with connection.cursor() as cursor:
        cursor.execute(_detail_sql(), [group, group, group, source, pk])
        row = cursor.fetchone()
    if row is None:
        raise NotFound("Campaign not found.")
    split = len(Campaign._meta.concrete_fields)
    campaign = model_from_row(Campaign, row[:split])
    campaign.template = model_from_row(MessageTemplate, row[split:-1])
    audiences = [
        {"type": kind, "id": uuid.UUID(ref), "name": name}
        for kind, ref, name in json.loads(row[-1] or "[]")
    ]
    return campaign, audiences


def campaign_audience_ids(*, campaign: Campaign) -> dict[str, list[uuid.UUID]]:
    ids: dict[str, list[uuid.UUID]] = {"groups": [], "sources": [], "contacts": []}
    for kind, group_id, source_id, contact_id in campaign.audiences.values_list(
        "kind", "group_id", "source_id", "contact_id"
    ):
        if kind == AudienceKind.GROUP:
            ids["groups"].append(group_id)
        elif kind == AudienceKind.SOURCE:
            ids["sources"].append(source_id)
        else:
            ids["contacts"].append(contact_id)
    return ids


def audience_contacts(
    *, groups: list[Any], sources: list[Any], contacts: list[Any] | None = None
) -> QuerySet[Contact]:
    """The contacts an audience reaches: members of any group, contacts of any source, and
    picked contacts, each once; never archived, opted-out or phoneless ones. A phone belongs
    to one live contact at most (contacts' unique constraint), so this is also one row per
    phone; materialisation keeps a second guard on (campaign, phone)."""
    contacts = contacts or []
    if not (groups or sources or contacts):
        return Contact.objects.none()
    reach = Q()
    if groups:
        reach |= Q(id__in=GroupMember.objects.filter(group_id__in=groups).values("contact_id"))
    if sources:
        reach |= Q(source_id__in=sources)
    if contacts:
        reach |= Q(id__in=contacts)
    return (
        Contact.objects.filter(LIVE, opted_out_at__isnull=True, phone__isnull=False)
        .exclude(phone="")
        .filter(reach)
    )


def campaign_audience_contacts(*, campaign: Campaign) -> QuerySet[Contact]:
    return audience_contacts(**campaign_audience_ids(campaign=campaign))


def audience_preview(*, contacts: QuerySet[Contact], sample: int = PREVIEW_SAMPLE) -> dict:
    rows = contacts.order_by("created_at", "id").values("id", "first_name", "phone")[:sample]
    return {"total": contacts.count(), "sample": [dict(row) for row in rows]}


def audience_field_coverage(*, contacts: QuerySet[Contact], fields: list[str]) -> dict:
    """For each field, how many of the audience have it (one aggregate query)."""
    sql, params = contacts.values("id").query.sql_with_params()
    selects, select_params = ["COUNT(*)"], []
    for name in fields:
        expr, expr_params = mapping_rules.field_sql(name)
        selects.append(f"COUNT(*) FILTER (WHERE {expr} IS NOT NULL)")
        select_params += expr_params
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(selects)} FROM contacts_contact c "  # noqa: S608
            f"WHERE c.id IN ({sql})",
            [*select_params, *params],
        )
        row = cursor.fetchone()
    total = row[0]
    return {
        "total_recipients": total,
        "coverage": {
            name: {"present": present, "missing": total - present}
            for name, present in zip(fields, row[1:], strict=True)
        },
    }


def contact_values(*, mapping: dict | None, contact_id: Any) -> dict[str, Any]:
    """One contact's values for `mapping`, resolved by the same SQL materialisation uses.
    Without a contact (`contact_id` None) only fixed values resolve; fields come out empty."""
    expr, params = mapping_rules.values_sql(mapping)
    with connection.cursor() as cursor:
        if contact_id is None:
            cursor.execute(
                f"SELECT {expr} FROM (SELECT 1) AS one"  # noqa: S608
                " LEFT JOIN contacts_contact c ON false",
                params,
            )
        else:
            cursor.execute(
                f"SELECT {expr} FROM contacts_contact c WHERE c.id = %s",  # noqa: S608
                [*params, contact_id],
            )
        row = cursor.fetchone()
    if row is None:
        raise NotFound("Contact not found.")
    value = row[0]
    if isinstance(value, str):
        value = json.loads(value)
    return value or {}


def campaign_recount(*, campaign: Campaign) -> dict[str, int]:
    """Exact counters from the recipient rows (the funnel rules of DESIGN.md)."""
    counts = dict(
        CampaignRecipient.objects.filter(campaign=campaign)
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    # A failure reported after acceptance counts as failed only: total = sent + failed + pending.
    delivered = counts.get(RecipientStatus.DELIVERED, 0) + counts.get(RecipientStatus.READ, 0)
    return {
        "total_recipients": sum(counts.values()),
        "sent_count": counts.get(RecipientStatus.SENT, 0) + delivered,
        "delivered_count": delivered,
        "read_count": counts.get(RecipientStatus.READ, 0),
        "failed_count": counts.get(RecipientStatus.FAILED, 0),
    }


def campaign_errors_summary(*, campaign: Campaign) -> dict[str, Any]:
    rows = (
        CampaignRecipient.objects.filter(campaign=campaign, status=RecipientStatus.FAILED)
        .values("error_code")
        .annotate(count=Count("id"))
        .order_by("-count", "error_code")
    )
    by_code = []
    total = 0
    for row in rows:
        code = row["error_code"] or "unknown"
        info = error_info(code)
        sample = (
            CampaignRecipient.objects.filter(
                campaign=campaign, status=RecipientStatus.FAILED, error_code=row["error_code"]
            )
            .exclude(error_message="")
            .values_list("error_message", flat=True)
            .first()
        )
        total += row["count"]
        by_code.append(
            {
                "code": str(code),
                "title": info.title,
                "fix": info.fix,
                "retryable": info.retryable,
                "count": row["count"],
                "sample_message": sample or info.title,
            }
        )
    return {"total_failed": total, "by_code": by_code}


def campaign_errors_drilldown(
    *, campaign: Campaign, error_code: str, limit: int = DRILLDOWN_MAX
) -> QuerySet[CampaignRecipient]:
    limit = max(1, min(int(limit), DRILLDOWN_MAX))
    return CampaignRecipient.objects.filter(
        campaign=campaign, status=RecipientStatus.FAILED, error_code=error_code
    ).order_by("failed_at", "id")[:limit]


def campaigns_running_or_upcoming() -> QuerySet[Campaign]:
    return campaign_list().filter(
        status__in=[CampaignStatus.RUNNING, CampaignStatus.SCHEDULED, CampaignStatus.PAUSED]
    )


def campaign_audience_rows(*, campaign: Campaign) -> list[dict[str, Any]]:
    # Five columns, no model instances: every read of a campaign through the API asks for it.
    rows = []
    for kind, group_id, group_name, source_id, source_name in (
        CampaignAudience.objects.filter(
            campaign=campaign, kind__in=[AudienceKind.GROUP, AudienceKind.SOURCE]
        )
        .order_by("id")
        .values_list("kind", "group_id", "group__name", "source_id", "source__name")
    ):
        if kind == AudienceKind.GROUP:
            rows.append({"type": "group", "id": group_id, "name": group_name})
        else:
            rows.append({"type": "source", "id": source_id, "name": source_name})
    return rows


def campaign_timeline(*, campaign: Campaign) -> list[dict[str, Any]]:
    """The campaign's `campaign.*` events, oldest first (from the event outbox)."""
    from apps.webhooks.models import Event

    return list(
        Event.objects.filter(type__startswith="campaign.", data__id=str(campaign.pk))
        .order_by("created_at")
        .values("type", "created_at")[:100]
    )


def campaign_send_rate(*, campaign: Campaign, buckets: int = 30) -> list[dict[str, Any]]:
    """Sends per minute (accepted or failed) over the campaign's life, for the rate chart."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT date_trunc('minute', COALESCE(sent_at, failed_at)) AS minute, COUNT(*)"
            " FROM campaigns_campaignrecipient WHERE campaign_id = %s"
            " AND COALESCE(sent_at, failed_at) IS NOT NULL GROUP BY 1 ORDER BY 1 DESC LIMIT %s",
            [campaign.pk, buckets],
        )
        rows = list(reversed(cursor.fetchall()))
    return [{"minute": minute, "count": count} for minute, count in rows]


# ------------------------------------------------------------------------------------------
# The builder: picked contacts, the contact picker, the messaging limit
# ------------------------------------------------------------------------------------------
PICKER_RESULTS = 10


def contacts_picked(*, ids: list[Any]) -> list[Contact]:
    """The hand-picked contacts that still exist, in the order they were picked."""
    valid = []
    for value in ids:
        try:
            valid.append(uuid.UUID(str(value)))
        except ValueError:
            continue
    found = {c.id: c for c in Contact.objects.filter(LIVE, id__in=valid)}
    return [found[i] for i in dict.fromkeys(valid) if i in found]


def contact_picker_search(*, term: str, exclude: list[Any] = ()) -> list[Contact]:
    """Live contacts matching `term` (the contacts app's search), for picking one by one."""
    from apps.contacts.selectors import ContactFilters, contact_list

    term = (term or "").strip()
    if not term:
        return []
    found = contact_list(filters=ContactFilters(search=term)).exclude(id__in=list(exclude))
    return list(found[:PICKER_RESULTS])


def audience_messaging_limit_warning(*, audience_total: int) -> str:
    """What the builder says when an audience exceeds what Meta's messaging limit has left in
    the rolling 24 h (empty when it fits or there is no limit)."""
    from apps.messaging.selectors import messaging_limit_usage
    from apps.whatsapp.selectors import whatsapp_account_active

    # The builder asks on every keystroke: no limit, no count of the last 24 h's sends.
    account = whatsapp_account_active()
    if account is None or account.messaging_limit is None:
        return ""
    usage = messaging_limit_usage(account=account)
    if usage.allows(audience_total):
        return ""
    held = audience_total - (usage.remaining or 0)
    return (
        f"{audience_total:,} recipients but only {usage.remaining:,} of the messaging limit "
        f"({usage.limit:,} people per 24 h) is left: {held:,} will be held until the rolling "
        "24 h window allows, then sent."
    )


# ------------------------------------------------------------------------------------------
# The overview
# ------------------------------------------------------------------------------------------
OVERVIEW_DAYS = 7
OVERVIEW_ROWS = 5


@dataclass(frozen=True)
class DeliveryRates:
    sent: int  # campaign messages WhatsApp accepted in the period
    delivered: int
    read: int

    @property
    def delivery_rate(self) -> int | None:
        return round(100 * self.delivered / self.sent) if self.sent else None

    @property
    def read_rate(self) -> int | None:
        """Read as a share of delivered (what a reader of a funnel expects)."""
        return round(100 * self.read / self.delivered) if self.delivered else None


def campaign_delivery_rates(
    *, days: int = OVERVIEW_DAYS, now: datetime | None = None
) -> DeliveryRates:
    """Delivery and read rates of campaign messages sent in the last `days` days, from the
    messages' statuses (served by the recent-messages index, whatever the history's size)."""
    from apps.messaging.models import Direction, Message, MessageStatus

    since = (now or timezone.now()) - timedelta(days=days)
    delivered = Q(status__in=[MessageStatus.DELIVERED, MessageStatus.READ]) | Q(
        delivered_at__isnull=False
    )
    totals = Message.objects.filter(
        direction=Direction.OUTBOUND,
        created_at__gte=since,
        campaign_id__isnull=False,
        wamid__isnull=False,
    ).aggregate(
        sent=Count("id"),
        delivered=Count("id", filter=delivered),
        read=Count("id", filter=Q(status=MessageStatus.READ) | Q(read_at__isnull=False)),
    )
    return DeliveryRates(**totals)


def campaigns_overview(*, now: datetime | None = None) -> dict[str, Any]:
    """The overview page's campaigns: running (and paused) ones, the next scheduled ones, and
    the last 7 days' delivery and read rates."""
    now = now or timezone.now()
    running = campaign_list().filter(status__in=[CampaignStatus.RUNNING, CampaignStatus.PAUSED])
    upcoming = (
        campaign_list()
        .filter(status=CampaignStatus.SCHEDULED)
        .order_by("scheduled_at", "created_at")
    )
    return {
        "running": list(running[:OVERVIEW_ROWS]),
        "running_count": running.count(),
        "upcoming": list(upcoming[:OVERVIEW_ROWS]),
        "upcoming_count": upcoming.count(),
        "rates": campaign_delivery_rates(now=now),
        "days": OVERVIEW_DAYS,
    }
