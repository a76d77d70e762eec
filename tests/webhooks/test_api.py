"""The public webhooks and events API."""

from __future__ import annotations

from django_tenants.utils import schema_context

from apps.webhooks.models import Delivery, Endpoint
from apps.webhooks.services import emit_event
from apps.webhooks.services.deliveries import events_fan_out

BASE = "/api/v1/public"


def test_an_integrator_creates_an_endpoint_and_sees_its_secret_once(acme, api_client, receiver):
    client = api_client(acme, scopes=["webhooks:read", "webhooks:write"])
    response = client.post(
        f"{BASE}/webhooks",
        {"url": receiver.url("/hook"), "description": "CRM", "event_types": ["contact.created"]},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["secret"].startswith("whsec_")
    assert body["event_types"] == ["contact.created"] and body["enabled"] is True

    fetched = client.get(f"{BASE}/webhooks/{body['id']}").json()
    assert "secret" not in fetched and fetched["description"] == "CRM"
    listed = client.get(f"{BASE}/webhooks").json()
    assert [e["id"] for e in listed["data"]] == [body["id"]]
    assert listed["pagination"]["total_items"] == 1
    assert client.get(f"{BASE}/webhooks/{body['id']}/secret").json()["secret"] == body["secret"]


def test_an_internal_url_is_a_422_on_the_url_field(acme, api_client):
    client = api_client(acme, scopes=["webhooks:write"])
    response = client.post(
        f"{BASE}/webhooks", {"url": "http://169.254.169.254/latest"}, format="json"
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert error["details"][0]["field"] == "url"


def test_a_missing_url_is_a_400(acme, api_client):
    response = api_client(acme).post(f"{BASE}/webhooks", {}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"


def test_unknown_event_types_are_a_422(acme, api_client, receiver):
    response = api_client(acme).post(
        f"{BASE}/webhooks", {"url": receiver.url("/h"), "event_types": ["nope"]}, format="json"
    )
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "event_types"


def test_patch_changes_what_is_sent_and_can_disable_and_enable(
    acme, api_client, make_endpoint, receiver
):
    endpoint = make_endpoint(receiver.url("/hook"))
    client = api_client(acme)
    url = f"{BASE}/webhooks/{endpoint.id}"
    body = client.patch(url, {"event_types": ["message.read"]}, format="json").json()
    assert body["event_types"] == ["message.read"]
    body = client.patch(url, {"enabled": False}, format="json").json()
    assert body["enabled"] is False and body["disabled_reason"]
    body = client.patch(url, {"enabled": True}, format="json").json()
    assert body["enabled"] is True and body["disabled_reason"] == ""


def test_delete_removes_the_endpoint(acme, api_client, make_endpoint, receiver):
    endpoint = make_endpoint(receiver.url("/hook"))
    client = api_client(acme)
    assert client.delete(f"{BASE}/webhooks/{endpoint.id}").status_code == 204
    with schema_context(acme.schema_name):
        assert not Endpoint.objects.filter(pk=endpoint.pk).exists()
    assert client.get(f"{BASE}/webhooks/{endpoint.id}").status_code == 404


def test_rotating_returns_both_secrets(acme, api_client, make_endpoint, receiver):
    endpoint = make_endpoint(receiver.url("/hook"))
    body = api_client(acme).post(f"{BASE}/webhooks/{endpoint.id}/rotate-secret").json()
    assert body["previous_secret"] == endpoint.secret
    assert body["secret"] != endpoint.secret and body["previous_expires_at"]


def test_a_test_event_is_queued_for_that_endpoint(acme, api_client, make_endpoint, receiver):
    endpoint = make_endpoint(receiver.url("/hook"))
    response = api_client(acme).post(f"{BASE}/webhooks/{endpoint.id}/test")
    assert response.status_code == 202
    assert response.json()["event_type"] == "webhook.test"
    assert response.json()["status"] == "pending"


def test_testing_a_disabled_endpoint_is_a_409(acme, api_client, make_endpoint, receiver):
    endpoint = make_endpoint(receiver.url("/hook"), enabled=False)
    response = api_client(acme).post(f"{BASE}/webhooks/{endpoint.id}/test")
    assert response.status_code == 409


def test_deliveries_are_listed_filtered_shown_and_retried(
    acme, api_client, make_endpoint, receiver, drain
):
    endpoint = make_endpoint(receiver.url("/status/500"))
    with schema_context(acme.schema_name):
        emit_event(event_type="contact.created", data={"id": "c1"})
        emit_event(event_type="message.read", data={"id": "m1"})
    drain()
    client = api_client(acme)
    url = f"{BASE}/webhooks/{endpoint.id}/deliveries"
    assert client.get(url).json()["pagination"]["total_items"] == 2
    only_read = client.get(url, {"event_type": "message.read"}).json()["data"]
    assert [d["event_type"] for d in only_read] == ["message.read"]
    assert client.get(url, {"status": "succeeded"}).json()["data"] == []
    assert client.get(url, {"status": "bogus"}).status_code == 422

    delivery_id = only_read[0]["id"]
    detail = client.get(f"{url}/{delivery_id}").json()
    [attempt] = detail["attempts"]
    assert attempt["response_status"] == 500
    assert attempt["request_headers"]["webhook-id"] == detail["event_id"]
    assert '"type":"message.read"' in attempt["request_body"]

    retried = client.post(f"{url}/{delivery_id}/retry")
    assert retried.status_code == 202
    assert retried.json()["status"] == "pending"


def test_the_event_log_lists_events_of_the_last_30_days(acme, api_client):
    with schema_context(acme.schema_name):
        created = emit_event(event_type="contact.created", data={"id": "c1"})
        emit_event(event_type="campaign.started", data={"id": "k1"})
    client = api_client(acme, scopes=["webhooks:read"])
    body = client.get(f"{BASE}/events", {"type": "contact.created"}).json()
    assert [e["id"] for e in body["data"]] == [created.id]
    assert body["data"][0]["tenant"] == "acme"
    assert client.get(f"{BASE}/events").json()["pagination"]["total_items"] == 2
    one = client.get(f"{BASE}/events/{created.id}").json()
    assert one == {**body["data"][0]}
    assert client.get(f"{BASE}/events/evt_nope").status_code == 404


def test_a_read_key_cannot_write(acme, api_client, make_endpoint, receiver):
    endpoint = make_endpoint(receiver.url("/hook"))
    client = api_client(acme, scopes=["webhooks:read"])
    assert client.get(f"{BASE}/webhooks").status_code == 200
    for response in [
        client.post(f"{BASE}/webhooks", {"url": receiver.url("/x")}, format="json"),
        client.patch(f"{BASE}/webhooks/{endpoint.id}", {"description": "x"}, format="json"),
        client.delete(f"{BASE}/webhooks/{endpoint.id}"),
        client.post(f"{BASE}/webhooks/{endpoint.id}/rotate-secret"),
        client.post(f"{BASE}/webhooks/{endpoint.id}/test"),
        client.get(f"{BASE}/webhooks/{endpoint.id}/secret"),
    ]:
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "insufficient_scope"


def test_a_key_without_webhook_scopes_reads_nothing(acme, api_client):
    client = api_client(acme, scopes=["contacts:read"])
    assert client.get(f"{BASE}/webhooks").status_code == 403
    assert client.get(f"{BASE}/events").status_code == 403


def test_another_workspace_sees_neither_endpoints_nor_events(
    acme, globex, api_client, make_endpoint, receiver
):
    endpoint = make_endpoint(receiver.url("/hook"))
    with schema_context(acme.schema_name):
        event = emit_event(event_type="contact.created", data={"id": "c1"})
        events_fan_out()
        delivery = Delivery.objects.get(endpoint=endpoint)
    outsider = api_client(globex)
    assert outsider.get(f"{BASE}/webhooks").json()["data"] == []
    assert outsider.get(f"{BASE}/webhooks/{endpoint.id}").status_code == 404
    assert outsider.patch(f"{BASE}/webhooks/{endpoint.id}", {}, format="json").status_code == 404
    assert outsider.delete(f"{BASE}/webhooks/{endpoint.id}").status_code == 404
    assert outsider.get(f"{BASE}/webhooks/{endpoint.id}/secret").status_code == 404
    retry = f"{BASE}/webhooks/{endpoint.id}/deliveries/{delivery.id}/retry"
    assert outsider.post(retry).status_code == 404
    assert outsider.get(f"{BASE}/events/{event.id}").status_code == 404
    assert outsider.get(f"{BASE}/events").json()["data"] == []


def test_malformed_ids_are_404s(acme, api_client):
    client = api_client(acme)
    assert client.get(f"{BASE}/webhooks/not-a-uuid").status_code == 404
    assert client.get(f"{BASE}/webhooks/not-a-uuid/deliveries").status_code == 404


def test_the_openapi_document_describes_every_webhook_payload(client):
    schema = client.get(f"{BASE}/openapi.json").json()
    assert schema["openapi"].startswith("3.1")
    assert "/webhooks/{endpoint_id}/deliveries/{delivery_id}/retry" in schema["paths"]
    assert "/events" in schema["paths"]
    from apps.webhooks.events import EVENT_TYPES

    assert set(schema["webhooks"]) == set(EVENT_TYPES)
    signed = schema["webhooks"]["message.read"]["post"]
    assert {p["name"] for p in signed["parameters"]} >= {"webhook-id", "webhook-signature"}


def test_the_openapi_document_is_valid_openapi_3_1(client):
    from openapi_spec_validator import validate

    validate(client.get(f"{BASE}/openapi.json").json())
