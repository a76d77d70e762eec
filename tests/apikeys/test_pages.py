"""Settings → API keys pages."""

from __future__ import annotations

import re
from datetime import timedelta

from django.utils import timezone

from apps.apikeys.models import ApiKey
from apps.apikeys.scopes import ALL_SCOPES, READ_SCOPES
from apps.apikeys.services import api_key_create, hash_secret

LIST = "/acme/settings/api-keys/"


def created_secret(response) -> str:
    match = re.search(
        r'id="api-key-secret">(lk_sk_(?:live|test)_[0-9a-f]{40})<', response.content.decode()
    )
    assert match, "the secret is shown"
    return match.group(1)


def test_the_list_shows_keys_with_their_details(acme, alice_client):
    api_key, _ = api_key_create(
        tenant=acme,
        name="CRM sync",
        scopes=["contacts:read"],
        expires_at=timezone.now() + timedelta(days=30),
    )
    html = alice_client.get(LIST).content.decode()
    assert "CRM sync" in html
    assert api_key.prefix in html
    assert "contacts:read" in html
    assert "never" in html  # last used
    assert api_key.key_hash not in html
    assert 'href="/acme/settings/api-keys/"' in html  # nav entry


def test_creating_a_key_shows_the_secret_once(acme, alice_client):
    response = alice_client.post(
        f"{LIST}create/",
        {
            "name": "Shop",
            "mode": "test",
            "preset": "custom",
            "scopes": ["media:read"],
            "ip_allowlist": "203.0.113.0/24\n2001:db8::/32",
            "expires_on": "",
        },
    )
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    secret = created_secret(response)
    assert secret.startswith("lk_sk_test_")
    api_key = ApiKey.objects.get(key_hash=hash_secret(secret))
    assert api_key.scopes == ["media:read"]
    assert api_key.ip_allowlist == ["203.0.113.0/24", "2001:db8::/32"]
    assert secret not in alice_client.get(LIST).content.decode()


def test_presets_set_the_scopes(acme, alice_client):
    full = alice_client.post(
        f"{LIST}create/", {"name": "a", "mode": "live", "preset": "full_access"}
    )
    read = alice_client.post(
        f"{LIST}create/",
        {"name": "b", "mode": "live", "preset": "read_only", "scopes": ["media:write"]},
    )
    assert ApiKey.objects.get(key_hash=hash_secret(created_secret(full))).scopes == list(ALL_SCOPES)
    assert ApiKey.objects.get(key_hash=hash_secret(created_secret(read))).scopes == list(
        READ_SCOPES
    )


def test_invalid_input_reopens_the_dialog_with_errors(acme, alice_client):
    response = alice_client.post(
        f"{LIST}create/", {"name": "x", "mode": "live", "preset": "custom", "ip_allowlist": "nope"}
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert "data-open-on-load" in html
    assert "is not an IP address" in html
    assert not ApiKey.objects.exists()


def test_rotating_shows_the_new_secret_and_keeps_the_old_one_for_the_grace(acme, alice_client):
    api_key, old_secret = api_key_create(tenant=acme, name="rot")
    response = alice_client.post(f"{LIST}{api_key.pk}/rotate/", {"grace_period_hours": "72"})
    new_secret = created_secret(response)
    api_key.refresh_from_db()
    assert api_key.key_hash == hash_secret(new_secret)
    assert api_key.previous_key_hash == hash_secret(old_secret)
    assert (
        timedelta(hours=71)
        < api_key.previous_key_expires_at - timezone.now()
        <= timedelta(hours=72)
    )


def test_revoking_needs_a_confirmation_and_stops_the_key(acme, alice_client):
    api_key, _ = api_key_create(tenant=acme, name="gone")
    assert 'data-confirm="Revoke' in alice_client.get(LIST).content.decode()
    response = alice_client.post(f"{LIST}{api_key.pk}/revoke/")
    assert response.status_code == 302
    api_key.refresh_from_db()
    assert api_key.revoked_at is not None


def test_it_rejects_the_outsider(acme, charlie_client):
    api_key, _ = api_key_create(tenant=acme, name="acme key")
    assert charlie_client.get(LIST).status_code == 404
    assert charlie_client.post(f"{LIST}{api_key.pk}/revoke/").status_code == 404
    api_key.refresh_from_db()
    assert api_key.revoked_at is None


def test_a_viewer_cannot_see_or_change_keys(acme, bob_client):
    api_key, _ = api_key_create(tenant=acme, name="acme key")
    assert bob_client.get(LIST).status_code == 403
    assert (
        bob_client.post(
            f"{LIST}create/", {"name": "x", "mode": "live", "preset": "full_access"}
        ).status_code
        == 403
    )
    assert (
        bob_client.post(f"{LIST}{api_key.pk}/rotate/", {"grace_period_hours": "0"}).status_code
        == 403
    )
    assert bob_client.post(f"{LIST}{api_key.pk}/revoke/").status_code == 403
    assert ApiKey.objects.count() == 1
    api_key.refresh_from_db()
    assert api_key.revoked_at is None


def test_another_workspaces_key_cannot_be_touched(acme, globex, alice_client):
    other, _ = api_key_create(tenant=globex, name="globex key")
    assert alice_client.post(f"{LIST}{other.pk}/revoke/").status_code == 404
    assert (
        alice_client.post(f"{LIST}{other.pk}/rotate/", {"grace_period_hours": "0"}).status_code
        == 404
    )


def test_key_changes_appear_in_the_audit_log_with_who_and_where(acme, alice_client):
    alice_client.post(
        f"{LIST}create/",
        {"name": "Audited", "mode": "live", "preset": "read_only"},
        REMOTE_ADDR="192.0.2.44",
    )
    api_key = ApiKey.objects.get(name="Audited")
    alice_client.post(f"{LIST}{api_key.pk}/revoke/", REMOTE_ADDR="192.0.2.44")
    html = alice_client.get("/acme/settings/audit-log/").content.decode()
    assert "api_key.created" in html and "api_key.revoked" in html
    assert "alice@acme.test" in html
    assert "192.0.2.44" in html
    assert api_key.prefix in html
