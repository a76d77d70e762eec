"""The public API's core: authentication outcomes, scopes, the error envelope, pagination."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from apps.apikeys.services import api_key_revoke, api_key_rotate, api_key_update
from tests.api.views import scoped_api_call

pytestmark = pytest.mark.urls("tests.api.urls")


def assert_envelope(response, status: int, code: str):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error", "request_id"}
    assert body["error"]["status"] == status
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    assert body["request_id"] == response["X-Request-Id"]
    return body


def bearer(secret: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


# --- authentication outcomes -----------------------------------------------------------------


def test_me_answers_with_the_keys_tenant_mode_scopes_and_limits(acme, api_client):
    client = api_client(acme, scopes=["contacts:read"], mode="test")
    response = client.get("/api/v1/public/me")
    assert response.status_code == 200
    body = response.json()
    assert body["tenant"] == {"slug": "acme", "name": "Acme", "plan": "pro"}
    assert body["api_key"]["mode"] == "test"
    assert body["api_key"]["scopes"] == ["contacts:read"]
    assert body["rate_limits"] == {"requests_per_minute": 1000, "requests_per_day": 100_000}


def test_a_missing_key_is_authentication_required(db):
    response = APIClient().get("/api/v1/public/me")
    assert_envelope(response, 401, "authentication_required")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_another_scheme_is_authentication_required(db):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Basic dXNlcjpwYXNz")
    assert_envelope(client.get("/api/v1/public/me"), 401, "authentication_required")


@pytest.mark.parametrize(
    "secret",
    ["lk_sk_live_123", "lk_sk_prod_" + "a" * 40, "lk_sk_live_" + "A" * 40, "nonsense"],
)
def test_a_malformed_key_is_invalid(db, secret):
    assert_envelope(bearer(secret).get("/api/v1/public/me"), 401, "invalid_api_key")


def test_an_unknown_key_is_invalid(db):
    response = bearer("lk_sk_live_" + "0" * 40).get("/api/v1/public/me")
    assert_envelope(response, 401, "invalid_api_key")


def test_a_revoked_key_is_refused_on_its_next_request(acme, api_client):
    client = api_client(acme)
    assert client.get("/api/v1/public/me").status_code == 200
    api_key_revoke(api_key=client.api_key)
    body = assert_envelope(client.get("/api/v1/public/me"), 401, "invalid_api_key")
    assert "revoked" in body["error"]["message"]


def test_an_expired_key_is_refused(acme, api_client, monkeypatch):
    client = api_client(acme, expires_at=timezone.now() + timedelta(hours=1))
    assert client.get("/api/v1/public/me").status_code == 200
    later = timezone.now() + timedelta(hours=1, seconds=1)
    monkeypatch.setattr(timezone, "now", lambda: later)
    body = assert_envelope(client.get("/api/v1/public/me"), 401, "invalid_api_key")
    assert "expired" in body["error"]["message"]


def test_after_rotation_both_secrets_work_within_the_grace_period(acme, api_client):
    old = api_client(acme)
    _, new_secret = api_key_rotate(api_key=old.api_key, grace_period=timedelta(days=1))
    assert old.get("/api/v1/public/me").status_code == 200
    assert bearer(new_secret).get("/api/v1/public/me").status_code == 200


def test_after_the_grace_period_the_old_secret_is_refused(acme, api_client, monkeypatch):
    old = api_client(acme)
    key, new_secret = api_key_rotate(api_key=old.api_key, grace_period=timedelta(hours=1))
    assert old.get("/api/v1/public/me").status_code == 200
    later = timezone.now() + timedelta(hours=1, seconds=1)
    monkeypatch.setattr(timezone, "now", lambda: later)
    body = assert_envelope(old.get("/api/v1/public/me"), 401, "invalid_api_key")
    assert "rotated" in body["error"]["message"]
    assert bearer(new_secret).get("/api/v1/public/me").status_code == 200


def test_a_rotation_without_grace_stops_the_old_secret_at_once(acme, api_client):
    old = api_client(acme)
    assert old.get("/api/v1/public/me").status_code == 200
    api_key_rotate(api_key=old.api_key, grace_period=timedelta(0))
    assert_envelope(old.get("/api/v1/public/me"), 401, "invalid_api_key")


def test_the_request_runs_in_the_keys_tenant_schema(globex, api_client):
    client = api_client(globex)
    response = client.get("/api/v1/public/me")
    assert response.json()["tenant"]["slug"] == "globex"
    # The middleware puts the connection back on the public schema afterwards.
    assert connection.schema_name == "public"


# --- IP allowlist ----------------------------------------------------------------------------


def test_an_allowed_ipv4_address_passes(acme, api_client):
    client = api_client(acme, ip_allowlist=["203.0.113.0/24"])
    assert client.get("/api/v1/public/me", REMOTE_ADDR="203.0.113.9").status_code == 200


def test_an_address_outside_the_allowlist_is_refused(acme, api_client):
    client = api_client(acme, ip_allowlist=["203.0.113.0/24"])
    response = client.get("/api/v1/public/me", REMOTE_ADDR="198.51.100.7")
    assert_envelope(response, 403, "ip_not_allowed")


def test_ipv6_addresses_are_matched_against_ipv6_ranges(acme, api_client):
    client = api_client(acme, ip_allowlist=["2001:db8:abcd::/48", "192.0.2.1"])
    assert client.get("/api/v1/public/me", REMOTE_ADDR="2001:db8:abcd:12::1").status_code == 200
    assert client.get("/api/v1/public/me", REMOTE_ADDR="192.0.2.1").status_code == 200
    response = client.get("/api/v1/public/me", REMOTE_ADDR="2001:db8:ffff::1")
    assert_envelope(response, 403, "ip_not_allowed")


def test_x_forwarded_for_is_ignored_without_a_trusted_proxy(acme, api_client):
    client = api_client(acme, ip_allowlist=["203.0.113.0/24"])
    response = client.get(
        "/api/v1/public/me", REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="203.0.113.9"
    )
    assert_envelope(response, 403, "ip_not_allowed")


def test_x_forwarded_for_is_read_behind_a_trusted_proxy(acme, api_client, settings):
    settings.API_TRUSTED_PROXIES = ["10.0.0.0/8"]
    client = api_client(acme, ip_allowlist=["203.0.113.0/24"])
    # The left-most entry is whatever the client claims; the proxy appended the real peer.
    allowed = client.get(
        "/api/v1/public/me",
        REMOTE_ADDR="10.0.0.5",
        HTTP_X_FORWARDED_FOR="198.51.100.1, 203.0.113.9",
    )
    assert allowed.status_code == 200
    forged = client.get(
        "/api/v1/public/me",
        REMOTE_ADDR="10.0.0.5",
        HTTP_X_FORWARDED_FOR="203.0.113.9, 198.51.100.1",
    )
    assert_envelope(forged, 403, "ip_not_allowed")


# --- scopes ----------------------------------------------------------------------------------


def test_a_missing_scope_is_refused_with_typed_details(acme, api_client):
    client = api_client(acme, scopes=["contacts:read"])
    body = assert_envelope(scoped_api_call(client, "post"), 403, "insufficient_scope")
    assert body["error"]["message"] == "This API key lacks the contacts:write scope."
    assert body["error"]["details"] == {
        "required_scopes": ["contacts:write"],
        "granted_scopes": ["contacts:read"],
    }


def test_a_held_scope_passes(acme, api_client):
    client = api_client(acme, scopes=["contacts:read", "contacts:write"])
    assert scoped_api_call(client, "post").status_code == 201


def test_scope_changes_apply_on_the_next_request(acme, api_client):
    client = api_client(acme, scopes=["contacts:read", "contacts:write"])
    assert scoped_api_call(client, "post").status_code == 201
    api_key_update(api_key=client.api_key, scopes=["contacts:read"])
    assert_envelope(scoped_api_call(client, "post"), 403, "insufficient_scope")


# --- request ids -----------------------------------------------------------------------------


def test_a_request_id_is_minted_on_success_and_error(acme, api_client):
    ok = api_client(acme).get("/api/v1/public/me")
    assert re.fullmatch(r"req_[0-9a-f]{12}", ok["X-Request-Id"])
    error = APIClient().get("/api/v1/public/me")
    assert re.fullmatch(r"req_[0-9a-f]{12}", error["X-Request-Id"])
    assert error.json()["request_id"] == error["X-Request-Id"]


def test_the_clients_request_id_is_honoured_in_header_and_body(db):
    response = APIClient().get("/api/v1/public/me", HTTP_X_REQUEST_ID="client-trace-7")
    assert response["X-Request-Id"] == "client-trace-7"
    assert response.json()["request_id"] == "client-trace-7"
