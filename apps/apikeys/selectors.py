from __future__ import annotations

import functools
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import QuerySet
from django.db.models.base import ModelState
from django_tenants.postgresql_backend.base import DatabaseWrapper as TenantDatabaseWrapper
from django_tenants.utils import get_public_schema_name

from apps.api.redis import redis_client
from apps.apikeys.models import ApiKey
from apps.apikeys.services import LAST_USED_KEY
from apps.apikeys.stamps import STAMP_TTL, stamp_key_for
from apps.tenancy.models import Tenant


@functools.cache
def _lookup_statement() -> tuple[str, list[str], list[str]]:
    key_fields = [f.attname for f in ApiKey._meta.concrete_fields]
    tenant_fields = [f.attname for f in Tenant._meta.concrete_fields]
    columns = [f'k."{ApiKey._meta.get_field(n).column}"' for n in key_fields] + [
        f't."{Tenant._meta.get_field(n).column}"' for n in tenant_fields
    ]
    public = get_public_schema_name()
    sql = (
        f"SELECT {', '.join(columns)} "
        f'FROM "{public}"."{ApiKey._meta.db_table}" k '
        f'JOIN "{public}"."{Tenant._meta.db_table}" t '
        f'ON t."{Tenant._meta.pk.column}" = k."tenant_id" '
        'WHERE k."key_hash" = %s OR k."previous_key_hash" = %s LIMIT 1'
    )
    return sql, key_fields, tenant_fields


def _row_by_secret_hash(key_hash: str) -> tuple | None:
    """The key's and its tenant's columns, in one round trip to PostgreSQL.

    - The SQL is built once from the models (the ORM compiling it on every call cost more
      than the query itself).
    - Its tables are named with their schema, so it needs no `SET search_path`, and the
      cursor comes from Django's own backend rather than django-tenants' override, which
      would send one first. It is still Django's cursor wrapper: the query is logged and
      counted like any other.
    """
    sql, _, _ = _lookup_statement()
    db = connections[DEFAULT_DB_ALIAS]
    with super(TenantDatabaseWrapper, db)._cursor() as cursor:
        cursor.execute(sql, [key_hash, key_hash])
        return cursor.fetchone()


def _attributes(row: tuple) -> tuple[dict, dict]:
    """The instance dicts of the key and its tenant as the ORM builds them from `row`."""
    _, key_fields, tenant_fields = _lookup_statement()
    split = len(key_fields)
    api_key = ApiKey.from_db(DEFAULT_DB_ALIAS, key_fields, row[:split])
    tenant = Tenant.from_db(DEFAULT_DB_ALIAS, tenant_fields, row[split:])
    return _field_values(api_key), _field_values(tenant)


def _field_values(instance) -> dict:
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}


def _instance(model: type, attributes: dict):
    """A new instance of `model` holding `attributes`, as `from_db` would build it but without
    running `__init__` (its field loop and signals cost 30 to 50 µs a request). Lists and
    dicts (scopes, the allowlist) are copied, so that nothing a request changes on a model
    can leak into another request."""
    instance = model.__new__(model)
    instance.__dict__.update(attributes)
    for name, value in attributes.items():
        if value.__class__ in (list, dict):
            instance.__dict__[name] = value.copy()
    instance._state = ModelState()
    instance._state.adding = False
    instance._state.db = DEFAULT_DB_ALIAS
    return instance


def _instances(attributes: tuple[dict, dict]) -> ApiKey:
    key_attributes, tenant_attributes = attributes
    api_key = _instance(ApiKey, key_attributes)
    # What `api_key.tenant = tenant` does, without the descriptor's checks (the row came
    # from the join on tenant_id, so they hold).
    api_key._state.fields_cache["tenant"] = _instance(Tenant, tenant_attributes)
    return api_key


# The public API's key lookup is cached in each process, and every request checks in Redis
# that its copy is current, in the round trip the rate limiter makes anyway
# (apps.api.ratelimit). A copy is current while the stamp it was read under is still in
# Redis: every change to a key or its workspace deletes the stamps of that key's hashes once
# committed (apps.apikeys.stamps), so a revoked key is refused on its next request in every
# process, without a query per request. The stamp is read before the row: a change committed
# between the two deletes the stamp after it, so a stale copy never outlives its stamp.
CACHE_LIMIT = 10_000
_cache: dict[str, tuple[tuple[dict, dict], str]] = {}


@dataclass(frozen=True)
class ApiKeyLookup:
    api_key: ApiKey | None
    # The Redis key and value the copy was read under; the caller checks them.
    stamp_key: str
    stamp: str
    cached: bool


def api_key_lookup(*, key_hash: str, fresh: bool = False) -> ApiKeyLookup:
    """The key for this secret's hash: this process's copy unless `fresh`, else the
    database's (then kept as the copy). Unknown hashes are never cached."""
    if not fresh and (cached := api_key_cached_lookup(key_hash=key_hash)) is not None:
        return cached
    stamp_key = stamp_key_for(key_hash)
    stamp = _current_stamp(stamp_key)
    row = _row_by_secret_hash(key_hash)
    if row is None:
        _cache.pop(key_hash, None)
        return ApiKeyLookup(None, stamp_key, stamp, cached=False)
    if len(_cache) >= CACHE_LIMIT:
        _cache.clear()
    attributes = _attributes(row)
    _cache[key_hash] = (attributes, stamp)
    return ApiKeyLookup(_instances(attributes), stamp_key, stamp, cached=False)


def api_key_cached_lookup(*, key_hash: str) -> ApiKeyLookup | None:
    """This process's copy of the key for this hash, or None if it holds none (no query)."""
    if (entry := _cache.get(key_hash)) is None:
        return None
    attributes, stamp = entry
    return ApiKeyLookup(_instances(attributes), stamp_key_for(key_hash), stamp, cached=True)


def _current_stamp(stamp_key: str) -> str:
    client = redis_client()
    stamp = client.get(stamp_key)
    if stamp is None:
        # Two processes may race to mint one: whichever lands first is the stamp for both.
        client.set(stamp_key, secrets.token_hex(8), nx=True, ex=STAMP_TTL)
        stamp = client.get(stamp_key)
    return stamp.decode() if isinstance(stamp, bytes) else stamp


def api_key_list(*, tenant: Tenant) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(tenant=tenant).order_by("revoked_at", "-created_at", "-id")


def api_key_get(*, tenant: Tenant, api_key_id: int) -> ApiKey | None:
    return ApiKey.objects.filter(tenant=tenant, pk=api_key_id).first()


def api_key_pending_last_used(*, api_key_ids: Iterable[int]) -> dict[int, datetime]:
    """Last-use times recorded in Redis and not yet flushed to the database."""
    ids = [str(i) for i in api_key_ids]
    if not ids:
        return {}
    values = redis_client().hmget(LAST_USED_KEY, ids)
    return {
        int(key_id): datetime.fromtimestamp(float(value), tz=UTC)
        for key_id, value in zip(ids, values, strict=True)
        if value is not None
    }


def api_key_with_fresh_last_used(keys: Iterable[ApiKey]) -> list[ApiKey]:
    """Attach the freshest known last-use time (Redis or database) to each key."""
    keys = list(keys)
    pending = api_key_pending_last_used(api_key_ids=[k.pk for k in keys])
    for key in keys:
        recent = pending.get(key.pk)
        if recent and (key.last_used_at is None or recent > key.last_used_at):
            key.last_used_at = recent
    return keys
