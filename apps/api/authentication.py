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
from django.utils import timezone
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from apps.api.errors import WWW_AUTHENTICATE, ErrorCode
from apps.api.network import client_ip, ip_allowed
from apps.api.ratelimit import rate_limit_hit
from apps.apikeys.models import ApiKey
from apps.apikeys.selectors import ApiKeyLookup, api_key_lookup
from apps.apikeys.services import hash_secret
from apps.core.errors import ApplicationError

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


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate_header(self, request: Request) -> str:
        return WWW_AUTHENTICATE

    def authenticate(self, request: Request) -> tuple[ApiKeyPrincipal, ApiKey]:
        header = request.META.get("HTTP_AUTHORIZATION", "")
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
        key_hash = hash_secret(secret)
        lookup = api_key_lookup(key_hash=key_hash)
        if lookup.api_key is not None:
            try:
                return self._admit(request, lookup, key_hash)
            except (ApplicationError, _StaleCopy):
                pass  # decided again below, on the database's row
        return self._admit(request, api_key_lookup(key_hash=key_hash, fresh=True), key_hash)

    def _admit(
        self, request: Request, lookup: ApiKeyLookup, key_hash: str
    ) -> tuple[ApiKeyPrincipal, ApiKey]:
        api_key = lookup.api_key
        if api_key is None or not api_key.tenant.is_active:
            raise ApiKeyRejected("Unknown API key.")
        now = timezone.now()
        if api_key.revoked_at is not None:
            raise ApiKeyRejected("This API key was revoked.")
        if api_key.expires_at is not None and api_key.expires_at <= now:
            raise ApiKeyRejected("This API key has expired.")
        if api_key.key_hash != key_hash and not (
            api_key.previous_key_expires_at and api_key.previous_key_expires_at > now
        ):
            raise ApiKeyRejected("This API key was rotated and its grace period has ended.")
        if api_key.ip_allowlist:
            address = client_ip(request._request)
            if not ip_allowed(address, api_key.ip_allowlist):
                raise ApplicationError(
                    f"Requests from {address or 'this address'} are not allowed for this key.",
                    code=ErrorCode.IP_NOT_ALLOWED,
                    status=403,
                )
        # Counted as soon as the key is known to be good, so that 403s and 404s carry the
        # headers too; the view turns a refusal into the 429.
        rate_limit = rate_limit_hit(
            tenant=api_key.tenant,
            api_key_id=api_key.pk,
            stamp=(lookup.stamp_key, lookup.stamp) if lookup.cached else None,
        )
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
