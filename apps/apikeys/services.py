"""API keys: creation, changes, rotation and revocation.

Rules owned here:
- a secret is `lk_sk_live_` or `lk_sk_test_` + 40 lowercase hex from `secrets`; only its
  SHA-256 is stored and the secret is returned once, by the service that made it;
- scopes come from `apps.apikeys.scopes.ALL_SCOPES`; a key may have none (it can still call
  scope-free endpoints such as `GET /me`);
- the IP allowlist holds valid IPv4/IPv6 CIDRs (a bare address means that one address);
- a rotation issues a new secret and keeps the old one valid for a grace period of 0 to 7 days;
- a revoked key stops working on the next request: web processes cache keys, but every request
  checks its copy's stamp in Redis and every change deletes the stamps (apps.apikeys.stamps);
- `last_used_at` is kept in Redis per request and written to the database by a periodic task;
- every change is written to the workspace's audit log.
"""

from __future__ import annotations

import hashlib
import ipaddress
import secrets
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from apps.api.redis import redis_client
from apps.apikeys.models import ApiKey, ApiKeyMode
from apps.apikeys.scopes import ALL_SCOPES
from apps.audit.services import audit_record
from apps.core.errors import Conflict, ValidationFailed

if TYPE_CHECKING:
    from apps.accounts.models import User
    from apps.tenancy.models import Tenant

SECRET_PREFIXES = {ApiKeyMode.LIVE: "lk_sk_live_", ApiKeyMode.TEST: "lk_sk_test_"}
MAX_ROTATION_GRACE = timedelta(days=7)
# Redis hash of api key id -> unix time of its last request, written by the public API's
# rate-limit script (apps.api.ratelimit) and drained by api_key_flush_last_used.
LAST_USED_KEY = "apikeys:last_used"


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _new_secret(mode: str) -> str:
    return SECRET_PREFIXES[ApiKeyMode(mode)] + secrets.token_hex(20)


def _display_prefix(secret: str) -> str:
    # The mode prefix and the first 8 hex digits: enough to tell keys apart, useless to guess.
    return secret[: len("lk_sk_live_") + 8]


def _clean_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationFailed("Give the key a name.", field="name")
    if len(name) > 100:
        raise ValidationFailed("A key name is at most 100 characters.", field="name")
    return name


def _clean_scopes(scopes: Iterable[str]) -> list[str]:
    scopes = list(dict.fromkeys(s.strip() for s in scopes if s and s.strip()))
    unknown = [s for s in scopes if s not in ALL_SCOPES]
    if unknown:
        raise ValidationFailed(f"Unknown scope: {', '.join(unknown)}.", field="scopes")
    # Keep the canonical order so the same set always reads the same.
    return [s for s in ALL_SCOPES if s in scopes]


def _clean_ip_allowlist(entries: Iterable[str]) -> list[str]:
    networks = []
    for entry in entries:
        entry = (entry or "").strip()
        if not entry:
            continue
        try:
            network = ipaddress.ip_network(entry, strict=False)
        except ValueError as error:
            raise ValidationFailed(
                f"“{entry}” is not an IP address or CIDR range.", field="ip_allowlist"
            ) from error
        networks.append(str(network))
    return list(dict.fromkeys(networks))


def _clean_mode(mode: str) -> str:
    if mode not in ApiKeyMode.values:
        raise ValidationFailed("Mode is live or test.", field="mode")
    return mode


def _clean_expiry(expires_at: datetime | None) -> datetime | None:
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationFailed("The expiry date must be in the future.", field="expires_at")
    return expires_at


def _ensure_usable(api_key: ApiKey) -> None:
    if api_key.is_revoked:
        raise Conflict("This key is revoked.", code="api_key_revoked")


@transaction.atomic
def api_key_create(
    *,
    tenant: Tenant,
    name: str,
    scopes: Iterable[str] = (),
    mode: str = ApiKeyMode.LIVE,
    ip_allowlist: Iterable[str] = (),
    expires_at: datetime | None = None,
    actor: User | None = None,
) -> tuple[ApiKey, str]:
    """Create a key and return it with its secret, which is never available again."""
    mode = _clean_mode(mode)
    secret = _new_secret(mode)
    api_key = ApiKey.objects.create(
        tenant=tenant,
        name=_clean_name(name),
        prefix=_display_prefix(secret),
        key_hash=hash_secret(secret),
        mode=mode,
        scopes=_clean_scopes(scopes),
        ip_allowlist=_clean_ip_allowlist(ip_allowlist),
        expires_at=_clean_expiry(expires_at),
        created_by=actor,
    )
    audit_record(
        tenant=tenant,
        actor=actor,
        action="api_key.created",
        target=f"{api_key.name} ({api_key.prefix})",
        details={"id": api_key.pk, "mode": mode, "scopes": api_key.scopes},
    )
    return api_key, secret


_UNSET = object()


@transaction.atomic
def api_key_update(
    *,
    api_key: ApiKey,
    actor: User | None = None,
    name: str | None = None,
    scopes: Iterable[str] | None = None,
    ip_allowlist: Iterable[str] | None = None,
    expires_at: datetime | None | object = _UNSET,
) -> ApiKey:
    """Change what a key may do. Arguments left out keep their value; `expires_at=None`
    removes the expiry."""
    api_key = ApiKey.objects.select_for_update().get(pk=api_key.pk)
    _ensure_usable(api_key)
    changes: dict[str, object] = {}
    if name is not None:
        changes["name"] = _clean_name(name)
    if scopes is not None:
        changes["scopes"] = _clean_scopes(scopes)
    if ip_allowlist is not None:
        changes["ip_allowlist"] = _clean_ip_allowlist(ip_allowlist)
    if expires_at is not _UNSET:
        changes["expires_at"] = _clean_expiry(expires_at)  # type: ignore[arg-type]
    changed = {k: v for k, v in changes.items() if getattr(api_key, k) != v}
    if not changed:
        return api_key
    for field, value in changed.items():
        setattr(api_key, field, value)
    api_key.save(update_fields=[*changed, "updated_at"])
    audit_record(
        tenant=api_key.tenant,
        actor=actor,
        action="api_key.updated",
        target=f"{api_key.name} ({api_key.prefix})",
        details={
            "id": api_key.pk,
            "changed": {
                k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in changed.items()
            },
        },
    )
    return api_key


@transaction.atomic
def api_key_rotate(
    *, api_key: ApiKey, grace_period: timedelta, actor: User | None = None
) -> tuple[ApiKey, str]:
    """Issue a new secret. The current one keeps working for `grace_period` (0 to 7 days); a
    secret still in an earlier grace period stops at once, since only one old secret is kept."""
    if grace_period < timedelta(0) or grace_period > MAX_ROTATION_GRACE:
        raise ValidationFailed("The grace period is between 0 and 7 days.", field="grace_period")
    api_key = ApiKey.objects.select_for_update().get(pk=api_key.pk)
    _ensure_usable(api_key)
    now = timezone.now()
    secret = _new_secret(api_key.mode)
    old_prefix = api_key.prefix
    if grace_period > timedelta(0):
        api_key.previous_key_hash = api_key.key_hash
        api_key.previous_key_expires_at = now + grace_period
    else:
        api_key.previous_key_hash = None
        api_key.previous_key_expires_at = None
    api_key.key_hash = hash_secret(secret)
    api_key.prefix = _display_prefix(secret)
    api_key.rotated_at = now
    api_key.save(
        update_fields=[
            "previous_key_hash",
            "previous_key_expires_at",
            "key_hash",
            "prefix",
            "rotated_at",
            "updated_at",
        ]
    )
    audit_record(
        tenant=api_key.tenant,
        actor=actor,
        action="api_key.rotated",
        target=f"{api_key.name} ({api_key.prefix})",
        details={
            "id": api_key.pk,
            "old_prefix": old_prefix,
            "grace_seconds": int(grace_period.total_seconds()),
        },
    )
    return api_key, secret


@transaction.atomic
def api_key_revoke(*, api_key: ApiKey, actor: User | None = None) -> ApiKey:
    """Stop the key (and any old secret in its grace period) from the next request on."""
    api_key = ApiKey.objects.select_for_update().get(pk=api_key.pk)
    if api_key.is_revoked:
        return api_key
    api_key.revoked_at = timezone.now()
    api_key.previous_key_hash = None
    api_key.previous_key_expires_at = None
    api_key.save(
        update_fields=["revoked_at", "previous_key_hash", "previous_key_expires_at", "updated_at"]
    )
    audit_record(
        tenant=api_key.tenant,
        actor=actor,
        action="api_key.revoked",
        target=f"{api_key.name} ({api_key.prefix})",
        details={"id": api_key.pk},
    )
    return api_key


def api_key_flush_last_used() -> int:
    """Write the last-use times gathered in Redis to the database; returns how many keys.

    The hash is renamed before it is read, so uses recorded while this runs land in a fresh
    hash for the next flush instead of being lost.
    """
    client = redis_client()
    draining = f"{LAST_USED_KEY}:draining:{secrets.token_hex(4)}"
    try:
        client.rename(LAST_USED_KEY, draining)
    except Exception as error:  # redis raises ResponseError("no such key") when nothing to do
        if "no such key" in str(error).lower():
            return 0
        raise
    entries = client.hgetall(draining)
    updated = 0
    for raw_id, raw_when in entries.items():
        when = datetime.fromtimestamp(float(raw_when), tz=UTC)
        updated += (
            ApiKey.objects.filter(pk=int(raw_id))
            .exclude(last_used_at__gte=when)
            .update(last_used_at=when)
        )
    client.delete(draining)
    return updated
