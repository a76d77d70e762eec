"""Storing Meta's callbacks and draining them into the status pipeline.

The receiver INSERTs the raw body (committed before it answers), then nudges the drain: a
Redis key set with NX means at most one drain task is queued at a time, however many
callbacks arrive. A drain claims waiting rows in batches (FOR UPDATE SKIP LOCKED, so several
workers can drain together), processes each inside a savepoint and marks the batch done in
one UPDATE. Before it exits it clears the key and looks once more, so a callback stored while
it was finishing is never left behind. A periodic sweep catches anything a crash stranded.
A callback that fails is retried with backoff; after MAX_ATTEMPTS it is given up, its error
kept.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import timedelta

import redis
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.messaging.callbacks.models import MetaCallback

logger = logging.getLogger(__name__)

NUDGE_KEY = "messaging:callbacks:drain-queued"
NUDGE_TTL = 30  # seconds: a crashed drain's key expires and the next callback re-queues
# A process that nudged less than this long ago skips the Redis round trip (at 1,000
# callbacks/s it was a third of the receiver's time). Safe because a drain waits this long
# between clearing its key and its last look: a callback that skipped its nudge was stored
# before that look (see `callbacks_drain`).
NUDGE_QUIET = 0.05
_last_nudge = float("-inf")
_clock = time.monotonic
BATCH = 200
MAX_ATTEMPTS = 8

_redis: redis.Redis | None = None


def _redis_client() -> redis.Redis:
    global _redis
    if _redis is None:
        _redis = redis.Redis.from_url(settings.REDIS_URL)
    return _redis


def callback_store(*, body: bytes) -> int:
    """Store a callback (committed before the receiver answers, unless the caller holds a
    transaction) and nudge the drain once it is committed. One schema-qualified INSERT on the
    driver's cursor: the receiver runs in the public schema, and going around django-tenants'
    cursor saves the `SET search_path` round trip it would send first. Returns the row id."""
    from django.db import connection
    from django_tenants.utils import get_public_schema_name

    table = f"{connection.ops.quote_name(get_public_schema_name())}.{MetaCallback._meta.db_table}"
    connection.ensure_connection()
    with connection.connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (body, received_at, next_attempt_at, attempts, last_error) "  # noqa: S608
            "VALUES (%s, now(), now(), 0, '') RETURNING id",
            [body],
        )
        callback_id = cursor.fetchone()[0]
    transaction.on_commit(drain_nudge)
    return callback_id


def drain_nudge() -> None:
    """Queue a drain unless one is queued or running. Never fails the request: the row is
    stored, and the sweep finds it if Redis or the broker is down."""
    global _last_nudge
    started = _clock()
    if started - _last_nudge < NUDGE_QUIET:
        return
    try:
        if _redis_client().set(NUDGE_KEY, "1", nx=True, ex=NUDGE_TTL):
            from apps.messaging.tasks import meta_callbacks_drain_task

            meta_callbacks_drain_task.delay()
    except Exception:  # noqa: BLE001  (the callback is safe in the database)
        logger.exception("could not queue the Meta callback drain")
    else:
        # Only now is a drain surely queued or running, and bound to look after this call.
        _last_nudge = started


def _process(callback: MetaCallback) -> None:
    from apps.messaging.services import meta_webhook_ingest

    payload = json.loads(bytes(callback.body))
    meta_webhook_ingest(payload=payload)


def _process_together(batch: list[MetaCallback]) -> list[int] | None:
    """The fast path: the whole batch through the pipeline at once. None when any callback
    of it fails (nothing of the batch is kept; each is then tried on its own)."""
    from apps.messaging.services import meta_webhook_ingest_many

    if len(batch) < 2:
        return None
    try:
        with transaction.atomic():
            payloads = [json.loads(bytes(callback.body)) for callback in batch]
            meta_webhook_ingest_many(payloads=payloads)
    except Exception:  # noqa: BLE001  (retried one by one, which records the culprit)
        logger.warning("a batch of Meta callbacks failed; processing them one by one")
        return None
    return [callback.pk for callback in batch]


def _process_one_by_one(batch: list[MetaCallback], now) -> list[int]:
    done = []
    for callback in batch:
        try:
            with transaction.atomic():
                _process(callback)
        except Exception as error:  # noqa: BLE001  (recorded on the row, retried)
            logger.exception("Meta callback %s failed", callback.pk)
            callback.attempts += 1
            callback.last_error = f"{type(error).__name__}: {error}"[:2000]
            if callback.attempts >= MAX_ATTEMPTS:
                callback.failed_at = now
            else:
                delay = min(2**callback.attempts, 600)
                callback.next_attempt_at = now + timedelta(seconds=delay)
            callback.save(update_fields=["attempts", "last_error", "failed_at", "next_attempt_at"])
        else:
            done.append(callback.pk)
    return done


def callbacks_drain_batch(*, limit: int = BATCH) -> int:
    """Process up to `limit` waiting callbacks; returns how many were claimed."""
    now = timezone.now()
    with transaction.atomic():
        batch = list(
            MetaCallback.objects.select_for_update(skip_locked=True)
            .filter(processed_at__isnull=True, failed_at__isnull=True, next_attempt_at__lte=now)
            .order_by("next_attempt_at", "id")[:limit]
        )
        done = _process_together(batch)
        if done is None:
            done = _process_one_by_one(batch, now)
        if done:
            MetaCallback.objects.filter(pk__in=done).update(processed_at=timezone.now())
    return len(batch)


def callbacks_drain(*, max_batches: int = 10_000) -> int:
    """Drain until nothing waits; returns how many callbacks were claimed."""
    total = 0
    for _ in range(max_batches):
        claimed = callbacks_drain_batch()
        total += claimed
        if claimed:
            continue
        # Let the next callback queue a new drain, then look once more: a callback stored
        # between our last look and the key's removal is seen here, and so is one whose
        # process skipped its nudge for having nudged within NUDGE_QUIET (hence the wait).
        try:
            _redis_client().delete(NUDGE_KEY)
        except redis.RedisError:
            logger.exception("could not clear the drain key")
        time.sleep(NUDGE_QUIET)
        claimed = callbacks_drain_batch()
        total += claimed
        if not claimed:
            break
    return total


def callbacks_prune(*, older_than: timedelta = timedelta(days=7)) -> int:
    deleted, _ = MetaCallback.objects.filter(processed_at__lt=timezone.now() - older_than).delete()
    return deleted
