"""Stamps: what tells a web process that its cached copy of an API key is still current.

The public API caches each key it has seen (apps.apikeys.selectors.api_key_lookup) together
with the stamp it was read under, a random value in Redis per key hash. Every request checks
the stamp in the round trip it makes to Redis anyway; a copy whose stamp is gone is read
again from the database. So every change to a key or to its workspace deletes the stamps of
the key's hashes, old and new: right away, and again once the change is committed (a process
that reloads in between would otherwise cache the row as it was before the commit).

This hangs on model signals rather than on the services alone because every save must count,
the admin's and a test's included; a QuerySet.update() of these fields bypasses signals, which
is why a stamp also expires after STAMP_TTL.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from apps.api.redis import redis_client

STAMP_TTL = 300  # seconds: the longest a copy can outlive a change made without signals


def stamp_key_for(key_hash: str) -> str:
    return f"apikeys:stamp:{key_hash}"


def stamps_forget(key_hashes: Iterable[str | None]) -> None:
    keys = [stamp_key_for(h) for h in set(key_hashes) if h]
    if not keys:
        return

    def forget() -> None:
        redis_client().delete(*keys)

    forget()
    transaction.on_commit(forget)


def _hashes_of(api_keys) -> list[str | None]:
    return [h for pair in api_keys.values_list("key_hash", "previous_key_hash") for h in pair]


def forget_saved_key(sender, instance, raw=False, **kwargs) -> None:
    # pre_save: the hashes in the database now (a rotation replaces them) and the new ones.
    if raw:
        return
    hashes = [instance.key_hash, instance.previous_key_hash]
    if instance.pk is not None:
        hashes += _hashes_of(sender.objects.filter(pk=instance.pk))
    stamps_forget(hashes)


def forget_deleted_key(sender, instance, **kwargs) -> None:
    stamps_forget([instance.key_hash, instance.previous_key_hash])


def forget_workspace_keys(sender, instance, raw=False, **kwargs) -> None:
    # Plan, limits and whether the workspace is active are part of every cached copy.
    if raw or instance.pk is None:
        return
    from apps.apikeys.models import ApiKey

    stamps_forget(_hashes_of(ApiKey.objects.filter(tenant_id=instance.pk)))
