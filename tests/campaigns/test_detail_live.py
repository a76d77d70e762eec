"""The campaign page refreshes itself: its status and buttons follow the campaign (the beat
starts it, the dispatcher completes it), and a finished campaign is followed a little longer,
while the last deliveries, reads and failures come in."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from apps.campaigns import services
from apps.campaigns.models import Campaign, CampaignStatus
from tests.campaigns.conftest import MAPPING, make_contacts

pytestmark = pytest.mark.django_db

POLL = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "campaign-live"}


@pytest.fixture
def running(template, group):
    make_contacts(3, group=group)
    campaign = services.campaign_create(
        name="May", template=template, variable_mapping=MAPPING, groups=[group.id]
    )
    return services.campaign_send_now(campaign=campaign)


def test_a_poll_swaps_in_the_header_when_the_status_moved_on(alice_client, running):
    # Given a page that still shows the campaign as scheduled, when it polls
    response = alice_client.get(f"/acme/campaigns/{running.id}/?shown=SCHEDULED", **POLL)

    # Then the header, with the status and the buttons that fit it, comes along out of band.
    body = response.content.decode()
    assert response.status_code == 200
    assert 'id="campaign-header" hx-swap-oob="true"' in body
    assert ">Running</span>" in body and ">Pause</button>" in body
    assert ">Send now</button>" not in body


def test_a_poll_leaves_the_header_alone_while_the_status_holds(alice_client, running):
    response = alice_client.get(f"/acme/campaigns/{running.id}/?shown=RUNNING", **POLL)

    body = response.content.decode()
    assert 'id="campaign-header"' not in body
    # And the next poll carries the status now shown.
    assert 'hx-get="?shown=RUNNING"' in body


def test_a_finished_campaign_is_followed_for_a_while_then_no_more(alice_client, running):
    # Given a campaign that completed a moment ago, its page keeps polling
    with schema_context("acme"):
        Campaign.objects.filter(pk=running.pk).update(
            status=CampaignStatus.COMPLETED, completed_at=timezone.now()
        )
    body = alice_client.get(f"/acme/campaigns/{running.id}/").content.decode()
    assert 'hx-trigger="every 3s"' in body

    # When it completed ten minutes ago, the page no longer polls.
    with schema_context("acme"):
        Campaign.objects.filter(pk=running.pk).update(
            completed_at=timezone.now() - timedelta(minutes=10)
        )
    body = alice_client.get(f"/acme/campaigns/{running.id}/").content.decode()
    assert 'hx-trigger="every 3s"' not in body
