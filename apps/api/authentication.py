"""API-key authentication for the public API, with the tenant's rate limit.

A request costs one round trip to Redis and, usually, none to PostgreSQL: each process keeps a
copy of the keys it has seen, and the rate-limit script checks that the copy's stamp is still
in Redis before it counts (apps.apikeys.stamps). Any change to a key deletes its stamps, so a
revoked or rotated-out key is refused on its very next request in every web process. A copy
that is stale, or that would refuse the request, is read again from the database, and the
database decides: a refusal is never based on a cached copy. `last_used_at` goes to Redis,
not to the database, in the same round trip.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db import connection
from django.http import HttpRequest
from django.utils import timezone
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from apps.api.errors import WWW_AUTHENTICATE, ErrorCode
from apps.api.network import client_ip, ip_allowed
from apps.api.ratelimit import PendingRateLimit, rate_limit_start
from apps.apikeys.models import ApiKey
from apps.apikeys.selectors import ApiKeyLookup, api_key_cached_lookup, api_key_lookup
from apps.apikeys.services import hash_secret
from apps.core.errors import ApplicationError

# Where RateLimitPrefetchMiddleware leaves its PrefetchedAdmission on the request.
PREFETCH_ATTRIBUTE = "prefetched_admission"
SECRET_PATTERN = re.compile(r"^lk_sk_(live|test)_[0-9a-f]{40}$")


class ApiKeyRejected(ApplicationError):
    status = 401
    code = ErrorCode.INVALID_API_KEY


@dataclass(frozen=True)
class ApiKeyPrincipal:
    """What `request.user` is on the public API: no person, the key acting for its tenant.
    Services that record an actor get `None` from `actor_for(request)`."""

    api_key: ApiKey
    is_authenticated: bool = True
    is_anonymous: bool = False
    is_active: bool = True
    pk: None = None

    def __str__(self) -> str:
        return f"API key {self.api_key.prefix}"


def key_hash_from_header(header: str) -> str:
    """The hash of the bearer secret in an `Authorization` header; a 401 if there is none or
    it is malformed."""
    scheme, _, secret = header.strip().partition(" ")
    if not header.strip() or scheme.lower() != "bearer":
        raise ApplicationError(
            "Send your API key as `Authorization: Bearer lk_sk_...`.",
            code=ErrorCode.AUTHENTICATION_REQUIRED,
            status=401,
        )
    secret = secret.strip()
    if not SECRET_PATTERN.match(secret):
        raise ApiKeyRejected(
            "Malformed API key: expected lk_sk_live_ or lk_sk_test_ and 40 hex digits."
        )
    return hash_secret(secret)


def refusal(api_key: ApiKey | None, key_hash: str, request: HttpRequest) -> ApplicationError | None:
    """Why this key may not make this request, or None if it may."""
    if api_key is None or not api_key.tenant.is_active:
        return ApiKeyRejected("Unknown API key.")
    now = timezone.now()
    if api_key.revoked_at is not None:
        return ApiKeyRejected("This API key was revoked.")
    if api_key.expires_at is not None and api_key.expires_at <= now:
        return ApiKeyRejected("This API key has expired.")
    if api_key.key_hash != key_hash and not (
        api_key.previous_key_expires_at and api_key.previous_key_expires_at > now
    ):
        return ApiKeyRejected("This API key was rotated and its grace period has ended.")
    if api_key.ip_allowlist:
        address = client_ip(request)
        if not ip_allowed(address, api_key.ip_allowlist):
            return ApplicationError(
                f"Requests from {address or 'this address'} are not allowed for this key.",
                code=ErrorCode.IP_NOT_ALLOWED,
                status=403,
            )
    return None


@dataclass
class PrefetchedAdmission:
    """A request's rate-limit count, sent to Redis before the view runs (see
    apps.api.middleware.RateLimitPrefetchMiddleware) for a key this process holds a copy of
    that would admit the request."""

    key_hash: str
    lookup: ApiKeyLookup
    pending: PendingRateLimit
    consumed: bool = False


def prefetch_admission(request: HttpRequest) -> PrefetchedAdmission | None:
    try:
        key_hash = key_hash_from_header(request.META.get("HTTP_AUTHORIZATION", ""))
    except ApplicationError:
        return None  # the view answers it
    lookup = api_key_cached_lookup(key_hash=key_hash)
    if lookup is None or refusal(lookup.api_key, key_hash, request) is not None:
        return None
    return PrefetchedAdmission(key_hash, lookup, _count(lookup))


def _count(lookup: ApiKeyLookup) -> PendingRateLimit:
    api_key = lookup.api_key
    return rate_limit_start(
        tenant=api_key.tenant,
        api_key_id=api_key.pk,
        stamp=(lookup.stamp_key, lookup.stamp) if lookup.cached else None,
    )


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate_header(self, request: Request) -> str:
        return WWW_AUTHENTICATE

    def authenticate(self, request: Request) -> tuple[ApiKeyPrincipal, ApiKey]:
        key_hash = key_hash_from_header(request.META.get("HTTP_AUTHORIZATION", ""))
        prefetched = getattr(request._request, PREFETCH_ATTRIBUTE, None)
        try:
            if prefetched is not None and prefetched.key_hash == key_hash:
                prefetched.consumed = True
                return self._admit(request, prefetched.lookup.api_key, prefetched.pending)
            lookup = api_key_lookup(key_hash=key_hash)
            if lookup.api_key is not None:
                return self._check_and_admit(request, lookup, key_hash)
        except (ApplicationError, _StaleCopy):
            pass  # decided again below, on the database's row
        fresh = api_key_lookup(key_hash=key_hash, fresh=True)
        return self._check_and_admit(request, fresh, key_hash)

    def _check_and_admit(
        self, request: Request, lookup: ApiKeyLookup, key_hash: str
    ) -> tuple[ApiKeyPrincipal, ApiKey]:
        refused = refusal(lookup.api_key, key_hash, request._request)
        if refused is not None:
            raise refused
        # Counted as soon as the key is known to be good, so that 403s and 404s carry the
        # headers too; the view turns a refusal into the 429.
        return self._admit(request, lookup.api_key, _count(lookup))

    def _admit(
        self, request: Request, api_key: ApiKey, pending: PendingRateLimit
    ) -> tuple[ApiKeyPrincipal, ApiKey]:
        rate_limit = pending.result()
        if rate_limit is None:
            raise _StaleCopy
        connection.set_tenant(api_key.tenant)
        request.tenant = api_key.tenant
        request._request.tenant = api_key.tenant
        request.rate_limit = rate_limit
        return ApiKeyPrincipal(api_key=api_key), api_key


class _StaleCopy(Exception):
    """The cached key changed since it was read; read it again."""


def actor_for(request: Request):
    """The person to record as the actor of a change: the logged-in user on dashboard paths,
    nobody (None) when an API key made the request."""
    user = getattr(request, "user", None)
    if user is None or isinstance(user, ApiKeyPrincipal) or not user.is_authenticated:
        return None
    return user
