"""One Redis client per process for the API's counters, idempotency entries and key usage.

redis-py clients are thread-safe and pool their connections, so one is shared.
"""

from __future__ import annotations

import functools

import redis
from django.conf import settings


@functools.cache
def _client_for(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)


def redis_client() -> redis.Redis:
    # Keyed by URL so tests that switch REDIS_URL get a client for it.
    return _client_for(settings.REDIS_URL)
