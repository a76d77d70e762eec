"""Public messages API: every validation path of the Messages page, sends, reads."""

import pytest
from django.db import connection

from apps.contacts.models import Contact
from apps.messaging.models import Message
from apps.webhooks.models import Event
from tests.messaging.helpers import approved_template, body_components

pytestmark = pytest.mark.django_db
URL = "/api/v1/public/messages/template"


def send(client, **body):
    payload = {
        "to": "+919999999999",
        "template_name": "order_confirmation",
        "language": "en_US",
        "components": body_components("Anurag", "ORD-1042"),
    }
    payload.update(body)
    payload = {k: v for k, v in payload.items() if v is not ...}
    return client.post(URL, payload, format="json")


@pytest.fixture
def template(acme):
    connection.set_tenant(acme)
    return approved_template()


def error(response):
    return response.json()["error"]


def test_send_through_cloud(api_client, acme, cloud_account, template, fake_graph):
    response = send(api_client(acme, scopes=["messages:send"]))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "accepted" and body["to"] == "+919999999999"
    assert body["message_id"].startswith("wamid.")
    (sent,) = fake_graph.sent
    assert sent["template"]["name"] == "order_confirmation"
    assert sent["template"]["components"][0]["parameters"][1]["text"] == "ORD-1042"
    connection.set_tenant(acme)
    message = Message.objects.get(wamid=body["message_id"])
    assert message.status == "accepted" and message.provider == "cloud"
    assert message.body == "Hi Anurag, your order ORD-1042 has shipped."
    contact = Contact.objects.get(phone="+919999999999")
    assert message.contact == contact
    assert Event.objects.filter(type="contact.communication_added").count() == 1


def test_test_key_never_reaches_the_cloud(api_client, acme, cloud_account, template, fake_graph):
    response = send(api_client(acme, scopes=["messages:send"], mode="test"))
    assert response.status_code == 200
    assert response.json()["message_id"].startswith("wamid.SBX")
    assert list(fake_graph.sent) == [] and fake_graph.counts.get("messages", 0) == 0
    connection.set_tenant(acme)
    assert Message.objects.get().provider == "sandbox"


def test_no_active_waba(api_client, acme, template):
    response = send(api_client(acme, scopes=["messages:send"]))
    assert response.status_code == 404 and error(response)["code"] == "no_active_waba"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"to": ...}, "to"),
        ({"template_name": ...}, "template_name"),
        ({"to": "919999999999"}, "to"),
        ({"to": "+91 99999 99999"}, "to"),
        ({"to": "+0123"}, "to"),
    ],
)
def test_400s(api_client, acme, sandbox_account, template, body, field):
    response = send(api_client(acme, scopes=["messages:send"]), **body)
    assert response.status_code == 400, response.content
    assert error(response)["code"] == "invalid_request"
    assert error(response)["details"][0]["field"] == field


def test_malformed_json_is_400(api_client, acme, sandbox_account):
    client = api_client(acme, scopes=["messages:send"])
    response = client.generic("POST", URL, "{not json", content_type="application/json")
    assert response.status_code == 400


def test_language_mismatch_names_the_languages(api_client, acme, sandbox_account, template):
    approved_template(language="hi")
    response = send(api_client(acme, scopes=["messages:send"]), language="en")
    assert response.status_code == 422
    detail = error(response)["details"][0]
    assert detail["field"] == "language"
    assert "en_US" in detail["message"] and "hi" in detail["message"]


def test_language_defaults_to_en(api_client, acme, sandbox_account, template):
    response = send(api_client(acme, scopes=["messages:send"]), language=...)
    assert response.status_code == 422
    assert error(response)["details"][0]["field"] == "language"


def test_unknown_and_unapproved_templates(api_client, acme, sandbox_account, template):
    client = api_client(acme, scopes=["messages:send"])
    response = send(client, template_name="nope")
    assert response.status_code == 422
    assert error(response)["details"][0]["field"] == "template_name"
    connection.set_tenant(acme)
    approved_template(name="pending_one", status="PENDING")
    response = send(client, template_name="pending_one")
    assert response.status_code == 422 and "pending" in error(response)["message"]


@pytest.mark.parametrize(
    ("components", "field"),
    [
        ({"type": "body"}, "components"),
        (["body"], "components[0]"),
        ([{"type": "footer", "parameters": []}], "components[0].type"),
        ([{"type": "body", "parameters": "x"}], "components[0].parameters"),
        ([{"type": "body", "parameters": [{"type": "emoji", "emoji": "x"}]}],
         "components[0].parameters[0].type"),
        ([{"type": "body", "parameters": [{"type": "text"}, {"type": "text", "text": "a"}]}],
         "components[0].parameters[0].text"),
        ([{"type": "body", "parameters": [{"type": "image", "image": {}}] * 2}],
         "components[0].parameters[0].image"),
        ([{"type": "body", "parameters": [{"type": "currency", "currency": {}}] * 2}],
         "components[0].parameters[0].currency"),
        ([{"type": "body", "parameters": [{"type": "date_time", "date_time": {}}] * 2}],
         "components[0].parameters[0].date_time"),
        (body_components("a", "b") + body_components("a", "b"), "components[1].type"),
        ([{"type": "button", "index": "0", "parameters": []}], "components[0].sub_type"),
        ([{"type": "button", "sub_type": "url", "parameters": []}], "components[0].index"),
    ],
)  # fmt: skip
def test_bad_component_shapes_are_422(
    api_client, acme, sandbox_account, template, components, field
):
    response = send(api_client(acme, scopes=["messages:send"]), components=components)
    assert response.status_code == 422, response.content
    assert error(response)["code"] == "validation_error"
    assert error(response)["details"][0]["field"] == field


@pytest.mark.parametrize(
    "components", [body_components("Anurag"), body_components("a", "b", "c"), [], None]
)
def test_parameter_count_mismatch_is_422(api_client, acme, sandbox_account, template, components):
    response = send(api_client(acme, scopes=["messages:send"]), components=components)
    assert response.status_code == 422
    assert "placeholder" in error(response)["message"]


def test_media_header_and_url_button(api_client, acme, sandbox_account):
    connection.set_tenant(acme)
    approved_template(
        name="promo",
        components=[
            {"type": "HEADER", "format": "IMAGE"},
            {"type": "BODY", "text": "Hello {{1}}"},
            {"type": "BUTTONS", "buttons": [
                {"type": "URL", "text": "Track", "url": "https://x.test/{{1}}"}]},
        ],
    )  # fmt: skip
    client = api_client(acme, scopes=["messages:send"])
    header = {
        "type": "header",
        "parameters": [{"type": "image", "image": {"link": "https://x.test/a.jpg"}}],
    }  # noqa: E501
    button = {
        "type": "button",
        "sub_type": "url",
        "index": "0",
        "parameters": [{"type": "text", "text": "A1"}],
    }  # noqa: E501
    ok = send(client, template_name="promo", components=[header, *body_components("Ana"), button])
    assert ok.status_code == 200, ok.content
    missing_button = send(
        client, template_name="promo", components=[header, *body_components("Ana")]
    )
    assert missing_button.status_code == 422
    wrong_media = {
        "type": "header",
        "parameters": [{"type": "video", "video": {"link": "https://x.test/v"}}],
    }  # noqa: E501
    bad = send(
        client, template_name="promo", components=[wrong_media, *body_components("Ana"), button]
    )
    assert bad.status_code == 422


def test_opted_out_number_is_accepted_then_fails(api_client, acme, sandbox_account, template):
    connection.set_tenant(acme)
    Contact.objects.create(
        first_name="Opt", phone="+919999999999", opted_out_at="2026-01-01T00:00Z"
    )
    response = send(api_client(acme, scopes=["messages:send"]))
    assert response.status_code == 200 and response.json()["status"] == "accepted"
    connection.set_tenant(acme)
    message = Message.objects.get()
    assert message.status == "failed" and message.error_code == "lk_opted_out"
    assert message.wamid is None
    (event,) = Event.objects.filter(type="message.failed")
    assert event.data["error"]["code"] == "lk_opted_out"


def test_upstream_error_and_timeout(api_client, acme, cloud_account, template, fake_graph):
    fake_graph.config.failures_by_number["919999999999"] = (400, 131026)
    response = send(api_client(acme, scopes=["messages:send"]))
    assert response.status_code == 502 and error(response)["code"] == "upstream_error"
    connection.set_tenant(acme)
    failed = Message.objects.get()
    assert failed.status == "failed" and failed.error_code == "131026"


def test_idempotency_key_replays(api_client, acme, sandbox_account, template):
    client = api_client(acme, scopes=["messages:send"])
    headers = {"HTTP_IDEMPOTENCY_KEY": "7c4d2e1a-0000-4000-8000-000000000001"}
    payload = {"to": "+919999999999", "template_name": "order_confirmation",
               "language": "en_US", "components": body_components("A", "B")}  # fmt: skip
    first = client.post(URL, payload, format="json", **headers)
    second = client.post(URL, payload, format="json", **headers)
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    assert second.headers.get("Idempotent-Replayed") == "true"
    connection.set_tenant(acme)
    assert Message.objects.count() == 1


def test_scopes(api_client, acme, sandbox_account, template):
    reader = api_client(acme, scopes=["messages:read"])
    assert send(reader).status_code == 403
    sender = api_client(acme, scopes=["messages:send"])
    assert sender.get("/api/v1/public/messages").status_code == 403


def test_list_filters_and_detail_with_timeline(api_client, acme, globex, sandbox_account, template):
    from apps.messaging.services import meta_webhook_ingest
    from tests.messaging.helpers import envelope, status

    client = api_client(acme, scopes=["messages:send", "messages:read"])
    wamid = send(client).json()["message_id"]
    send(client, to="+919999999990")
    connection.set_tenant(acme)
    meta_webhook_ingest(
        payload=envelope(sandbox_account.phone_number_id, statuses=[status(wamid, "read")])
    )
    listing = client.get("/api/v1/public/messages", {"status": "read"}).json()
    assert [m["message_id"] for m in listing["data"]] == [wamid]
    assert listing["pagination"]["total_items"] == 1
    assert (
        client.get("/api/v1/public/messages", {"to": "+919999999990"}).json()["pagination"][
            "total_items"
        ]
        == 1
    )
    assert client.get("/api/v1/public/messages", {"status": "bogus"}).status_code == 422
    assert (
        client.get("/api/v1/public/messages", {"created_after": "2999-01-01"}).json()["pagination"][
            "total_items"
        ]
        == 0
    )
    detail = client.get(f"/api/v1/public/messages/{wamid}").json()
    assert detail["status"] == "read" and detail["delivered_at"] is not None
    assert [t["status"] for t in detail["timeline"]] == ["read"]
    by_id = client.get(f"/api/v1/public/messages/{detail['id']}")
    assert by_id.status_code == 200
    # Another workspace's key does not see it.
    outsider = api_client(globex, scopes=["messages:read"])
    assert outsider.get(f"/api/v1/public/messages/{wamid}").status_code == 404
    assert outsider.get("/api/v1/public/messages").json()["pagination"]["total_items"] == 0
