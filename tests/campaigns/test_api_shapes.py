"""The campaign object rendered by hand (`CampaignSerializer.to_representation`) and read in
one statement (`campaign_get_with_audience_rows`) is the one the declared fields, the ORM
and `campaign_audience_rows` give, whatever the campaign's state."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework import serializers

from apps.campaigns import selectors, services
from apps.campaigns.api.serializers import (
    AudienceRowSerializer,
    CampaignDetailSerializer,
    CampaignSerializer,
)
from apps.campaigns.models import Campaign, CampaignAudience, CampaignStatus
from apps.core.errors import NotFound
from tests.campaigns.conftest import MAPPING, make_contacts

pytestmark = pytest.mark.django_db
BASE = "/api/v1/public/campaigns"


def declared(campaign: Campaign) -> dict:
    """What DRF renders from the declared fields, with the audiences as they were rendered
    before (their serializer over `campaign_audience_rows`)."""
    data = serializers.ModelSerializer.to_representation(CampaignSerializer(campaign), campaign)
    rows = selectors.campaign_audience_rows(campaign=campaign)
    data["audiences"] = AudienceRowSerializer(rows, many=True).data
    return json.loads(json.dumps(data))


@pytest.fixture
def campaigns(template, group, source):
    make_contacts(2, group=group)
    draft = services.campaign_create(name="Bare", template=template, variable_mapping=MAPPING)
    full = services.campaign_create(
        name="Full",
        description="All fields set",
        template=template,
        variable_mapping=MAPPING,
        groups=[group.id],
        sources=[source.id],
        scheduled_at=timezone.now() + timedelta(days=1),
        batch_size=7,
    )
    # A picked contact is not an audience row of the API.
    CampaignAudience.objects.create(
        campaign=full, kind="contact", contact=make_contacts(1, start=50)[0]
    )
    Campaign.objects.filter(pk=full.pk).update(
        status=CampaignStatus.COMPLETED,
        started_at=timezone.now(),
        completed_at=timezone.now() + timedelta(microseconds=1),
        total_recipients=10,
        sent_count=8,
        delivered_count=6,
        read_count=3,
        failed_count=1,
        variable_mapping=None,
    )
    return [draft, Campaign.objects.select_related("template").get(pk=full.pk)]


def test_the_hand_rendering_is_the_declared_fields_rendering(campaigns):
    for campaign in campaigns:
        rendered = json.loads(json.dumps(CampaignDetailSerializer(campaign).data))
        assert rendered == declared(campaign)
        assert list(rendered) == list(declared(campaign))  # the same order of keys


def test_one_statement_reads_what_campaign_get_and_the_audience_rows_read(campaigns):
    for expected in campaigns:
        campaign, rows = selectors.campaign_get_with_audience_rows(campaign_id=str(expected.pk))
        reference = selectors.campaign_get(campaign_id=expected.pk)
        for field in Campaign._meta.concrete_fields:
            assert getattr(campaign, field.attname) == getattr(reference, field.attname)
        for field in type(reference.template)._meta.concrete_fields:
            assert getattr(campaign.template, field.attname) == getattr(
                reference.template, field.attname
            )
        assert rows == selectors.campaign_audience_rows(campaign=reference)
    assert [row["type"] for row in rows] == ["group", "source"]


def test_an_unknown_or_malformed_id_is_not_found(tenant):
    for campaign_id in (uuid.uuid4(), "not-a-uuid"):
        with pytest.raises(NotFound):
            selectors.campaign_get_with_audience_rows(campaign_id=campaign_id)


def test_get_answers_the_declared_rendering_in_one_statement(
    api_client, acme, campaigns, django_assert_max_num_queries
):
    client = api_client(acme, scopes=["campaigns:read"])
    full = campaigns[1]
    client.get(f"{BASE}/{full.pk}")  # the key is then known to this process
    with django_assert_max_num_queries(1):
        response = client.get(f"{BASE}/{full.pk}")
    assert response.status_code == 200
    connection.set_tenant(acme)
    assert response.json() == declared(full)
