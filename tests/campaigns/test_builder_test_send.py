"""The builder's review step: a test send to one number (dashboard only) through messaging's
one send service, filled for a sample contact, that never becomes a campaign recipient."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from apps.campaigns import services
from apps.campaigns.models import Campaign, CampaignRecipient
from apps.core.errors import ApplicationError
from apps.messaging.models import Message
from tests.campaigns.conftest import make_contacts
from tests.campaigns.test_views import form

pytestmark = pytest.mark.django_db

URL = "/acme/campaigns/new/"


def test_send(client, data, **headers):
    return client.post(URL, {**data, "action": "test"}, **headers)


test_send.__test__ = False  # a helper, not a test


def test_a_test_send_goes_through_the_send_service_filled_for_the_sample_contact(
    alice_client, cloud_account, template, group, fake_graph
):
    # Given an audience and a mapping, with the second contact chosen for the preview
    contacts = make_contacts(3, group=group)
    data = {**form(template, group), "test_phone": "+91 98123 40001"}
    data["sample_contact"] = str(contacts[1].id)

    # When the marketer sends a test (htmx swaps the result in)
    response = test_send(alice_client, data, HTTP_HX_REQUEST="true")

    # Then WhatsApp got the template once, filled for Person1, and the page says so inline
    assert response.status_code == 200
    assert "Test message sent to +919812340001." in response.content.decode()
    assert len(fake_graph.sent) == 1
    sent = fake_graph.sent[0]
    assert sent["to"].lstrip("+") == "919812340001"
    assert sent["template"]["name"] == "order_confirmation"
    texts = [p["text"] for p in sent["template"]["components"][0]["parameters"]]
    assert texts == ["Person1", "A-1"]
    # and it is a Message like any other send, tied to no campaign
    with schema_context("acme"):
        message = Message.objects.get(phone="+919812340001")
        assert message.origin == "campaign_test" and message.campaign_id is None
        assert message.body == "Hi Person1, your order A-1 has shipped."
        assert message.wamid
        assert not Campaign.objects.exists()


def test_a_test_send_is_never_a_campaign_recipient(
    alice_client, cloud_account, template, group, fake_graph
):
    # Given a test send to a number that is also in the audience
    contact = make_contacts(3, group=group)[0]
    contact.phone = "+919812340001"
    contact.save()
    answer = test_send(alice_client, {**form(template, group), "test_phone": "+919812340001"})
    assert "Test message sent to +919812340001." in answer.content.decode()

    # When the campaign is then saved and sent
    alice_client.post(URL, {**form(template, group), "action": "send"})

    # Then its recipients are exactly the audience, the test number counted once like the
    # others, and no recipient row was made by the test
    with schema_context("acme"):
        campaign = Campaign.objects.get(name="Built in the page")
        assert campaign.total_recipients == 3
        assert CampaignRecipient.objects.filter(campaign=campaign).count() == 3
        assert CampaignRecipient.objects.filter(phone="+919812340001").count() == 1
        assert campaign.stats["sent"] == 0
        assert Message.objects.filter(origin="campaign_test").count() == 1


@pytest.mark.parametrize("number", ["", "12", "+1 (555) abc", "+99 123"])
def test_a_bad_number_is_refused_inline_and_nothing_typed_is_lost(
    alice_client, cloud_account, template, group, fake_graph, number
):
    make_contacts(2, group=group)
    data = {**form(template, group), "test_phone": number, "description": "For May"}

    # When the test is asked for without htmx (a plain form post)
    response = test_send(alice_client, data)

    # Then the page comes back with the error beside the number and everything as typed
    assert response.status_code == 200
    body = response.content.decode()
    assert "Enter the WhatsApp number with its country code" in body
    assert 'value="Built in the page"' in body and "For May</textarea>" in body
    assert f'name="test_phone" value="{number}"' in body
    assert 'value="custom_fields.order_id"' in body
    assert len(fake_graph.sent) == 0
    with schema_context("acme"):
        assert not Message.objects.exists() and not Campaign.objects.exists()


def test_without_a_whatsapp_account_the_test_send_says_so(alice_client, template, group):
    make_contacts(1, group=group)

    response = test_send(
        alice_client,
        {**form(template, group), "test_phone": "+919812340001"},
        HTTP_HX_REQUEST="true",
    )

    assert "No active WABA account" in response.content.decode()


def test_a_variable_left_empty_by_the_sample_contact_is_refused(
    alice_client, cloud_account, template, group, fake_graph
):
    # Given a sample contact without the order id the mapping needs (and no fallback)
    contact = make_contacts(1, group=group)[0]
    contact.custom_fields = {}
    contact.save()

    response = test_send(
        alice_client,
        {**form(template, group), "test_phone": "+919812340001"},
        HTTP_HX_REQUEST="true",
    )

    assert "The sample contact leaves a variable empty" in response.content.decode()
    assert len(fake_graph.sent) == 0


def test_the_service_refuses_an_invalid_mapping(cloud_account, template, fake_graph):
    with pytest.raises(ApplicationError) as refused:
        services.campaign_test_send(
            template=template,
            variable_mapping={"body": {"1": {"field": "shoe_size"}}},
            to="+919812340001",
        )
    assert refused.value.status == 422
    assert len(fake_graph.sent) == 0


def test_a_viewer_cannot_send_a_test(bob_client, cloud_account, template, group, fake_graph):
    make_contacts(1, group=group)

    response = test_send(bob_client, {**form(template, group), "test_phone": "+919812340001"})

    assert response.status_code == 403
    assert len(fake_graph.sent) == 0
