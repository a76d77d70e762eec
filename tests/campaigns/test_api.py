"""Public Campaigns API: every endpoint, its scopes, errors and shapes."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from apps.campaigns import services
from apps.campaigns.models import Campaign, CampaignRecipient
from tests.campaigns.conftest import MAPPING, make_contacts

pytestmark = pytest.mark.django_db
BASE = "/api/v1/public/campaigns"


@pytest.fixture
def client(api_client, acme):
    return api_client(acme)


@pytest.fixture
def campaign(template, group):
    make_contacts(3, group=group)
    return services.campaign_create(
        name="May", template=template, variable_mapping=MAPPING, groups=[group.id]
    )


def body(template, group, **extra):
    return {
        "name": "May launch",
        "template_id": str(template.id),
        "variable_mapping": MAPPING,
        "audience": {"groups": [str(group.id)], "sources": []},
        **extra,
    }


def test_create_returns_the_campaign_object(client, template, group):
    response = client.post(BASE, body(template, group), format="json")
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["status"] == "DRAFT"
    assert data["template_name"] == "order_confirmation"
    assert data["template_category"] == "UTILITY"
    assert data["batch_size"] == 50
    assert data["stats"] == {
        "total": 0,
        "sent": 0,
        "delivered": 0,
        "read": 0,
        "failed": 0,
        "pending": 0,
    }
    assert data["audiences"] == [{"type": "group", "id": str(group.id), "name": "Customers"}]


def test_create_takes_metas_template_id_and_a_schedule(client, template, group):
    when = (timezone.now() + timedelta(days=1)).isoformat()
    response = client.post(
        BASE, body(template, group, template_id=template.meta_id, scheduled_at=when), format="json"
    )
    assert response.status_code == 201
    assert response.json()["status"] == "SCHEDULED"


def test_create_without_name_is_400(client, template, group):
    data = body(template, group)
    del data["name"]
    response = client.post(BASE, data, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"


def test_create_with_a_bad_mapping_is_422_with_the_problem(client, template, group):
    data = body(template, group, variable_mapping={"body": {"1": {"field": "shoe_size"}}})
    response = client.post(BASE, data, format="json")
    assert response.status_code == 422
    fields = [d["field"] for d in response.json()["error"]["details"]]
    assert "variable_mapping.body.1.field" in fields and "variable_mapping.body.2" in fields


def test_batch_size_out_of_range_is_422(client, template, group):
    response = client.post(BASE, body(template, group, batch_size=1001), format="json")
    assert response.status_code == 422


def test_list_is_newest_first(client, template, group, campaign):
    services.campaign_create(name="Later", template=template, variable_mapping=MAPPING)
    response = client.get(BASE)
    assert [c["name"] for c in response.json()["data"]] == ["Later", "May"]


def test_get_unknown_is_404(client, tenant):
    assert client.get(f"{BASE}/{uuid.uuid4()}").status_code == 404
    assert client.get(f"{BASE}/not-a-uuid").status_code == 404


def test_audience_preview_and_coverage(client, campaign):
    preview = client.get(f"{BASE}/{campaign.id}/audience/preview").json()
    assert preview["total"] == 3 and len(preview["sample"]) == 3
    assert set(preview["sample"][0]) == {"id", "first_name", "phone"}
    coverage = client.post(
        f"{BASE}/{campaign.id}/audience/field-coverage",
        {"fields": ["first_name", "email"]},
        format="json",
    ).json()
    assert coverage["coverage"]["email"] == {"present": 0, "missing": 3}


def test_coverage_of_an_unknown_field_is_422(client, campaign):
    response = client.post(
        f"{BASE}/{campaign.id}/audience/field-coverage", {"fields": ["shoe_size"]}, format="json"
    )
    assert response.status_code == 422


def test_preview_render(client, campaign):
    response = client.post(f"{BASE}/{campaign.id}/preview", {}, format="json")
    assert response.status_code == 200
    assert response.json()["resolved_components"][0]["text"].startswith("Hi Person")


def test_set_audience_replaces_it(client, campaign, source):
    make_contacts(2, source=source, start=10)
    response = client.put(
        f"{BASE}/{campaign.id}/audience", {"groups": [], "sources": [str(source.id)]}, format="json"
    )
    assert response.status_code == 200
    assert [a["type"] for a in response.json()["audiences"]] == ["source"]
    assert client.get(f"{BASE}/{campaign.id}/audience/preview").json()["total"] == 2


def test_set_audience_with_unknown_group_is_400(client, campaign):
    response = client.put(
        f"{BASE}/{campaign.id}/audience", {"groups": [str(uuid.uuid4())]}, format="json"
    )
    assert response.status_code == 400


def test_lifecycle_through_the_api(client, campaign):
    when = (timezone.now() + timedelta(hours=2)).isoformat()
    assert (
        client.post(f"{BASE}/{campaign.id}/schedule", {"scheduled_at": when}, format="json").json()[
            "status"
        ]
        == "SCHEDULED"
    )
    assert client.post(f"{BASE}/{campaign.id}/send").json()["status"] == "RUNNING"
    assert client.post(f"{BASE}/{campaign.id}/pause").json()["status"] == "PAUSED"
    assert client.post(f"{BASE}/{campaign.id}/resume").json()["status"] == "RUNNING"
    stopped = client.post(f"{BASE}/{campaign.id}/stop").json()
    assert stopped["status"] == "STOPPED" and stopped["stats"]["pending"] == 3
    refused = client.post(f"{BASE}/{campaign.id}/pause")
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "invalid_transition"


def test_a_test_key_sends_through_the_sandbox(api_client, acme, campaign):
    client = api_client(acme, mode="test")
    client.post(f"{BASE}/{campaign.id}/send")
    connection.set_tenant(acme)
    assert Campaign.objects.get(pk=campaign.pk).send_mode == "test"


def test_refresh_metrics_errors_and_drilldown(client, campaign):
    services.campaign_send_now(campaign=campaign)
    first = CampaignRecipient.objects.filter(campaign=campaign).first()
    CampaignRecipient.objects.filter(pk=first.pk).update(
        status="failed", error_code="131056", error_message="Meta: pair rate limit"
    )
    stats = client.post(f"{BASE}/{campaign.id}/refresh-metrics").json()["stats"]
    assert stats["failed"] == 1 and stats["pending"] == 2
    summary = client.get(f"{BASE}/{campaign.id}/errors").json()
    assert summary["total_failed"] == 1
    assert summary["by_code"][0]["code"] == "131056" and summary["by_code"][0]["fix"]
    assert summary["by_code"][0]["retryable"] is True  # the catalogue's flag, kept in the API
    drill = client.get(f"{BASE}/{campaign.id}/errors/131056?limit=50").json()
    assert drill["error_code"] == "131056"
    assert drill["recipients"][0] == {
        "id": str(first.id),
        "phone_number": first.phone,
        "contact_id": str(first.contact_id),
        "status": "failed",
        "message_id": None,
        "error": "Meta: pair rate limit",
    }
    assert client.get(f"{BASE}/{campaign.id}/errors/131056?limit=0").status_code == 422


@pytest.mark.parametrize(
    ("method", "path", "scope"),
    [
        ("get", "", "campaigns:read"),
        ("post", "/send", "campaigns:send"),
        ("post", "/preview", "campaigns:write"),
        ("get", "/errors", "campaigns:read"),
    ],
)
def test_each_endpoint_needs_its_scope(api_client, acme, campaign, method, path, scope):
    client = api_client(acme, scopes=["contacts:read"])
    response = getattr(client, method)(f"{BASE}/{campaign.id}{path}", format="json")
    assert response.status_code == 403
    assert response.json()["error"]["details"]["required_scopes"] == [scope]


def test_a_read_key_cannot_write(api_client, acme, campaign):
    client = api_client(acme, scopes=["campaigns:read"])
    assert client.post(f"{BASE}/{campaign.id}/pause").status_code == 403
    assert client.get(f"{BASE}/{campaign.id}").status_code == 200


def test_it_rejects_the_outsider(api_client, globex, campaign):
    connection.set_schema_to_public()
    outsider = api_client(globex)
    assert outsider.get(f"{BASE}/{campaign.id}").status_code == 404
    assert outsider.post(f"{BASE}/{campaign.id}/stop").status_code == 404
