from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import UTC, datetime

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import QuerySet
from django_tenants.utils import get_public_schema_name

from apps.api.redis import redis_client
from apps.apikeys.models import ApiKey
from apps.apikeys.services import LAST_USED_KEY
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


def api_key_by_secret_hash(*, key_hash: str) -> ApiKey | None:
    """The key whose current or previous (rotated) secret has this hash, with its tenant.

    This runs on every public API request, so it is kept to one round trip to PostgreSQL:
    - the SQL is built once from the models (the ORM compiling it on every call cost more
      than the query itself) and the row becomes instances through `from_db`;
    - its tables are named with their schema, so it needs no `SET search_path`, and the
      cursor comes from Django's own backend rather than django-tenants' override, which
      would send one first. It is still Django's cursor wrapper: the query is logged and
      counted like any other.
    See bench/api_overhead.py for the figures.
    """
    sql, key_fields, tenant_fields = _lookup_statement()
    db = connections[DEFAULT_DB_ALIAS]
    with super(type(db), db)._cursor() as cursor:
        cursor.execute(sql, [key_hash, key_hash])
        row = cursor.fetchone()
    if row is None:
        return None
    split = len(key_fields)
    api_key = ApiKey.from_db(db.alias, key_fields, row[:split])
    api_key.tenant = Tenant.from_db(db.alias, tenant_fields, row[split:])
    return api_key


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
