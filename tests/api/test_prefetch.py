"""The rate-limit count sent as a public API request comes in, before its view runs
(apps.api.middleware.RateLimitPrefetchMiddleware)."""

from __future__ import annotations

import pytest

from apps.api import ratelimit
from apps.apikeys import selectors
from tests.api.test_core import assert_envelope

ME = "/api/v1/public/me"


@pytest.fixture(autouse=True)
def empty_cache():
    selectors._cache.clear()
    yield
    selectors._cache.clear()


@pytest.fixture
def counts_sent(monkeypatch):
    """How many rate-limit counts were sent to Redis."""
    sent = []
    original = ratelimit.rate_limit_start

    def spy(**kwargs):
        sent.append(kwargs)
        return original(**kwargs)

    monkeypatch.setattr(ratelimit, "rate_limit_start", spy)
    monkeypatch.setattr("apps.api.authentication.rate_limit_start", spy)
    return sent


def test_a_key_this_process_holds_is_counted_before_the_view_and_only_once(
    acme, api_client, counts_sent
):
    client = api_client(acme)
    assert client.get(ME)["X-RateLimit-Remaining"] == "999"  # read from the database
    response = client.get(ME)
    assert response.status_code == 200
    assert response["X-RateLimit-Remaining"] == "998"
    assert response.wsgi_request.prefetched_admission.consumed
    assert len(counts_sent) == 2


def test_a_key_this_process_does_not_hold_is_counted_by_the_view(acme, api_client):
    response = api_client(acme).get(ME)
    assert response.status_code == 200
    assert response.wsgi_request.prefetched_admission is None
    assert response["X-RateLimit-Remaining"] == "999"


def test_an_unknown_path_is_counted_and_carries_the_headers(acme, api_client):
    client = api_client(acme)
    client.get(ME)
    response = client.get("/api/v1/public/no-such-thing")
    assert_envelope(response, 404, "not_found")
    assert response["X-RateLimit-Remaining"] == "998"
    # The connection's replies are still in step with its requests.
    assert client.get(ME)["X-RateLimit-Remaining"] == "997"


def test_a_copy_that_would_refuse_sends_nothing_early(acme, api_client, counts_sent):
    client = api_client(acme, ip_allowlist=["192.0.2.0/24"])
    assert_envelope(client.get(ME), 403, "ip_not_allowed")
    assert selectors.api_key_cached_lookup(key_hash=client.api_key.key_hash) is not None
    response = client.get(ME)
    assert_envelope(response, 403, "ip_not_allowed")
    assert response.wsgi_request.prefetched_admission is None
    assert counts_sent == []


def test_the_dashboard_is_not_counted(alice_client, counts_sent):
    assert alice_client.get("/").status_code in (200, 302)
    assert counts_sent == []
