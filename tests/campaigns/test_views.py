"""Campaign pages: list, builder with live count and preview, campaign page, lifecycle
buttons, drill-down; the outsider is refused and the viewer cannot write."""

from __future__ import annotations

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from apps.campaigns import services
from apps.campaigns.models import Campaign, CampaignRecipient, CampaignStatus
from tests.campaigns.conftest import MAPPING, make_contacts

pytestmark = pytest.mark.django_db


def get(**lookup):
    """A campaign read back after a request (requests leave the connection in public)."""
    with schema_context("acme"):
        return Campaign.objects.get(**lookup)


@pytest.fixture
def campaign(template, group):
    make_contacts(3, group=group)
    return services.campaign_create(
        name="May", template=template, variable_mapping=MAPPING, groups=[group.id]
    )


def form(template, group, **extra):
    return {
        "name": "Built in the page",
        "template": str(template.id),
        "groups": [str(group.id)],
        "map-body.1-source": "field",
        "map-body.1-field": "first_name",
        "map-body.1-fallback": "there",
        "map-body.2-source": "field",
        "map-body.2-value": "custom_fields.order_id",
        "batch_size": "50",
        **extra,
    }


def test_the_list_shows_campaigns_with_progress(alice_client, campaign):
    response = alice_client.get("/acme/campaigns/")
    assert response.status_code == 200
    assert b"May" in response.content and b"progress" in response.content


def test_the_builder_counts_and_previews_live(alice_client, template, group, campaign):
    response = alice_client.post(
        "/acme/campaigns/new/", form(template, group), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "3 recipients" in body
    assert "Hi Person0, your order A-0 has shipped." in body


def test_the_builder_saves_a_draft_and_sends(alice_client, template, group, campaign):
    response = alice_client.post("/acme/campaigns/new/", form(template, group, action="send"))
    assert response.status_code == 302
    created = get(name="Built in the page")
    assert created.status == CampaignStatus.RUNNING
    assert created.variable_mapping["body"]["2"] == {"field": "custom_fields.order_id"}
    assert created.total_recipients == 3


def test_the_builder_shows_mapping_problems(alice_client, template, group):
    data = form(template, group)
    data["map-body.1-field"] = "shoe_size"
    response = alice_client.post("/acme/campaigns/new/", data)
    assert response.status_code == 200
    assert b"variable_mapping.body.1.field" in response.content
    with schema_context("acme"):
        assert not Campaign.objects.filter(name="Built in the page").exists()


def test_the_campaign_page_shows_stats_funnel_and_errors(alice_client, campaign):
    services.campaign_send_now(campaign=campaign)
    CampaignRecipient.objects.filter(campaign=campaign).update(
        status="failed",
        error_code="131026",
        error_message="not on WhatsApp",
        failed_at=timezone.now(),
    )
    services.campaign_refresh_metrics(campaign=campaign)
    response = alice_client.get(f"/acme/campaigns/{campaign.id}/")
    body = response.content.decode()
    assert response.status_code == 200
    assert "Message undeliverable" in body and "<svg" in body
    assert "campaign.started" in body  # the timeline
    assert "polyline" in body  # the send-rate chart
    drill = alice_client.get(f"/acme/campaigns/{campaign.id}/errors/131026/")
    assert drill.status_code == 200 and b"not on WhatsApp" in drill.content


def test_pause_resume_stop_buttons(alice_client, campaign):
    services.campaign_send_now(campaign=campaign)
    for action, status in [("pause", "PAUSED"), ("resume", "RUNNING"), ("stop", "STOPPED")]:
        response = alice_client.post(f"/acme/campaigns/{campaign.id}/{action}/")
        assert response.status_code == 302
        assert get(pk=campaign.pk).status == status


def test_duplicate_makes_a_draft(alice_client, campaign):
    response = alice_client.post(f"/acme/campaigns/{campaign.id}/duplicate/")
    assert response.status_code == 302
    assert get(name="May (copy)").status == CampaignStatus.DRAFT


def test_viewer_cannot_write(bob_client, campaign, template, group):
    assert bob_client.get(f"/acme/campaigns/{campaign.id}/").status_code == 200
    assert bob_client.post(f"/acme/campaigns/{campaign.id}/stop/").status_code == 403
    assert bob_client.post("/acme/campaigns/new/", form(template, group)).status_code == 403
    assert get(pk=campaign.pk).status == CampaignStatus.DRAFT


def test_it_rejects_the_outsider(charlie_client, campaign):
    assert charlie_client.get("/acme/campaigns/").status_code in (403, 404)
    assert charlie_client.get(f"/acme/campaigns/{campaign.id}/").status_code in (403, 404)
    assert charlie_client.post(f"/acme/campaigns/{campaign.id}/stop/").status_code in (403, 404)


def test_follow_up_button_creates_a_draft(alice_client, campaign):
    services.campaign_send_now(campaign=campaign)
    CampaignRecipient.objects.filter(campaign=campaign).update(status="delivered")
    services.campaign_stop(campaign=Campaign.objects.get(pk=campaign.pk))
    response = alice_client.post(
        f"/acme/campaigns/{campaign.id}/follow-up/", {"segment": "delivered_not_read"}
    )
    assert response.status_code == 302
    assert get(name="May (delivered not read)").status == CampaignStatus.DRAFT
    assert alice_client.get(f"/acme/campaigns/{campaign.id}/").status_code == 200


def test_a_rate_chart_of_one_minute_still_shows_that_minute():
    """A line needs two points: a campaign sent within one minute is drawn as a centred dot."""
    from apps.campaigns.views import _rate_chart

    one = _rate_chart([{"count": 20}])
    assert one["dots"] == [(200, 10)] and one["peak"] == 20
    three = _rate_chart([{"count": 0}, {"count": 30}, {"count": 15}])
    assert three["dots"] == [(0, 100), (200, 10), (400, 55)]
    assert three["points"] == "0,100 200,10 400,55"
    assert _rate_chart([]) == {}


def test_the_campaign_page_draws_a_dot_per_minute_of_sends(alice_client, campaign):
    services.campaign_send_now(campaign=campaign)
    CampaignRecipient.objects.filter(campaign=campaign).update(
        status="failed", error_code="131026", failed_at=timezone.now()
    )
    body = alice_client.get(f"/acme/campaigns/{campaign.id}/").content.decode()
    assert '<circle cx="200"' in body
