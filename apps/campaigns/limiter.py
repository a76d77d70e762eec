"""A throughput limiter shared by every worker: a Redis GCRA schedule per WhatsApp account.

The key holds the moment (Redis clock, microseconds) the next send may start. Reserving `n`
sends moves it on by n / rate and returns when the first of them may go; the caller spaces
the rest 1 / rate apart. Two workers reserving at once get consecutive, non-overlapping slots,
so together they never exceed the account's messages per second. `backoff` pushes the
schedule out for every worker (Meta's 130429: slow down, do not fail).
"""

from __future__ import annotations

from dataclasses import dataclass

from apps.api.redis import redis_client

KEY = "campaigns:throughput:{account}"

# Returns the wait in microseconds before the first reserved slot. ARGV: n, interval_us.
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local n = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local next_ = tat + n * interval
redis.call('SET', KEYS[1], tostring(next_), 'PX', math.ceil((next_ - now) / 1000) + 1000)
return tat - now
"""

_BACKOFF = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
local until_ = now + tonumber(ARGV[1])
if tat < until_ then
  redis.call('SET', KEYS[1], tostring(until_), 'PX', math.ceil(tonumber(ARGV[1]) / 1000) + 1000)
end
return 1
"""


@dataclass(frozen=True)
class Reservation:
    wait: float  # seconds until the first slot
    interval: float  # seconds between slots

    def offset(self, index: int) -> float:
        return self.wait + index * self.interval


class ThroughputLimiter:
    def __init__(self, *, account_id: str, per_second: float) -> None:
        self.key = KEY.format(account=account_id)
        self.per_second = per_second
        self.interval_us = int(1_000_000 / per_second) if per_second else 0
        client = redis_client()
        self._reserve = client.register_script(_RESERVE)
        self._backoff = client.register_script(_BACKOFF)

    def reserve(self, n: int) -> Reservation:
        if not self.interval_us or n <= 0:
            return Reservation(0.0, 0.0)
        wait_us = int(self._reserve(keys=[self.key], args=[n, self.interval_us]))
        return Reservation(wait_us / 1_000_000, self.interval_us / 1_000_000)

    def backoff(self, seconds: float) -> None:
        self._backoff(keys=[self.key], args=[int(seconds * 1_000_000)])
