from __future__ import annotations

import pytest
from django.db import connection

from apps.message_templates.models import MessageTemplate, Status
from apps.webhooks.models import Event

URL = "/api/v1/public/templates"
BODY = {
    "name": "order_confirmation",
    "language": "en_US",
    "category": "UTILITY",
    "components": [
        {
            "type": "BODY",
            "text": "Hi {{1}}, your order {{2}} has shipped.",
            "example": {"body_text": [["Ana", "A-1"]]},
        }
    ],
}


def make(name: str, status: str = Status.APPROVED, **fields) -> MessageTemplate:
    values = {
        "name": name,
        "language": "en_US",
        "category": "MARKETING",
        "components": [{"type": "BODY", "text": "Hello"}],
        "status": status,
        "meta_id": f"m-{name}",
    }
    values.update(fields)
    return MessageTemplate.objects.create(**values)


@pytest.fixture
def acme_schema(acme):
    connection.set_tenant(acme)
    return acme


def test_it_creates_and_submits_a_template(cloud_account, fake_graph, api_client, acme):
    response = api_client(acme, scopes=["templates:write"]).post(URL, BODY, format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "PENDING"
    assert body["placeholders"] == {"body": ["1", "2"]}
    assert body["meta_id"] == fake_graph.templates["102290129340398"][0]["id"]


def test_an_invalid_template_is_a_422_listing_every_problem(cloud_account, api_client, acme):
    bad = {**BODY, "name": "Order Confirmation", "language": "english"}
    response = api_client(acme).post(URL, bad, format="json")

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert {d["field"] for d in error["details"]} == {"name", "language"}


def test_a_missing_field_is_a_400(cloud_account, api_client, acme):
    response = api_client(acme).post(URL, {"name": "x"}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"


def test_a_duplicate_is_a_409(cloud_account, fake_graph, api_client, acme):
    client = api_client(acme)
    client.post(URL, BODY, format="json")
    response = client.post(URL, BODY, format="json")
    assert response.status_code == 409


def test_without_a_waba_it_is_404_no_active_waba(acme_schema, api_client, acme):
    response = api_client(acme).post(URL, BODY, format="json")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "no_active_waba"


def test_metas_refusal_is_an_upstream_error(cloud_account, fake_graph, api_client, acme):
    fake_graph.config.fail_next.append({"status": 400, "code": 100})
    response = api_client(acme).post(URL, BODY, format="json")
    assert response.status_code == 502
    error = response.json()["error"]
    assert error["code"] == "upstream_error"
    assert error["details"]["meta_code"] == 100


def test_a_test_key_submits_to_the_sandbox(cloud_account, fake_graph, api_client, acme):
    response = api_client(acme, mode="test").post(URL, BODY, format="json")
    assert response.status_code == 201
    assert response.json()["meta_id"].startswith("sbx")
    assert fake_graph.counts["templates_create"] == 0


def test_it_lists_with_filters_and_pagination(acme_schema, api_client, acme):
    make("alpha")
    make("beta", status=Status.REJECTED)
    make("gamma", category="UTILITY", language="pt_BR")
    client = api_client(acme, scopes=["templates:read"])

    everything = client.get(URL, {"limit": 2}).json()
    assert [t["name"] for t in everything["data"]] == ["alpha", "beta"]
    assert everything["pagination"]["total_items"] == 3 and everything["pagination"]["has_next"]
    assert [t["name"] for t in client.get(URL, {"status": "REJECTED"}).json()["data"]] == ["beta"]
    assert [t["name"] for t in client.get(URL, {"category": "UTILITY"}).json()["data"]] == ["gamma"]
    assert [t["name"] for t in client.get(URL, {"language": "pt_BR"}).json()["data"]] == ["gamma"]
    assert [t["name"] for t in client.get(URL, {"name": "alp"}).json()["data"]] == ["alpha"]


def test_it_gets_by_uuid_or_meta_id(acme_schema, api_client, acme):
    template = make("alpha")
    client = api_client(acme, scopes=["templates:read"])
    assert client.get(f"{URL}/{template.id}").json()["name"] == "alpha"
    assert client.get(f"{URL}/m-alpha").json()["id"] == str(template.id)
    assert client.get(f"{URL}/nope").status_code == 404


def test_it_deletes(cloud_account, fake_graph, api_client, acme):
    client = api_client(acme)
    created = client.post(URL, BODY, format="json").json()
    response = client.delete(f"{URL}/{created['id']}")
    assert response.status_code == 204
    connection.set_tenant(acme)
    assert not MessageTemplate.objects.exists()
    assert fake_graph.templates["102290129340398"] == []


def test_sync_pulls_statuses(cloud_account, fake_graph, api_client, acme):
    client = api_client(acme)
    client.post(URL, BODY, format="json")
    fake_graph.templates["102290129340398"][0]["status"] = "APPROVED"

    response = client.post(f"{URL}/sync")

    assert response.status_code == 200
    assert response.json() == {"created": 0, "updated": 1, "removed": 0, "status_changes": 1}
    connection.set_tenant(acme)
    assert Event.objects.filter(type="template.approved").count() == 1


def test_it_rejects_the_outsider(acme_schema, api_client, globex, acme):
    template = make("alpha")
    outsider = api_client(globex)
    assert outsider.get(f"{URL}/{template.id}").status_code == 404
    assert outsider.delete(f"{URL}/{template.id}").status_code == 404
    connection.set_tenant(globex)
    assert outsider.get(URL).json()["data"] == []


def test_a_read_only_key_cannot_write(acme_schema, api_client, acme):
    template = make("alpha")
    reader = api_client(acme, scopes=["templates:read"])
    assert reader.post(URL, BODY, format="json").status_code == 403
    assert reader.delete(f"{URL}/{template.id}").status_code == 403
    assert reader.post(f"{URL}/sync").status_code == 403
    assert api_client(acme, scopes=["contacts:read"]).get(URL).status_code == 403
