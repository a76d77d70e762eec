"""Campaign stats from a batch of status changes: the same recipients and counters as the
changes applied one by one, for a fixed number of queries."""

from __future__ import annotations

import uuid
from datetime import timedelta

import psycopg
import pytest
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from apps.campaigns import services
from apps.campaigns.models import Campaign, CampaignRecipient
from apps.campaigns.services import RecipientStatusChange
from tests.campaigns.conftest import MAPPING, make_contacts

pytestmark = pytest.mark.django_db

T0 = timezone.now() - timedelta(hours=1)


def running(template, group, name):
    """A running campaign over `group` whose recipients are sent, but for the last two by
    phone: one still `sending`, one still `pending`."""
    campaign = services.campaign_create(
        template=template, name=name, variable_mapping=MAPPING, groups=[group.id]
    )
    campaign = services.campaign_send_now(campaign=campaign)
    rows = list(CampaignRecipient.objects.filter(campaign=campaign).order_by("phone"))
    CampaignRecipient.objects.filter(pk__in=[r.pk for r in rows[:-2]]).update(
        status="sent", sent_at=T0
    )
    CampaignRecipient.objects.filter(pk=rows[-2].pk).update(status="sending")
    Campaign.objects.filter(pk=campaign.pk).update(sent_count=F("total_recipients") - 2)
    return campaign, rows


def snapshot(*campaigns):
    fields = ["id", "status", "sent_at", "delivered_at", "read_at", "failed_at"]
    fields += ["error_code", "error_message"]
    rows = list(
        CampaignRecipient.objects.filter(campaign__in=campaigns).order_by("id").values(*fields)
    )
    stats = [Campaign.objects.get(pk=c.pk).stats for c in campaigns]
    return rows, stats


def change(recipient, status, minute, code=""):
    at = T0 + timedelta(minutes=minute)
    message = f"Meta said {code}" if code else ""
    return RecipientStatusChange(recipient.pk, status, at, code, message)


def mixed_changes(a, b):
    """Out of order, duplicates, failures then deliveries, no-ops and unknown ids, the two
    campaigns interleaved."""
    return [
        change(a[0], "read", 1),  # read before delivered
        change(b[0], "delivered", 2),
        change(a[1], "failed", 3, "131026"),
        change(b[1], "sent", 4),  # already sent: no-op
        change(a[0], "delivered", 5),  # late: no change
        change(b[3], "delivered", 6),  # still pending: counts as sent and delivered
        change(a[2], "failed", 7, "131049"),
        change(a[1], "delivered", 8),  # failed then delivered: delivered
        change(b[1], "failed", 9, "131056"),
        change(a[0], "read", 10),  # duplicate
        change(b[2], "sent", 11),  # was sending
        change(a[2], "failed", 12, "131049"),  # duplicate failure
        change(b[0], "read", 13),
        change(a[3], "held_for_quality_assessment", 14),
        change(a[3], "warning", 15),  # not a delivery status
        change(b[2], "delivered", 16),
        RecipientStatusChange(uuid.uuid4(), "read", T0),  # no such recipient
        change(b[0], "sent", 17),  # late
    ]


def test_a_batch_moves_recipients_and_stats_as_its_changes_one_by_one(template, group):
    # Given two running campaigns over the same four people
    make_contacts(4, group=group)
    first, a = running(template, group, "First")
    second, b = running(template, group, "Second")
    changes = mixed_changes(a, b)

    # When the changes are applied one by one (then undone), and then as one batch
    with transaction.atomic():
        moved_one_by_one = sum(
            services.campaign_recipient_status_apply(
                recipient_id=c.recipient_id,
                new_status=c.new_status,
                error_code=c.error_code,
                error_message=c.error_message,
                at=c.at,
            )
            for c in changes
        )
        one_by_one = snapshot(first, second)
        transaction.set_rollback(True)
    moved = services.campaign_recipient_statuses_apply(changes=changes)

    # Then recipients and counters are the same, and the counters match a recount
    assert snapshot(first, second) == one_by_one
    assert moved == moved_one_by_one == 11
    expected = [
        {"total": 4, "sent": 3, "delivered": 2, "read": 1, "failed": 1, "pending": 0},
        {"total": 4, "sent": 3, "delivered": 3, "read": 1, "failed": 1, "pending": 0},
    ]
    assert one_by_one[1] == expected
    for campaign in (first, second):
        live = Campaign.objects.get(pk=campaign.pk).stats
        assert services.campaign_refresh_metrics(campaign=campaign).stats == live
    failed = CampaignRecipient.objects.get(pk=b[1].pk)
    assert (failed.error_code, failed.error_message) == ("131056", "Meta said 131056")
    assert failed.failed_at == T0 + timedelta(minutes=9)


@pytest.fixture
def statements(monkeypatch):
    """Every statement sent to PostgreSQL, through Django's cursors or plain psycopg ones."""
    seen: list[str] = []
    execute = psycopg.Cursor.execute

    def spy(self, query, *args, **kwargs):
        seen.append(str(query).split(None, 1)[0].upper())
        return execute(self, query, *args, **kwargs)

    monkeypatch.setattr(psycopg.Cursor, "execute", spy)
    return seen


def test_a_batch_costs_the_same_queries_whatever_its_size(template, group, statements):
    # Given two running campaigns of 30 recipients each
    make_contacts(30, group=group)
    _, a = running(template, group, "First")
    _, b = running(template, group, "Second")

    def apply(rows):
        steps = enumerate(("sent", "delivered", "read"))
        changes = [change(row, status, n) for n, status in steps for row in rows]
        statements.clear()
        assert services.campaign_recipient_statuses_apply(changes=changes) > 0
        return [s for s in statements if s not in ("SAVEPOINT", "RELEASE")]

    # When a batch moves 2 recipients, and another 56
    small = apply([a[0], b[0]])
    large = apply(a[1:29] + b[1:29])

    # Then both lock the recipients, update them, and update each campaign once
    assert small == large == ["SELECT", "UPDATE", "UPDATE", "UPDATE"]
