"""Meta's messaging limit: the account's tier, the people reached in the rolling 24 h (one
rule, `messaging_limit_usage`), the builder's warning, and dispatch holding recipients beyond
the limit (visibly) and continuing when the window allows."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.campaigns import dispatch, services
from apps.campaigns.models import CampaignRecipient, CampaignStatus
from apps.messaging.models import Message
from apps.messaging.selectors import messaging_limit_usage
from tests.campaigns.conftest import MAPPING, make_contacts
from tests.campaigns.test_views import form
from tests.factories import OutboundMessageFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def account(cloud_account):
    # Throughput is not what these tests are about: let sends go as fast as they can.
    cloud_account.throughput_per_second = 100_000
    cloud_account.save()
    return cloud_account


def set_limit(account, limit):
    account.messaging_limit = limit
    account.save(update_fields=["messaging_limit"])


def age(messages, hours: float) -> None:
    """Move messages back in time (created_at is set on insert)."""
    Message.objects.filter(pk__in=[m.pk for m in messages]).update(
        created_at=timezone.now() - timedelta(hours=hours)
    )


# --- the rule ---------------------------------------------------------------------------------
def test_usage_counts_distinct_people_reached_by_templates_in_the_last_24_hours(account):
    # Given two templates to one number, one to another, and one that WhatsApp refused
    OutboundMessageFactory.create_batch(2, phone="+15550000001")
    OutboundMessageFactory(phone="+15550000002")
    OutboundMessageFactory(phone="+15550000003", status="failed", wamid=None)
    # and a template sent 25 hours ago, and an inbound message
    age([OutboundMessageFactory(phone="+15550000004")], hours=25)
    OutboundMessageFactory(phone="+15550000005", direction="inbound", kind="text")
    set_limit(account, 250)

    # When the usage is read
    usage = messaging_limit_usage()

    # Then two people count: the refusal never started a conversation, the old one expired
    assert (usage.limit, usage.used, usage.remaining) == (250, 2, 248)
    assert usage.frees_at is None


def test_usage_counts_in_flight_sends_but_not_test_key_sandbox_sends(account):
    OutboundMessageFactory(phone="+15550000001", status="pending", wamid=None)
    OutboundMessageFactory(phone="+15550000002", provider="sandbox")

    assert messaging_limit_usage().used == 1


def test_an_unlimited_account_always_has_room(account):
    OutboundMessageFactory.create_batch(3)

    usage = messaging_limit_usage()

    assert usage.unlimited and usage.remaining is None and usage.allows(10**9)


def test_when_the_limit_is_reached_it_says_when_the_window_lets_someone_in(account):
    # Given a limit of 250 fully used, the earliest person reached 20 hours ago
    set_limit(account, 250)
    earliest = OutboundMessageFactory(phone="+15550000001")
    age([earliest], hours=20)
    OutboundMessageFactory.create_batch(249)

    usage = messaging_limit_usage()

    # Then there is no room until the earliest conversation leaves the window, in 4 hours
    assert usage.remaining == 0 and not usage.allows(1)
    earliest.refresh_from_db()
    assert usage.frees_at == earliest.created_at + timedelta(hours=24)
    assert timedelta(hours=3, minutes=59) < usage.frees_at - timezone.now() <= timedelta(hours=4)


def test_a_lowered_tier_waits_until_enough_people_left_the_window(account):
    # Given 3 people reached (10, 5 and 1 hours ago) and the tier set below that
    for hours in (10, 5, 1):
        age([OutboundMessageFactory()], hours=hours)
    set_limit(account, 2)

    usage = messaging_limit_usage()

    # Then one more fits only once two have left: 19 hours from now
    assert usage.remaining == 0
    assert timedelta(hours=18, minutes=59) < usage.frees_at - timezone.now() <= timedelta(hours=19)


# --- the builder ------------------------------------------------------------------------------
def test_the_builder_warns_when_the_audience_exceeds_what_is_left(
    alice_client, account, template, group
):
    # Given 248 of 250 people already reached today and an audience of 5
    set_limit(account, 250)
    OutboundMessageFactory.create_batch(248)
    make_contacts(5, group=group)

    # When the live panel is computed
    response = alice_client.post(
        "/acme/campaigns/new/", form(template, group), HTTP_HX_REQUEST="true"
    )

    # Then it warns that 3 will be held
    body = response.content.decode()
    assert 'id="messaging-limit-warning"' in body
    assert "only 2 of the messaging limit (250 people per 24 h) is left" in body
    assert "3 will be held" in body


def test_the_builder_does_not_warn_when_the_audience_fits(alice_client, account, template, group):
    set_limit(account, 250)
    make_contacts(5, group=group)

    response = alice_client.post(
        "/acme/campaigns/new/", form(template, group), HTTP_HX_REQUEST="true"
    )

    assert b"messaging-limit-warning" not in response.content


# --- dispatch ---------------------------------------------------------------------------------
def start(template, group, n, batch_size=10):
    make_contacts(n, group=group)
    campaign = services.campaign_create(
        name="Launch",
        template=template,
        variable_mapping=MAPPING,
        groups=[group.id],
        batch_size=batch_size,
    )
    return services.campaign_send_now(campaign=campaign)


def test_dispatch_holds_recipients_beyond_the_limit_and_continues_when_the_window_allows(
    account, template, group, fake_graph
):
    # Given a limit of 250 with 243 people reached, the earliest 23 hours ago
    set_limit(account, 250)
    old = OutboundMessageFactory.create_batch(5)
    age(old, hours=23)
    OutboundMessageFactory.create_batch(238)
    # and a campaign to 12 people
    campaign = start(template, group, 12, batch_size=5)

    # When it dispatches
    result = dispatch.campaign_dispatch(campaign_id=campaign.pk)

    # Then 7 are sent and 5 are held (pending, not failed), visibly, with a time to look again
    campaign.refresh_from_db()
    assert result.sent == 7 and result.failed == 0 and not result.finished
    assert result.reason == "messaging_limit" and 0 < result.retry_in <= dispatch.WAIT_RECHECK
    assert campaign.status == CampaignStatus.RUNNING
    assert campaign.stats["pending"] == 5 and campaign.stats["failed"] == 0
    assert campaign.waiting_reason.startswith("Held by messaging limit until ")
    assert "250 of 250 people" in campaign.waiting_reason
    assert len(fake_graph.sent) == 7

    # When the window moves on (the five earliest conversations are over 24 h old)
    age(old, hours=25)
    result = dispatch.campaign_dispatch(campaign_id=campaign.pk)

    # Then the held recipients go, each once, and the campaign completes
    campaign.refresh_from_db()
    assert result.sent == 5 and result.finished
    assert campaign.status == CampaignStatus.COMPLETED and campaign.waiting_reason == ""
    assert campaign.stats["sent"] == 12 and campaign.stats["failed"] == 0
    assert max(Counter(body["to"] for body in fake_graph.sent).values()) == 1
    assert len(fake_graph.sent) == 12


def test_the_campaign_page_shows_the_hold(alice_client, account, template, group, fake_graph):
    set_limit(account, 250)
    OutboundMessageFactory.create_batch(250)
    campaign = start(template, group, 3)

    dispatch.campaign_dispatch(campaign_id=campaign.pk)

    page = alice_client.get(f"/acme/campaigns/{campaign.id}/").content.decode()
    assert "Held by messaging limit until" in page
    assert fake_graph.sent == type(fake_graph.sent)(maxlen=fake_graph.sent.maxlen)


def test_claims_never_take_more_than_the_room_left_even_for_two_workers(
    account, template, group, fake_graph
):
    # Given room for 4 more people
    set_limit(account, 250)
    OutboundMessageFactory.create_batch(246)
    campaign = start(template, group, 10)

    # When two workers claim one after the other (each claim records its Messages before
    # committing, so the second sees the first's)
    first = dispatch.batch_claim(campaign=campaign, limit=10, account=account)
    second = dispatch.batch_claim(campaign=campaign, limit=10, account=account)

    # Then together they took exactly the room left; the rest stay pending
    assert (len(first), len(second)) == (4, 0)
    assert CampaignRecipient.objects.filter(campaign=campaign, status="pending").count() == 6


def test_an_unlimited_account_is_never_held(account, template, group, fake_graph):
    OutboundMessageFactory.create_batch(300)
    campaign = start(template, group, 6)

    result = dispatch.campaign_dispatch(campaign_id=campaign.pk)

    assert result.finished and result.sent == 6
