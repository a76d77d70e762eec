"""API key rules: secrets, validation, rotation, revocation, last use."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import schema_context

from apps.api.redis import redis_client
from apps.apikeys.models import ApiKey
from apps.apikeys.selectors import api_key_with_fresh_last_used
from apps.apikeys.services import (
    LAST_USED_KEY,
    api_key_create,
    api_key_flush_last_used,
    api_key_revoke,
    api_key_rotate,
    api_key_update,
    hash_secret,
)
from apps.apikeys.tasks import flush_api_key_last_used
from apps.audit.models import AuditEntry
from apps.core.errors import Conflict, ValidationFailed


@pytest.fixture(autouse=True)
def no_pending_uses():
    redis_client().delete(LAST_USED_KEY)


def test_a_secret_is_shown_once_and_stored_as_its_hash(acme):
    api_key, secret = api_key_create(tenant=acme, name="k", mode="live")
    assert re.fullmatch(r"lk_sk_live_[0-9a-f]{40}", secret)
    assert api_key.key_hash == hash_secret(secret)
    assert api_key.prefix == secret[:19]
    stored = ApiKey.objects.filter(pk=api_key.pk).values()[0]
    assert secret not in str(stored)


def test_test_keys_have_the_test_prefix(acme):
    _, secret = api_key_create(tenant=acme, name="k", mode="test")
    assert secret.startswith("lk_sk_test_")


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"name": " "}, "name"),
        ({"name": "k", "scopes": ["contacts:read", "everything"]}, "scopes"),
        ({"name": "k", "ip_allowlist": ["10.0.0.300"]}, "ip_allowlist"),
        ({"name": "k", "mode": "prod"}, "mode"),
        ({"name": "k", "expires_at": timezone.now() - timedelta(minutes=1)}, "expires_at"),
    ],
)
def test_invalid_input_is_refused_by_field(acme, kwargs, field):
    with pytest.raises(ValidationFailed) as error:
        api_key_create(tenant=acme, **kwargs)
    assert error.value.field == field


def test_scopes_are_deduplicated_in_canonical_order(acme):
    api_key, _ = api_key_create(
        tenant=acme, name="k", scopes=["media:read", "contacts:read", "media:read"]
    )
    assert api_key.scopes == ["contacts:read", "media:read"]


def test_an_update_changes_only_what_is_given_and_is_audited(acme, alice):
    api_key, _ = api_key_create(tenant=acme, name="k", scopes=["contacts:read"])
    api_key_update(api_key=api_key, actor=alice, ip_allowlist=["2001:db8::1"])
    api_key.refresh_from_db()
    assert api_key.scopes == ["contacts:read"]
    assert api_key.ip_allowlist == ["2001:db8::1/128"]
    with schema_context("acme"):
        entry = AuditEntry.objects.get(action="api_key.updated")
    assert entry.actor_email == alice.email
    assert entry.details["changed"] == {"ip_allowlist": ["2001:db8::1/128"]}


def test_a_revoked_key_cannot_be_changed_or_rotated(acme):
    api_key, _ = api_key_create(tenant=acme, name="k")
    api_key_revoke(api_key=api_key)
    with pytest.raises(Conflict):
        api_key_update(api_key=api_key, name="again")
    with pytest.raises(Conflict):
        api_key_rotate(api_key=api_key, grace_period=timedelta(0))


@pytest.mark.parametrize("grace", [timedelta(days=7, seconds=1), timedelta(seconds=-1)])
def test_the_grace_period_is_0_to_7_days(acme, grace):
    api_key, _ = api_key_create(tenant=acme, name="k")
    with pytest.raises(ValidationFailed):
        api_key_rotate(api_key=api_key, grace_period=grace)


def test_a_second_rotation_ends_the_first_grace_period(acme):
    api_key, first = api_key_create(tenant=acme, name="k")
    api_key, second = api_key_rotate(api_key=api_key, grace_period=timedelta(days=7))
    api_key, third = api_key_rotate(api_key=api_key, grace_period=timedelta(days=1))
    assert api_key.key_hash == hash_secret(third)
    assert api_key.previous_key_hash == hash_secret(second)
    assert not ApiKey.objects.filter(key_hash=hash_secret(first)).exists()
    assert not ApiKey.objects.filter(previous_key_hash=hash_secret(first)).exists()


def test_revoking_also_ends_a_grace_period(acme):
    api_key, _ = api_key_create(tenant=acme, name="k")
    api_key, _ = api_key_rotate(api_key=api_key, grace_period=timedelta(days=1))
    api_key = api_key_revoke(api_key=api_key)
    assert api_key.previous_key_hash is None


def test_requests_record_last_use_without_a_database_write(acme, api_client):
    client = api_client(acme)
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/api/v1/public/me").status_code == 200
    writes = [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith("UPDATE")]
    assert writes == []
    assert len(queries) <= 2
    client.api_key.refresh_from_db()
    assert client.api_key.last_used_at is None
    # The pages show it already...
    [fresh] = api_key_with_fresh_last_used([client.api_key])
    assert fresh.last_used_at is not None
    # ...and the beat task writes it down.
    assert flush_api_key_last_used() == 1
    client.api_key.refresh_from_db()
    assert abs(client.api_key.last_used_at - timezone.now()) < timedelta(minutes=1)
    assert api_key_flush_last_used() == 0


def test_a_flush_never_moves_last_use_backwards(acme):
    api_key, _ = api_key_create(tenant=acme, name="k")
    ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=timezone.now())
    redis_client().hset(LAST_USED_KEY, str(api_key.pk), "1000000000")
    assert api_key_flush_last_used() == 0
    api_key.refresh_from_db()
    assert api_key.last_used_at.year >= 2026


def test_the_flush_is_scheduled_in_beat(settings):
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "apps.apikeys.tasks.flush_api_key_last_used" in tasks
