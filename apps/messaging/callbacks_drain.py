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
import threading
import time
from datetime import timedelta

import psycopg
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
BATCH = 500  # a batch holds its messages' row locks until it commits (about 0.2 s for 500)
# A drain that has caught up (its last batch was not full) waits this long before the next:
# claiming callbacks as they trickle in made batches of a handful, whose fixed cost (a dozen
# round trips) then dominated; the wait adds at most this much to the lag (target: 5 s).
GATHER = 0.2
MAX_ATTEMPTS = 8

_redis: redis.Redis | None = None


def _redis_client() -> redis.Redis:
    global _redis
    if _redis is None:
        _redis = redis.Redis.from_url(settings.REDIS_URL)
    return _redis


class _Waiting:
    """A callback waiting in this process to be stored, and what became of it. `stored` is
    held until the writer has tried: the caller blocks on it."""

    __slots__ = ("body", "error", "id", "stored")

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.error: Exception | None = None
        self.id = 0
        self.stored = threading.Lock()
        self.stored.acquire()


# Callbacks of this process's request threads that the writer thread has not taken yet
# (None asks the writer to stop).
_pending: list[_Waiting | None] = []
_pending_ready = threading.Condition()
_writer: threading.Thread | None = None


def callback_store(*, body: bytes) -> int:
    """Store a callback, committed before this returns (unless the caller holds a
    transaction), and nudge the drain once it is committed. Returns the row id.

    Outside a transaction the row is written by this process's writer thread, which stores
    every callback waiting at that moment in one INSERT and one commit; the caller waits
    until its own row is committed (or the INSERT failed: then it raises, and the receiver
    answers 503 so that Meta retries). Meta's bursts keep a threaded web process's threads
    all here at once, and a commit per callback cost the web process and PostgreSQL several
    times the CPU of a shared one; a thread of its own starts the next INSERT as soon as the
    last one commits, instead of handing a lock from one waiting request thread to the next.
    Inside a transaction (which may yet roll back) the caller stores its row itself, alone."""
    from django.db import connection

    if connection.in_atomic_block:
        callback_id = _insert([body])[0]
        transaction.on_commit(drain_nudge)
        return callback_id
    global _writer
    waiting = _Waiting(body)
    with _pending_ready:
        if _writer is None or not _writer.is_alive():
            _writer = threading.Thread(target=_write_forever, name="callback-writer", daemon=True)
            _writer.start()
        _pending.append(waiting)
        _pending_ready.notify()
    waiting.stored.acquire()
    if waiting.error is not None:
        raise waiting.error
    return waiting.id


def _write_forever() -> None:
    from django.db import connection

    while True:
        with _pending_ready:
            while not _pending:
                _pending_ready.wait()
            taken = _pending[:]
            _pending.clear()
        batch = [waiting for waiting in taken if waiting is not None]
        if batch:
            _write(batch)
        if len(batch) < len(taken):
            connection.close()
            return


def callbacks_writer_stop() -> None:
    """End this process's writer thread once it has stored what waits, and close its
    database connection (at a worker's exit; the next callback starts a new writer)."""
    global _writer
    with _pending_ready:
        writer, _writer = _writer, None
        if writer is None:
            return
        _pending.append(None)
        _pending_ready.notify()
    writer.join()


def _write(batch: list[_Waiting]) -> None:
    """Store a batch on the writer thread's own connection and release its callers."""
    from django.db import DatabaseError, connection

    try:
        try:
            ids = _insert([waiting.body for waiting in batch])
        except DatabaseError:
            # A connection broken since the last INSERT (database restarted): one fresh try.
            connection.close()
            ids = _insert([waiting.body for waiting in batch])
        for waiting, callback_id in zip(batch, ids, strict=True):
            waiting.id = callback_id
    except Exception as error:  # noqa: BLE001  (each caller raises it and answers 503)
        logger.exception("could not store %d Meta callback(s)", len(batch))
        connection.close()
        for waiting in batch:
            waiting.error = error
    else:
        drain_nudge()
    finally:
        for waiting in batch:
            waiting.stored.release()


def _insert(bodies: list[bytes]) -> list[int]:
    """One schema-qualified INSERT of the bodies, in order, on the driver's own cursor: the
    receiver runs in the public schema, and going around django-tenants' cursor saves the
    `SET search_path` round trip it would send first. Server-side binding and a prepared
    statement: the bodies travel as one binary array, not as escaped SQL text."""
    from django.db import connection
    from django_tenants.utils import get_public_schema_name

    table = f"{connection.ops.quote_name(get_public_schema_name())}.{MetaCallback._meta.db_table}"
    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(
            f"INSERT INTO {table} (body, received_at, next_attempt_at, attempts, last_error) "  # noqa: S608
            "SELECT body, now(), now(), 0, '' FROM unnest(%b::bytea[]) WITH ORDINALITY "
            "AS b(body, n) ORDER BY n RETURNING id",
            [bodies],
            prepare=True,
        )
        # Ids come from one sequence in the order of the rows, so sorted they match bodies.
        return sorted(row[0] for row in cursor.fetchall())


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
            if claimed < BATCH:
                time.sleep(GATHER)
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
