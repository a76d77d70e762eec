"""Per-tenant rate limits: both windows, headers on every response, 429 at the limit."""

from __future__ import annotations

import pytest

from apps.api import ratelimit
from apps.tenancy.plans import Plan
from tests.api.test_core import assert_envelope
from tests.api.views import scoped_api_call

pytestmark = pytest.mark.urls("tests.api.urls")


@pytest.fixture
def enterprise(globex):
    def configure(per_minute: int, per_day: int):
        globex.plan = Plan.ENTERPRISE
        globex.custom_requests_per_minute = per_minute
        globex.custom_requests_per_day = per_day
        globex.save()
        return globex

    return configure


@pytest.fixture
def clock(monkeypatch):
    """A clock that the rate limiter reads and the test can move."""
    state = {"now": 1_800_000_000.0 + 12}  # 12 s into a minute, early in a UTC day

    monkeypatch.setattr(ratelimit, "now", lambda: state["now"])
    return state


def test_every_response_carries_the_rate_limit_headers(acme, api_client, clock):
    client = api_client(acme)
    first = client.get("/api/v1/public/me")
    second = client.get("/api/v1/public/me")
    assert first["X-RateLimit-Limit"] == "1000"
    assert first["X-RateLimit-Remaining"] == "999"
    assert second["X-RateLimit-Remaining"] == "998"
    assert first["X-RateLimit-Reset"] == "48"
    assert first["RateLimit-Policy"] == '"minute";q=1000;w=60, "day";q=100000;w=86400'
    assert second["RateLimit"].startswith('"minute";r=998;t=48, "day";r=99998;t=')


def test_error_responses_carry_them_too(acme, api_client, clock):
    response = scoped_api_call(api_client(acme, scopes=[]), "get")
    assert response.status_code == 403
    assert response["X-RateLimit-Remaining"] == "999"


def test_the_request_over_the_limit_gets_429_with_retry_after(enterprise, api_client, clock):
    client = api_client(enterprise(per_minute=3, per_day=100))
    for remaining in ("2", "1", "0"):
        assert client.get("/api/v1/public/me")["X-RateLimit-Remaining"] == remaining
    response = client.get("/api/v1/public/me")
    body = assert_envelope(response, 429, "rate_limited")
    assert response["Retry-After"] == "48"
    assert response["X-RateLimit-Limit"] == "3"
    assert response["X-RateLimit-Remaining"] == "0"
    assert body["error"]["details"] == {"limit": 3, "window": "minute", "retry_after": 48}


def test_the_minute_window_resets(enterprise, api_client, clock):
    client = api_client(enterprise(per_minute=2, per_day=100))
    client.get("/api/v1/public/me")
    client.get("/api/v1/public/me")
    assert client.get("/api/v1/public/me").status_code == 429
    clock["now"] += 48
    response = client.get("/api/v1/public/me")
    assert response.status_code == 200
    assert response["X-RateLimit-Remaining"] == "1"
    assert response["X-RateLimit-Reset"] == "60"


def test_rejected_requests_use_no_quota(enterprise, api_client, clock):
    client = api_client(enterprise(per_minute=2, per_day=4))
    statuses = [client.get("/api/v1/public/me").status_code for _ in range(5)]
    assert statuses == [200, 200, 429, 429, 429]
    clock["now"] += 60
    # Had the three refusals counted, the day budget (4) would be spent already.
    assert client.get("/api/v1/public/me").status_code == 200
    assert client.get("/api/v1/public/me").status_code == 200
    assert client.get("/api/v1/public/me").status_code == 429


def test_the_daily_window_applies_across_minutes(enterprise, api_client, clock):
    client = api_client(enterprise(per_minute=100, per_day=2))
    first = client.get("/api/v1/public/me")
    # The day window (1 left) is closer to running out than the minute (99 left).
    assert first["X-RateLimit-Limit"] == "2"
    assert first["X-RateLimit-Remaining"] == "1"
    second = client.get("/api/v1/public/me")
    assert second["X-RateLimit-Remaining"] == "0"
    clock["now"] += 600
    response = client.get("/api/v1/public/me")
    body = assert_envelope(response, 429, "rate_limited")
    assert body["error"]["details"]["window"] == "day"
    seconds_to_midnight = 86_400 - int(clock["now"] % 86_400)
    assert response["Retry-After"] == str(seconds_to_midnight)
    assert response["X-RateLimit-Reset"] == str(seconds_to_midnight)
    clock["now"] += seconds_to_midnight
    assert client.get("/api/v1/public/me").status_code == 200


def test_the_budget_is_per_tenant_not_per_key(enterprise, api_client, acme, clock):
    tenant = enterprise(per_minute=2, per_day=100)
    first, second = api_client(tenant), api_client(tenant)
    first.get("/api/v1/public/me")
    second.get("/api/v1/public/me")
    assert first.get("/api/v1/public/me").status_code == 429
    # Another tenant is not affected.
    assert api_client(acme).get("/api/v1/public/me").status_code == 200
