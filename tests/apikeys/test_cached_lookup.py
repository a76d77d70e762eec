"""The public API's cached key lookup: a known key costs no query, and every change to it or
to its workspace is seen on the next request, in every process (apps.apikeys.stamps)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.api.redis import redis_client
from apps.apikeys import selectors
from apps.apikeys.models import ApiKey
from apps.apikeys.services import api_key_revoke, api_key_rotate, hash_secret
from apps.apikeys.stamps import stamp_key_for
from tests.api.test_core import assert_envelope

ME = "/api/v1/public/me"


@pytest.fixture(autouse=True)
def empty_cache():
    selectors._cache.clear()
    yield
    selectors._cache.clear()


def test_a_known_key_is_answered_without_a_query(acme, api_client):
    client = api_client(acme)
    assert client.get(ME).status_code == 200
    with CaptureQueriesContext(connection) as queries:
        assert client.get(ME).status_code == 200
    assert len(queries) == 0


def test_a_change_another_process_made_is_seen_on_the_next_request(acme, api_client):
    client = api_client(acme)
    assert client.get(ME).status_code == 200
    # Another web process revokes the key: its row changes and the stamp goes from Redis.
    # (An update() sends no signal, so this process learns of it only through Redis.)
    ApiKey.objects.filter(pk=client.api_key.pk).update(revoked_at=timezone.now())
    redis_client().delete(stamp_key_for(client.api_key.key_hash))
    assert_envelope(client.get(ME), 401, "invalid_api_key")


def test_a_stale_copy_counts_the_request_once(acme, api_client):
    client = api_client(acme)
    assert client.get(ME)["X-RateLimit-Remaining"] == "999"
    redis_client().delete(stamp_key_for(client.api_key.key_hash))
    with CaptureQueriesContext(connection) as queries:
        response = client.get(ME)
    assert response["X-RateLimit-Remaining"] == "998"
    assert len(queries) == 1, [q["sql"] for q in queries]  # read again once


def test_revoking_deletes_the_stamp_of_both_secrets(acme, api_client):
    client = api_client(acme)
    key, new_secret = api_key_rotate(api_key=client.api_key, grace_period=timedelta(days=1))
    for secret in (client.secret, new_secret):
        selectors.api_key_lookup(key_hash=hash_secret(secret))
    stamps = [stamp_key_for(hash_secret(s)) for s in (client.secret, new_secret)]
    assert redis_client().exists(*stamps) == 2
    api_key_revoke(api_key=key)
    assert redis_client().exists(*stamps) == 0


def test_a_deactivated_workspace_is_refused_on_the_next_request(acme, api_client):
    client = api_client(acme)
    assert client.get(ME).status_code == 200
    acme.is_active = False
    acme.save()
    assert_envelope(client.get(ME), 401, "invalid_api_key")


def test_a_plan_change_applies_on_the_next_request(acme, api_client):
    client = api_client(acme)
    assert client.get(ME)["X-RateLimit-Limit"] == "1000"
    acme.plan = "enterprise"
    acme.custom_requests_per_minute = 5000
    acme.custom_requests_per_day = 500_000
    acme.save()
    assert client.get(ME)["X-RateLimit-Limit"] == "5000"


def test_a_refusal_is_decided_on_the_database_row(acme, api_client, settings):
    client = api_client(acme, ip_allowlist=["10.0.0.0/8"])
    assert_envelope(client.get(ME), 403, "ip_not_allowed")
    # The allowlist widened without a signal (and so without a stamp change): a cached copy
    # would still refuse, the database's row admits.
    ApiKey.objects.filter(pk=client.api_key.pk).update(ip_allowlist=[])
    assert client.get(ME).status_code == 200


def test_unknown_hashes_are_not_cached(db):
    lookup = selectors.api_key_lookup(key_hash=hash_secret("lk_sk_live_" + "0" * 40))
    assert lookup.api_key is None
    assert selectors._cache == {}


def test_what_one_request_changes_on_its_key_never_reaches_the_next(acme, api_client):
    client = api_client(acme)
    assert client.get(ME).status_code == 200
    first = selectors.api_key_lookup(key_hash=client.api_key.key_hash).api_key
    first.scopes.append("contacts:write")
    first.name = "changed"
    first.tenant.name = "changed"
    second = selectors.api_key_lookup(key_hash=client.api_key.key_hash).api_key
    assert second.scopes == client.api_key.scopes
    assert (second.name, second.tenant.name) == (client.api_key.name, acme.name)
    assert second.tenant is not first.tenant


def test_a_cached_copy_is_the_instance_the_orm_would_build(acme, api_client):
    client = api_client(acme)
    assert client.get(ME).status_code == 200
    copy = selectors.api_key_lookup(key_hash=client.api_key.key_hash).api_key
    fresh = ApiKey.objects.select_related("tenant").get(pk=client.api_key.pk)
    for model_copy, model_fresh in ((copy, fresh), (copy.tenant, fresh.tenant)):
        fields = model_fresh._meta.concrete_fields
        assert {f.attname: getattr(model_copy, f.attname) for f in fields} == {
            f.attname: getattr(model_fresh, f.attname) for f in fields
        }
        assert (model_copy._state.adding, model_copy._state.db) == (False, "default")
    assert copy.tenant_id == acme.pk
