"""Per-tenant rate limits: a per-minute and a per-day budget, both checked and counted in one
Redis round trip.

A Lua script reads both fixed-window counters and increments them only if neither is spent, so
the two windows never disagree (DRF's throttles and the `limits` library check them one by
one) and a rejected request uses no quota. Windows are aligned to the clock (minute, UTC day),
so every web process agrees on them. The plan table is apps/tenancy/plans.py.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from apps.api.errors import ErrorCode
from apps.api.redis import ScriptCall
from apps.apikeys.services import LAST_USED_KEY
from apps.core.errors import ApplicationError
from apps.tenancy.models import Tenant
from apps.tenancy.plans import PlanLimits

_SCRIPT = """
local minute = tonumber(redis.call('GET', KEYS[1]) or '0')
local day = tonumber(redis.call('GET', KEYS[2]) or '0')
if minute >= tonumber(ARGV[1]) or day >= tonumber(ARGV[2]) then
  return {0, minute, day}
end
minute = redis.call('INCR', KEYS[1])
if minute == 1 then redis.call('EXPIRE', KEYS[1], ARGV[3]) end
day = redis.call('INCR', KEYS[2])
if day == 1 then redis.call('EXPIRE', KEYS[2], ARGV[4]) end
return {1, minute, day}
"""
# The API key's last use rides in the same round trip (refused requests are uses too), and
# so does the check that the caller's copy of the key is current (apps.apikeys.stamps): when
# its stamp is gone, nothing is counted or recorded and the caller reads the key again.
_SCRIPT = (
    """
if ARGV[7] ~= '' and redis.call('GET', KEYS[4]) ~= ARGV[7] then return {-1, 0, 0} end
if ARGV[5] ~= '' then redis.call('HSET', KEYS[3], ARGV[5], ARGV[6]) end
"""
    + _SCRIPT
)

MINUTE = 60
DAY = 86_400


def now() -> float:
    """The clock the windows follow (a function so tests can move it)."""
    return time.time()


@dataclass(frozen=True)
class Window:
    name: str
    limit: int
    used: int
    seconds: int
    reset: int  # seconds until this window starts over

    @property
    def remaining(self) -> int:
        return max(self.limit - self.used, 0)


@dataclass(frozen=True)
class RateLimitResult:
    allowed: bool
    windows: tuple[Window, ...]

    @property
    def binding(self) -> Window:
        """The window closest to running out; when rejected, the spent window that frees up
        last (the one a client must wait for)."""
        if not self.allowed:
            spent = [w for w in self.windows if w.remaining == 0]
            return max(spent, key=lambda w: w.reset)
        return min(self.windows, key=lambda w: (w.remaining, -w.reset))

    def headers(self) -> dict[str, str]:
        window = self.binding
        headers = {
            "X-RateLimit-Limit": str(window.limit),
            "X-RateLimit-Remaining": str(window.remaining),
            "X-RateLimit-Reset": str(window.reset),
            # draft-ietf-httpapi-ratelimit-headers: every policy, and what is left of each.
            "RateLimit-Policy": ", ".join(
                f'"{w.name}";q={w.limit};w={w.seconds}' for w in self.windows
            ),
            "RateLimit": ", ".join(f'"{w.name}";r={w.remaining};t={w.reset}' for w in self.windows),
        }
        if not self.allowed:
            headers["Retry-After"] = str(window.reset)
        return headers


class RateLimited(ApplicationError):
    status = 429
    code = ErrorCode.RATE_LIMITED


def rate_limit_hit(
    *, tenant: Tenant, api_key_id: int | None = None, stamp: tuple[str, str] | None = None
) -> RateLimitResult | None:
    """Count one request for the tenant if both budgets allow it, and record the API key's
    last use (see apps.apikeys.services.api_key_flush_last_used), in one Redis round trip.

    With `stamp` (its Redis key and the value the caller's cached key was read under), first
    check that the copy is still current; None means it is not, and nothing was counted."""
    return rate_limit_start(tenant=tenant, api_key_id=api_key_id, stamp=stamp).result()


class PendingRateLimit:
    """A count sent to Redis whose answer is read by `result()`."""

    def __init__(self, call: ScriptCall, limits: PlanLimits, minute_reset: int, day_reset: int):
        self._call, self._limits = call, limits
        self._resets = (minute_reset, day_reset)

    def result(self) -> RateLimitResult | None:
        allowed, minute_used, day_used = self._call.reply()
        if allowed == -1:
            return None
        limits, (minute_reset, day_reset) = self._limits, self._resets
        per_minute, per_day = limits.requests_per_minute, limits.requests_per_day
        minute = Window("minute", per_minute, int(minute_used), MINUTE, minute_reset)
        day = Window("day", per_day, int(day_used), DAY, day_reset)
        return RateLimitResult(allowed=bool(allowed), windows=(minute, day))


def rate_limit_start(
    *, tenant: Tenant, api_key_id: int | None = None, stamp: tuple[str, str] | None = None
) -> PendingRateLimit:
    """`rate_limit_hit`, sent now and answered later (see PendingRateLimit.result)."""
    stamp_key, stamp_value = stamp or ("", "")
    limits = tenant.limits
    current = now()
    minute_index, day_index = int(current // MINUTE), int(current // DAY)
    minute_reset = max(math.ceil((minute_index + 1) * MINUTE - current), 1)
    day_reset = max(math.ceil((day_index + 1) * DAY - current), 1)
    call = ScriptCall(
        _SCRIPT,
        keys=[
            f"ratelimit:{tenant.pk}:m:{minute_index}",
            f"ratelimit:{tenant.pk}:d:{day_index}",
            LAST_USED_KEY,
            stamp_key or f"ratelimit:{tenant.pk}:nostamp",
        ],
        args=[
            limits.requests_per_minute,
            limits.requests_per_day,
            minute_reset + 1,
            day_reset + 1,
            "" if api_key_id is None else api_key_id,
            f"{current:.3f}",
            stamp_value,
        ],
    )
    return PendingRateLimit(call, limits, minute_reset, day_reset)


def rate_limited_error(result: RateLimitResult) -> RateLimited:
    """The 429 for a refused request (the headers come from `result.headers()`)."""
    window = result.binding
    return RateLimited(
        f"Rate limit of {window.limit} requests per {window.name} reached; "
        f"retry in {window.reset} s.",
        details={"limit": window.limit, "window": window.name, "retry_after": window.reset},
    )
