"""Settings → Webhooks pages."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone
from django_tenants.utils import schema_context

from apps.webhooks.models import Delivery, Endpoint
from apps.webhooks.services import emit_event


def url(name, **kwargs):
    return reverse(f"webhooks:{name}", kwargs={"tenant": "acme", **kwargs})


def endpoints(acme):
    with schema_context(acme.schema_name):
        return list(Endpoint.objects.all())


def test_an_admin_adds_an_endpoint_with_chosen_events_and_sees_its_secret(
    acme, alice_client, receiver
):
    response = alice_client.post(
        url("create"),
        {
            "url": receiver.url("/hook"),
            "description": "CRM",
            "event_types": ["contact.created", "message.read"],
        },
    )
    [endpoint] = endpoints(acme)
    assert response.status_code == 302
    assert response["Location"] == url("detail", endpoint_id=endpoint.id) + "?reveal=1"
    assert endpoint.event_types == ["contact.created", "message.read"]
    page = alice_client.get(response["Location"])
    assert endpoint.secret in page.content.decode()


def test_the_form_groups_the_event_picker_by_resource(alice_client):
    page = alice_client.get(url("create")).content.decode()
    for group in ["Contacts", "Campaigns", "Messages", "Templates"]:
        assert f"<legend>{group}</legend>" in page
    assert 'value="webhook.test"' not in page


def test_an_internal_url_is_refused_with_the_reason(acme, alice_client):
    response = alice_client.post(
        url("create"), {"url": "http://169.254.169.254/", "all_events": "on"}
    )
    assert response.status_code == 422
    assert "link-local" in response.content.decode()
    assert endpoints(acme) == []


def test_choosing_no_events_is_refused(acme, alice_client, receiver):
    response = alice_client.post(url("create"), {"url": receiver.url("/hook")})
    assert response.status_code == 422
    assert endpoints(acme) == []


def test_the_list_shows_health_and_why_an_endpoint_is_disabled(
    acme, alice_client, make_endpoint, receiver, drain
):
    make_endpoint(receiver.url("/ok"))
    make_endpoint(receiver.url("/gone"), enabled=False, disabled_reason="The receiver answered 410")
    with schema_context(acme.schema_name):
        emit_event(event_type="contact.created", data={"id": "c1"})
    drain()
    page = alice_client.get(url("list")).content.decode()
    assert "100 %" in page
    assert "The receiver answered 410" in page


def test_edit_changes_the_subscription(acme, alice_client, make_endpoint, receiver):
    endpoint = make_endpoint(receiver.url("/hook"))
    response = alice_client.post(
        url("edit", endpoint_id=endpoint.id),
        {"url": receiver.url("/hook2"), "event_types": ["template.approved"]},
    )
    assert response.status_code == 302
    [endpoint] = endpoints(acme)
    assert endpoint.url.endswith("/hook2") and endpoint.event_types == ["template.approved"]


def test_the_secret_is_masked_until_revealed(acme, alice_client, make_endpoint, receiver):
    endpoint = make_endpoint(receiver.url("/hook"))
    assert (
        endpoint.secret
        not in alice_client.get(url("detail", endpoint_id=endpoint.id)).content.decode()
    )
    revealed = alice_client.get(url("secret", endpoint_id=endpoint.id), HTTP_HX_REQUEST="true")
    assert endpoint.secret in revealed.content.decode()
    assert revealed["Cache-Control"] == "no-store"


def test_rotate_test_disable_enable_and_delete(acme, alice_client, make_endpoint, receiver):
    endpoint = make_endpoint(receiver.url("/hook"))
    old_secret = endpoint.secret
    alice_client.post(url("rotate", endpoint_id=endpoint.id))
    [fresh] = endpoints(acme)
    assert fresh.secret != old_secret and fresh.previous_secret == old_secret

    alice_client.post(url("test", endpoint_id=endpoint.id))
    with schema_context(acme.schema_name):
        assert Delivery.objects.get(endpoint=endpoint).event.type == "webhook.test"

    alice_client.post(url("disable", endpoint_id=endpoint.id))
    [fresh] = endpoints(acme)
    assert not fresh.enabled and "alice@acme.test" in fresh.disabled_reason
    alice_client.post(url("enable", endpoint_id=endpoint.id))
    assert endpoints(acme)[0].enabled

    response = alice_client.post(url("delete", endpoint_id=endpoint.id))
    assert response.status_code == 302 and endpoints(acme) == []


def test_deliveries_show_each_attempt_and_can_be_retried(
    acme, alice_client, make_endpoint, receiver, drain, clock
):
    endpoint = make_endpoint(receiver.url("/status/500"))
    with schema_context(acme.schema_name):
        emit_event(event_type="message.failed", data={"id": "m1"})
    drain()
    with schema_context(acme.schema_name):
        delivery = Delivery.objects.get(endpoint=endpoint)

    detail = alice_client.get(url("detail", endpoint_id=endpoint.id)).content.decode()
    assert "message.failed" in detail
    filtered = alice_client.get(
        url("detail", endpoint_id=endpoint.id), {"status": "succeeded"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "No delivery matches" in filtered and "<h1>" not in filtered

    page = alice_client.get(url("delivery", endpoint_id=endpoint.id, delivery_id=delivery.id))
    body = page.content.decode()
    assert (
        "HTTP 500" in body and "webhook-signature" in body and "&quot;message.failed&quot;" in body
    )

    alice_client.post(url("delivery-retry", endpoint_id=endpoint.id, delivery_id=delivery.id))
    with schema_context(acme.schema_name):
        delivery.refresh_from_db()
    assert delivery.status == "pending" and delivery.next_attempt_at <= timezone.now()


PAGES = ["list", "create"]
ENDPOINT_PAGES = ["detail", "edit", "secret"]
ACTIONS = ["rotate", "test", "enable", "disable", "delete"]


@pytest.mark.parametrize("name", PAGES + ENDPOINT_PAGES)
def test_a_viewer_cannot_see_webhook_settings(name, bob_client, make_endpoint, receiver):
    endpoint = make_endpoint(receiver.url("/hook"))
    kwargs = {"endpoint_id": endpoint.id} if name in ENDPOINT_PAGES else {}
    assert bob_client.get(url(name, **kwargs)).status_code == 403


@pytest.mark.parametrize("name", ACTIONS)
def test_a_viewer_cannot_change_an_endpoint(name, acme, bob_client, make_endpoint, receiver):
    endpoint = make_endpoint(receiver.url("/hook"))
    assert bob_client.post(url(name, endpoint_id=endpoint.id)).status_code == 403
    assert (
        bob_client.post(url("create"), {"url": receiver.url("/x"), "all_events": "on"}).status_code
        == 403
    )
    [unchanged] = endpoints(acme)
    assert unchanged.secret == endpoint.secret and unchanged.enabled


@pytest.mark.parametrize("name", PAGES + ENDPOINT_PAGES + ACTIONS)
def test_an_outsider_gets_a_404(name, acme, charlie_client, make_endpoint, receiver):
    endpoint = make_endpoint(receiver.url("/hook"))
    kwargs = {"endpoint_id": endpoint.id} if name not in PAGES else {}
    method = charlie_client.post if name in ACTIONS else charlie_client.get
    assert method(url(name, **kwargs)).status_code == 404
    assert len(endpoints(acme)) == 1


def test_an_unknown_endpoint_is_a_404(alice_client):
    missing = "00000000-0000-0000-0000-000000000000"
    assert alice_client.get(url("detail", endpoint_id=missing)).status_code == 404


@pytest.fixture
def a_delivery(acme, make_endpoint, receiver):
    endpoint = make_endpoint(receiver.url("/hook"))
    with schema_context(acme.schema_name):
        emit_event(event_type="contact.created", data={"id": "c1"})
        from apps.webhooks.services.deliveries import events_fan_out

        events_fan_out()
        return Delivery.objects.get(endpoint=endpoint)


def test_a_viewer_cannot_see_or_retry_a_delivery(bob_client, a_delivery):
    kwargs = {"endpoint_id": a_delivery.endpoint_id, "delivery_id": a_delivery.id}
    assert bob_client.get(url("delivery", **kwargs)).status_code == 403
    assert bob_client.post(url("delivery-retry", **kwargs)).status_code == 403


def test_an_outsider_cannot_see_or_retry_a_delivery(charlie_client, a_delivery):
    kwargs = {"endpoint_id": a_delivery.endpoint_id, "delivery_id": a_delivery.id}
    assert charlie_client.get(url("delivery", **kwargs)).status_code == 404
    assert charlie_client.post(url("delivery-retry", **kwargs)).status_code == 404
