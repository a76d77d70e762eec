"""Idempotency-Key: replay, isolation between keys, rotation, 5xx, length, concurrency."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest
from django.db import connection, connections
from rest_framework.test import APIClient

from apps.apikeys.models import ApiKey
from apps.apikeys.services import api_key_create, api_key_rotate
from apps.audit.models import AuditEntry
from apps.tenancy.models import Tenant
from tests.api import views
from tests.api.test_core import assert_envelope
from tests.api.views import PREFIX

pytestmark = pytest.mark.urls("tests.api.urls")


@pytest.fixture(autouse=True)
def reset_calls():
    views.calls.clear()
    views.slow_started.clear()
    views.slow_release.clear()


def new_key() -> str:
    return str(uuid.uuid4())


def echo(client, name: str, key: str | None):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return client.post(f"{PREFIX}/echo", {"name": name}, format="json", **headers)


def test_a_retry_replays_the_first_response_whatever_its_body(acme, api_client):
    client, key = api_client(acme), new_key()
    first = echo(client, "first", key)
    retry = echo(client, "second", key)
    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json() == {"echo": "first", "call": 1}
    assert retry["Idempotent-Replayed"] == "true"
    assert retry["Location"] == first["Location"]
    assert "Idempotent-Replayed" not in first
    assert views.calls["echo"] == 1


def test_without_the_header_every_request_runs(acme, api_client):
    client = api_client(acme)
    echo(client, "a", None)
    echo(client, "a", None)
    assert views.calls["echo"] == 2


def test_two_keys_never_share_an_entry(acme, api_client):
    key = new_key()
    one, two = api_client(acme), api_client(acme)
    assert echo(one, "one", key).json()["echo"] == "one"
    response = echo(two, "two", key)
    assert response.json()["echo"] == "two"
    assert "Idempotent-Replayed" not in response
    assert views.calls["echo"] == 2


def test_the_entry_survives_a_rotation_of_the_key(acme, api_client):
    client, key = api_client(acme), new_key()
    echo(client, "before", key)
    _, secret = api_key_rotate(api_key=client.api_key, grace_period=timedelta(0))
    rotated = APIClient()
    rotated.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    retry = echo(rotated, "after", key)
    assert retry.json()["echo"] == "before"
    assert retry["Idempotent-Replayed"] == "true"


def test_a_client_error_is_kept_and_replayed(acme, api_client):
    client, key = api_client(acme), new_key()
    first = echo(client, "x" * 50, key)
    assert_envelope(first, 422, "validation_error")
    retry = echo(client, "fine", key)
    assert retry.status_code == 422
    assert retry["Idempotent-Replayed"] == "true"
    assert retry.json() == first.json()


def test_a_5xx_is_not_kept(acme, api_client):
    client, key = api_client(acme), new_key()
    first = client.post(f"{PREFIX}/boom", {}, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert_envelope(first, 500, "internal_error")
    retry = client.post(f"{PREFIX}/boom", {}, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert retry.status_code == 201
    assert "Idempotent-Replayed" not in retry
    again = client.post(f"{PREFIX}/boom", {}, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert again["Idempotent-Replayed"] == "true"
    assert views.calls["boom"] == 2


def test_a_key_over_255_characters_is_a_400(acme, api_client):
    client = api_client(acme)
    assert echo(client, "ok", "k" * 255).status_code == 201
    body = assert_envelope(echo(client, "ok", "k" * 256), 400, "invalid_request")
    assert "255" in body["error"]["message"]
    assert views.calls["echo"] == 1


def test_reads_ignore_the_header(acme, api_client):
    client = api_client(acme)
    response = client.get("/api/v1/public/me", HTTP_IDEMPOTENCY_KEY="k" * 300)
    assert response.status_code == 200


def test_a_concurrent_retry_gets_409_and_the_work_runs_once(workspaces, django_db_blocker):
    """Two threads, two database connections, one committed key: the retry that arrives
    while the first request is still running is refused, and later replays its result."""
    key, results = new_key(), {}
    with django_db_blocker.unblock():
        acme = Tenant.objects.get(slug="acme")
        api_key, secret = api_key_create(tenant=acme, name="threads")

        def post(name: str) -> None:
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
            try:
                results[name] = client.post(
                    f"{PREFIX}/slow", {}, format="json", HTTP_IDEMPOTENCY_KEY=key
                )
            finally:
                connections.close_all()

        try:
            first = threading.Thread(target=post, args=("first",))
            first.start()
            assert views.slow_started.wait(timeout=10)
            retry = threading.Thread(target=post, args=("retry",))
            retry.start()
            retry.join(timeout=10)
            views.slow_release.set()
            first.join(timeout=10)
            post("replay")
        finally:
            views.slow_release.set()
            ApiKey.objects.filter(pk=api_key.pk).delete()
            connection.set_tenant(acme)
            AuditEntry.objects.filter(details__id=api_key.pk, action="api_key.created").delete()
            connection.set_schema_to_public()
    assert results["first"].status_code == 201
    assert_envelope(results["retry"], 409, "idempotency_in_progress")
    assert results["replay"].status_code == 201
    assert results["replay"]["Idempotent-Replayed"] == "true"
    assert results["replay"].json() == results["first"].json() == {"call": 1}
    assert views.calls["slow"] == 1


def test_a_key_reused_for_another_operation_is_409_not_the_first_response(acme, api_client):
    # Found by the API fuzzer: POST /sources replayed a stored POST /media response.
    client, key = api_client(acme), new_key()
    echo(client, "first", key)

    other = client.post(f"{PREFIX}/scoped", {}, format="json", HTTP_IDEMPOTENCY_KEY=key)

    assert other.status_code == 409
    assert other.json()["error"]["code"] == "conflict"
    assert other.json()["error"]["details"]["first_request"] == f"POST {PREFIX}/echo"
    assert "Idempotent-Replayed" not in other
