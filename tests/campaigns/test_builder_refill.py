"""The builder never loses what was typed: a save refused by validation comes back with every
field, the variable mapping included, as submitted, and the error beside its field."""

from __future__ import annotations

import re

import pytest
from django_tenants.utils import schema_context

from apps.campaigns.models import Campaign
from tests.campaigns.conftest import make_contacts
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db

URL = "/acme/campaigns/new/"


@pytest.fixture
def typed(template, group, source):
    """Everything a marketer can type into the builder."""
    make_contacts(2, group=group)
    with schema_context("acme"):
        picked = ContactFactory(first_name="Zoe", phone="+15559990001")
    return {
        "name": "May launch",
        "description": "For the May sale",
        "template": str(template.id),
        "groups": [str(group.id)],
        "sources": [str(source.id)],
        "contacts": [str(picked.id)],
        "map-body.1-source": "value",
        "map-body.1-field": "last_name",
        "map-body.1-value": "friend",
        "map-body.1-fallback": "",
        "map-body.2-source": "field",
        "map-body.2-field": "company",
        "map-body.2-value": "custom_fields.order_id",
        "map-body.2-fallback": "(no order)",
        "batch_size": "75",
        "scheduled_at": "2031-05-02T09:30",
        "send_window_start": "09:00",
        "send_window_end": "20:00",
        "test_phone": "+919812340001",
    }


def assert_refilled(body: str, typed: dict, template, group, source) -> None:
    assert f'value="{typed["name"]}"' in body
    assert "For the May sale</textarea>" in body
    assert re.search(rf'<option value="{template.id}" selected>', body)
    assert re.search(rf'name="groups" value="{group.id}" checked', body)
    assert re.search(rf'name="sources" value="{source.id}" checked', body)
    assert re.search(rf'name="contacts" value="{typed["contacts"][0]}" checked', body)
    # the mapping, row by row
    assert re.search(
        r'name="map-body.1-source"[^>]*>\s*<option value="field">Contact field</option>'
        r'<option value="value" selected>',
        body,
    )
    assert re.search(rf'name="map-body.1-value"[^>]*value="{typed["map-body.1-value"]}"', body)
    assert re.search(r'name="map-body.1-field".*?<option value="last_name" selected>', body, re.S)
    assert re.search(r'name="map-body.2-field".*?<option value="company" selected>', body, re.S)
    assert re.search(r'name="map-body.2-value"[^>]*value="custom_fields.order_id"', body)
    assert re.search(r'name="map-body.2-fallback"[^>]*value="\(no order\)"', body)
    # the review step
    assert 'value="75"' in body
    assert f'value="{typed["scheduled_at"]}"' in body
    assert 'value="09:00"' in body and 'value="20:00"' in body
    assert 'name="test_phone" value="+919812340001"' in body


def test_a_refused_name_keeps_every_field_and_shows_the_error_beside_the_name(
    alice_client, typed, template, group, source
):
    data = {**typed, "name": "   ", "action": "draft"}

    response = alice_client.post(URL, data)

    assert response.status_code == 200
    body = response.content.decode()
    assert re.search(r'<p class="row-error" id="name-error">Name must be 1 to 120', body)
    assert_refilled(
        body.replace('value="   "', 'value="May launch"'), typed, template, group, source
    )
    with schema_context("acme"):
        assert not Campaign.objects.exists()


def test_a_refused_mapping_keeps_every_field_and_shows_the_error_beside_the_placeholder(
    alice_client, typed, template, group, source
):
    # Given a fixed value left empty for {{1}}
    data = {**typed, "map-body.1-value": "", "action": "draft"}

    response = alice_client.post(URL, data)

    body = response.content.decode()
    row = re.search(
        r'<div class="mapping-row">\s*<strong>Body \{\{1\}\}</strong>.*?</div>', body, re.S
    )
    assert row and 'class="row-error"' in row.group(0)
    assert_refilled(body, data, template, group, source)
    with schema_context("acme"):
        assert not Campaign.objects.exists()


def test_a_refused_schedule_keeps_every_field(alice_client, typed, template, group, source):
    # Given a time in the past
    data = {**typed, "scheduled_at": "2001-01-01T09:00", "action": "schedule"}

    response = alice_client.post(URL, data)

    body = response.content.decode()
    assert "scheduled_at must be in the future" in body
    assert_refilled(body, data, template, group, source)


def test_a_refused_send_window_and_batch_size_are_shown_inline(alice_client, typed):
    response = alice_client.post(URL, {**typed, "send_window_end": "", "action": "draft"})
    assert "Give both ends of the send window" in response.content.decode()

    response = alice_client.post(URL, {**typed, "batch_size": "lots", "action": "draft"})
    body = response.content.decode()
    assert "Batch size is a whole number." in body and 'value="lots"' in body
    with schema_context("acme"):
        assert not Campaign.objects.exists()
