"""The dashboard API for API keys: JWT, admins and owners of the workspace only."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context
from rest_framework.test import APIClient

from apps.apikeys.models import ApiKey
from apps.apikeys.services import api_key_create, hash_secret
from apps.audit.models import AuditEntry
from apps.tenancy.models import Role
from tests.api.test_core import assert_envelope
from tests.factories import MembershipFactory

URL = "/acme/api/v1/settings/api-keys"


def jwt_client(user, password) -> APIClient:
    response = APIClient().post(
        "/api/v1/auth/token", {"email": user.email, "password": password}, format="json"
    )
    assert response.status_code == 200, response.content
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['access']}")
    return client


@pytest.fixture
def alice_api(alice, password):
    return jwt_client(alice, password)


def test_token_and_refresh(alice, password):
    tokens = (
        APIClient()
        .post("/api/v1/auth/token", {"email": alice.email, "password": password}, format="json")
        .json()
    )
    refreshed = APIClient().post(
        "/api/v1/auth/token/refresh", {"refresh": tokens["refresh"]}, format="json"
    )
    assert refreshed.status_code == 200
    assert refreshed.json()["access"]


def test_a_wrong_password_gets_no_token(alice):
    response = APIClient().post(
        "/api/v1/auth/token", {"email": alice.email, "password": "nope"}, format="json"
    )
    assert_envelope(response, 401, "invalid_token")


def test_an_owner_creates_a_key_and_sees_the_secret_once(acme, alice_api):
    response = alice_api.post(
        URL,
        {"name": "CRM", "scopes": ["contacts:read"], "mode": "test", "ip_allowlist": ["10.0.0.1"]},
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    api_key = ApiKey.objects.get(pk=body["id"])
    assert api_key.key_hash == hash_secret(body["secret"])
    assert api_key.ip_allowlist == ["10.0.0.1/32"]
    assert body["status"] == "active"
    listed = alice_api.get(URL).json()["data"]
    assert [k["name"] for k in listed] == ["CRM"]
    assert "secret" not in listed[0]
    assert "secret" not in alice_api.get(f"{URL}/{api_key.pk}").json()
    with schema_context("acme"):
        entry = AuditEntry.objects.get(action="api_key.created")
    assert entry.actor_email == "alice@acme.test"


def test_invalid_input_is_a_422_with_fields(acme, alice_api):
    response = alice_api.post(URL, {"scopes": ["contacts:destroy"]}, format="json")
    body = assert_envelope(response, 422, "validation_error")
    assert {d["field"] for d in body["error"]["details"]} == {"name", "scopes[0]"}
    response = alice_api.post(URL, {"name": "x", "ip_allowlist": ["not-an-ip"]}, format="json")
    body = assert_envelope(response, 422, "validation_error")
    assert body["error"]["details"][0]["field"] == "ip_allowlist"


def test_update_rotate_and_revoke(acme, alice_api):
    api_key, old_secret = api_key_create(tenant=acme, name="old", scopes=["contacts:read"])
    updated = alice_api.patch(
        f"{URL}/{api_key.pk}", {"name": "new", "scopes": ["media:read"]}, format="json"
    )
    assert updated.json()["name"] == "new"
    assert updated.json()["scopes"] == ["media:read"]
    rotated = alice_api.post(f"{URL}/{api_key.pk}/rotate", {"grace_period_hours": 2}, format="json")
    assert rotated.status_code == 200
    new_secret = rotated.json()["secret"]
    assert new_secret != old_secret
    assert rotated.json()["previous_key_expires_at"]
    too_long = alice_api.post(f"{URL}/{api_key.pk}/rotate", {"grace_period_hours": 200})
    assert_envelope(too_long, 422, "validation_error")
    revoked = alice_api.delete(f"{URL}/{api_key.pk}")
    assert revoked.json()["status"] == "revoked"
    for secret in (old_secret, new_secret):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
        assert_envelope(client.get("/api/v1/public/me"), 401, "invalid_api_key")
    with schema_context("acme"):
        actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"api_key.updated", "api_key.rotated", "api_key.revoked"} <= actions


def test_a_key_of_another_workspace_is_not_found(acme, globex, alice_api):
    other, _ = api_key_create(tenant=globex, name="globex key")
    assert_envelope(alice_api.get(f"{URL}/{other.pk}"), 404, "not_found")
    assert_envelope(alice_api.delete(f"{URL}/{other.pk}"), 404, "not_found")
    assert ApiKey.objects.get(pk=other.pk).revoked_at is None


def test_it_rejects_the_outsider(acme, charlie, password):
    response = jwt_client(charlie, password).get(URL)
    assert_envelope(response, 404, "not_found")


def test_a_viewer_cannot_read_or_write(acme, bob, password):
    client = jwt_client(bob, password)
    assert_envelope(client.get(URL), 403, "permission_denied")
    assert_envelope(client.post(URL, {"name": "x"}, format="json"), 403, "permission_denied")
    assert not ApiKey.objects.exists()


def test_a_marketer_is_refused_and_an_admin_allowed(acme, password):
    marketer = MembershipFactory(tenant=acme, role=Role.MARKETER).user
    admin = MembershipFactory(tenant=acme, role=Role.ADMIN).user
    assert jwt_client(marketer, password).get(URL).status_code == 403
    assert jwt_client(admin, password).get(URL).status_code == 200


def test_an_api_key_is_refused(acme, api_client):
    response = api_client(acme).get(URL)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_token"


def test_no_credentials_is_401(acme):
    assert_envelope(APIClient().get(URL), 401, "authentication_required")


def test_the_dashboard_session_works_too_with_csrf_on_writes(acme, alice):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(alice, backend="django.contrib.auth.backends.ModelBackend")
    assert client.get(URL).status_code == 200
    refused = client.post(URL, {"name": "x"}, content_type="application/json")
    assert_envelope(refused, 403, "permission_denied")
    assert "CSRF" in refused.json()["error"]["message"]
    assert not ApiKey.objects.exists()


def test_the_outsiders_session_gets_404(acme, charlie_client):
    assert_envelope(charlie_client.get(URL), 404, "not_found")
    assert_envelope(charlie_client.post(URL, {"name": "x"}), 404, "not_found")
