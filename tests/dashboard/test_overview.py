"""The overview page: running and upcoming campaigns, and the last 7 days' delivery and read
rates of campaign messages (an empty state when there are none)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from apps.campaigns.models import Campaign, CampaignStatus
from apps.campaigns.selectors import campaign_delivery_rates
from apps.message_templates.models import MessageTemplate
from apps.messaging.models import Message
from tests.factories import OutboundMessageFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def template(acme):
    connection.set_tenant(acme)
    return MessageTemplate.objects.create(
        name="welcome",
        language="en_US",
        category="MARKETING",
        status="APPROVED",
        components=[{"type": "BODY", "text": "Welcome!"}],
    )


def campaign(template, name, status, **fields):
    return Campaign.objects.create(name=name, template=template, status=status, **fields)


def test_the_empty_state_says_there_is_nothing_yet(alice_client, template):
    body = alice_client.get("/acme/").content.decode()

    assert "No campaign is running." in body
    assert "No campaign is scheduled." in body
    assert "No campaign messages in the last 7 days." in body
    assert "0 of 0 sent" in body


def test_it_lists_running_and_upcoming_campaigns_only(bob_client, template):
    # Given campaigns in every state
    campaign(template, "Spring running", CampaignStatus.RUNNING, total_recipients=10, sent_count=4)
    campaign(template, "Paused one", CampaignStatus.PAUSED)
    campaign(
        template,
        "Later",
        CampaignStatus.SCHEDULED,
        scheduled_at=timezone.now() + timedelta(days=2),
    )
    campaign(
        template,
        "Sooner",
        CampaignStatus.SCHEDULED,
        scheduled_at=timezone.now() + timedelta(hours=1),
    )
    campaign(template, "Just a draft", CampaignStatus.DRAFT)
    campaign(template, "All done", CampaignStatus.COMPLETED)

    # When a viewer opens the overview
    body = bob_client.get("/acme/").content.decode()

    # Then running (and paused) ones show with progress, upcoming ones soonest first
    running = body[body.index('id="running-campaigns"') :]
    running = running[: running.index("</ul>")]
    assert "Spring running" in running and "Paused one" in running and "4 of 10 sent" in running
    upcoming = body[body.index('id="upcoming-campaigns"') :]
    upcoming = upcoming[: upcoming.index("</ul>")]
    assert upcoming.index("Sooner") < upcoming.index("Later")
    assert "Just a draft" not in body and "All done" not in body


def test_rates_come_from_the_last_seven_days_of_campaign_messages(alice_client, template):
    # Given four campaign messages WhatsApp accepted this week: 3 delivered, 1 of them read
    sent = campaign(template, "May", CampaignStatus.COMPLETED)
    OutboundMessageFactory(campaign_id=sent.id, status="accepted")
    OutboundMessageFactory(campaign_id=sent.id, status="delivered", delivered_at=timezone.now())
    OutboundMessageFactory(campaign_id=sent.id, status="delivered", delivered_at=timezone.now())
    OutboundMessageFactory(
        campaign_id=sent.id, status="read", delivered_at=timezone.now(), read_at=timezone.now()
    )
    # and what does not count: one refused before acceptance, one 8 days old, one not a campaign's
    OutboundMessageFactory(campaign_id=sent.id, status="failed", wamid=None)
    old = OutboundMessageFactory(campaign_id=uuid.uuid4(), status="read")
    Message.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=8))
    OutboundMessageFactory(status="read")

    rates = campaign_delivery_rates()

    assert (rates.sent, rates.delivered, rates.read) == (4, 3, 1)
    assert (rates.delivery_rate, rates.read_rate) == (75, 33)
    body = alice_client.get("/acme/").content.decode()
    rates_html = body[body.index('id="delivery-rates"') :]
    assert "75%" in rates_html and "3 of 4 sent" in rates_html
    assert "33%" in rates_html and "1 of 3 delivered" in rates_html
    assert "No campaign messages in the last 7 days." not in body


def test_it_rejects_the_outsider(charlie_client, template):
    campaign(template, "Secret", CampaignStatus.RUNNING)

    response = charlie_client.get("/acme/")

    assert response.status_code in (403, 404)
    assert b"Secret" not in response.content
