"""Deliveries: from the outbox to the receivers, at least once.

Rules owned here:
- fan-out: each broadcast event becomes one delivery per enabled endpoint subscribed to its
  type, and the event is marked fanned out in the same transaction;
- claiming: a worker takes due deliveries with FOR UPDATE SKIP LOCKED and pushes their
  `next_attempt_at` past the request time limit, so a crashed worker's work comes due again;
  each endpoint gets only a few requests in flight, so a slow one cannot take every slot;
- outcome: a 2xx is success; anything else (3xx included: redirects are not followed), a
  timeout or a connection error is a failure retried on the Standard Webhooks schedule with
  jitter, later if the receiver's `Retry-After` asks for it; a 410 disables the endpoint; so does
  a delivery's last failed attempt, or five days of nothing but failures;
- retries wait in the database (`next_attempt_at`), never in a Celery countdown.
"""

from __future__ import annotations

import concurrent.futures
import json
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from apps.webhooks.events import TEST_EVENT_TYPE
from apps.webhooks.models import Delivery, DeliveryAttempt, DeliveryStatus, Endpoint, Event
from apps.webhooks.sender import Request, Response, Sender
from apps.webhooks.services import event_envelope
from apps.webhooks.services.endpoints import endpoint_disable, endpoint_signing_secrets
from apps.webhooks.signing import signed_headers

if TYPE_CHECKING:
    from apps.tenancy.models import Tenant

Clock = Callable[[], datetime]

# Waits after the 1st, 2nd, ... failed attempt (Standard Webhooks' schedule); after the 10th
# attempt fails there is no other.
RETRY_SCHEDULE = [
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=14),
    timedelta(hours=20),
    timedelta(hours=24),
]
MAX_ATTEMPTS = len(RETRY_SCHEDULE) + 1
# Each wait is stretched or shrunk by up to this fraction so retries do not arrive in herds.
JITTER = 0.1
# A receiver may ask for a later retry, not for one later than the longest wait.
MAX_RETRY_AFTER = timedelta(hours=24)
FAILING_TOO_LONG = timedelta(days=5)

# Events fanned out per transaction: each costs one row per subscribed endpoint.
FAN_OUT_BATCH = 1000
# Requests in flight per worker, and per endpoint within it (a dead endpoint holds at most this
# many slots for the time limit; the others keep flowing).
CONCURRENCY = 256
PER_ENDPOINT_IN_FLIGHT = 64
# An endpoint whose recent attempts all failed gets one batch of this many per task (a probe):
# a dead receiver then ties up a handful of slots for one time limit, not a quarter of them
# for the whole task. Its first success lifts the limit.
PER_FAILING_ENDPOINT_IN_FLIGHT = 4
# A claimed delivery comes due again this long after the request's time limit if its worker
# never records the outcome (crash): generous, as a second request is a duplicate.
LEASE_MARGIN = timedelta(seconds=60)
# Outcomes written per transaction.
RECORD_BATCH = 500
# Fewer free slots than this wait for more (or for a moment) before claiming: one claim query
# per delivery would cost more than its request.
CLAIM_BATCH_MIN = 16
# How long one task keeps claiming; then it finishes what it holds and lets the next one run.
DRAIN_SECONDS = 30.0


def retry_delay(
    *,
    attempt_number: int,
    retry_after_seconds: float | None = None,
    rng: random.Random | None = None,
) -> timedelta | None:
    """The wait after failed attempt number `attempt_number` (1-based), or None after the last."""
    if attempt_number >= MAX_ATTEMPTS:
        return None
    base = RETRY_SCHEDULE[attempt_number - 1]
    factor = 1 + (rng or random).uniform(-JITTER, JITTER)
    delay = base * factor
    if retry_after_seconds is not None:
        delay = max(delay, min(timedelta(seconds=retry_after_seconds), MAX_RETRY_AFTER))
    return delay


def events_fan_out(*, now: datetime | None = None, limit: int = FAN_OUT_BATCH) -> int:
    """Turn pending events of the current workspace into deliveries. Returns how many were
    created. Safe to run concurrently: events are locked with SKIP LOCKED."""
    return _fan_out_batch(now=now or timezone.now(), limit=limit)[1]


def _fan_out_batch(*, now: datetime, limit: int = FAN_OUT_BATCH) -> tuple[int, int]:
    """(events taken, deliveries created) for one batch of the outbox."""
    with transaction.atomic():
        events = list(
            Event.objects.select_for_update(skip_locked=True)
            .filter(fanned_out_at__isnull=True)
            .order_by("created_at")
            .values_list("id", "type")[:limit]
        )
        if not events:
            return 0, 0
        endpoints = list(Endpoint.objects.filter(enabled=True).only("id", "event_types"))
        deliveries = [
            Delivery(endpoint_id=endpoint.id, event_id=event_id, next_attempt_at=now)
            for event_id, event_type in events
            if event_type != TEST_EVENT_TYPE
            for endpoint in endpoints
            if endpoint.wants(event_type)
        ]
        Delivery.objects.bulk_create(deliveries, batch_size=1000, ignore_conflicts=True)
        Event.objects.filter(id__in=[event_id for event_id, _ in events]).update(fanned_out_at=now)
    return len(events), len(deliveries)


@dataclass(frozen=True)
class Claim:
    delivery_id: object
    endpoint_id: object
    event_id: str
    attempt_number: int
    manual_retry: bool


# The due rows are picked once, in a materialised CTE, then updated. As a subquery in
# UPDATE ... FROM, a plan that rescans it (the delivery table on the outer side of a nested
# loop) would run its LIMITs again and, among deliveries due at the same moment, could pick
# other rows each time: a failing endpoint's probe of 4 once went out as 5 requests. `id`
# breaks the ties, so the same state always gives the same rows.
_CLAIM_SQL = """
WITH claimed AS MATERIALIZED (
        SELECT due.id
          FROM unnest(%(endpoint_ids)s::uuid[], %(slots)s::int[]) AS s(endpoint_id, slots)
          -- Still enabled now (a 410 may have disabled it since the worker last looked).
          JOIN webhooks_endpoint AS e ON e.id = s.endpoint_id AND e.enabled
         CROSS JOIN LATERAL (
               SELECT id FROM webhooks_delivery
                WHERE endpoint_id = s.endpoint_id
                  AND status = 'pending'
                  AND next_attempt_at <= %(now)s
                ORDER BY next_attempt_at, id
                LIMIT s.slots
                  FOR UPDATE SKIP LOCKED
               ) AS due
         LIMIT %(limit)s
)
UPDATE webhooks_delivery AS d
   SET next_attempt_at = %(lease_until)s
  FROM claimed
 WHERE d.id = claimed.id
RETURNING d.id, d.endpoint_id, d.event_id, d.attempt_count, d.manual_retry
"""


def deliveries_claim(
    *, now: datetime, slots: dict[object, int], limit: int, lease: timedelta
) -> list[Claim]:
    """Take up to `slots[endpoint]` due deliveries of each endpoint, `limit` in all."""
    endpoint_ids = [endpoint_id for endpoint_id, n in slots.items() if n > 0]
    if not endpoint_ids or limit <= 0:
        return []
    # The endpoints' order decides who fills `limit` first: shuffle it so nobody starves.
    random.shuffle(endpoint_ids)
    with connection.cursor() as cursor:
        cursor.execute(
            _CLAIM_SQL,
            {
                "lease_until": now + lease,
                "endpoint_ids": endpoint_ids,
                "slots": [slots[e] for e in endpoint_ids],
                "now": now,
                "limit": limit,
            },
        )
        rows = cursor.fetchall()
    return [
        Claim(
            delivery_id=row[0],
            endpoint_id=row[1],
            event_id=row[2],
            attempt_number=row[3] + 1,
            manual_retry=row[4],
        )
        for row in rows
    ]


def _requests_for(
    claims: list[Claim], *, endpoints: dict[object, Endpoint], tenant_slug: str, now: datetime
) -> list[Request]:
    events = Event.objects.in_bulk({c.event_id for c in claims})
    timestamp = int(time.time())
    requests: list[Request] = []
    for claim in claims:
        event = events[claim.event_id]
        endpoint = endpoints[claim.endpoint_id]
        body = json.dumps(
            event_envelope(event=event, tenant_slug=tenant_slug), separators=(",", ":")
        )
        headers = signed_headers(
            secrets_=endpoint_signing_secrets(endpoint=endpoint, now=now),
            msg_id=event.id,
            timestamp=timestamp,
            body=body,
        )
        requests.append(
            Request(
                delivery_id=claim.delivery_id,
                endpoint_id=claim.endpoint_id,
                url=endpoint.url,
                headers=headers,
                body=body,
            )
        )
    return requests


def _failure_summary(response: Response) -> str:
    if response.error:
        return response.error
    if response.status is not None and 300 <= response.status < 400:
        return f"HTTP {response.status} (redirects are not followed)"
    return f"HTTP {response.status}"


# One statement for a whole batch of outcomes (Django's bulk_update builds a CASE per row and
# cost more than the HTTP requests themselves).
_RECORD_SQL = """
UPDATE webhooks_delivery AS d
   SET status = v.status,
       attempt_count = v.attempt_count,
       next_attempt_at = v.next_attempt_at,
       last_attempt_at = v.last_attempt_at,
       last_response_status = v.last_response_status,
       manual_retry = false
  FROM unnest(%s::uuid[], %s::varchar[], %s::int[], %s::timestamptz[], %s::timestamptz[],
              %s::int[]) AS v(id, status, attempt_count, next_attempt_at, last_attempt_at,
                              last_response_status)
 WHERE d.id = v.id
"""


def deliveries_record(
    *, tenant: Tenant, outcomes: list[tuple[Claim, Response]], now: datetime
) -> None:
    """Write each attempt and decide what happens next, in one transaction per batch."""
    if not outcomes:
        return
    attempts: list[DeliveryAttempt] = []
    updates: list[Delivery] = []
    succeeded_endpoints: set[object] = set()
    failed_endpoints: dict[object, str] = {}
    disable: dict[object, str] = {}
    for claim, response in outcomes:
        ok = response.ok
        attempts.append(
            DeliveryAttempt(
                delivery_id=claim.delivery_id,
                attempted_at=response.attempted_at,
                request_headers=response.request.headers,
                request_body=response.request.body,
                response_status=response.status,
                response_body=response.body,
                duration_ms=response.duration_ms,
                error=response.error[:500],
                succeeded=ok,
            )
        )
        delivery = Delivery(
            id=claim.delivery_id,
            attempt_count=claim.attempt_number,
            last_attempt_at=response.attempted_at,
            last_response_status=response.status,
            manual_retry=False,
        )
        if ok:
            delivery.status = DeliveryStatus.SUCCEEDED
            delivery.next_attempt_at = None
            succeeded_endpoints.add(claim.endpoint_id)
        else:
            summary = _failure_summary(response)
            failed_endpoints[claim.endpoint_id] = summary
            delay = (
                None
                if claim.manual_retry or response.status == 410
                else retry_delay(
                    attempt_number=claim.attempt_number,
                    retry_after_seconds=response.retry_after_seconds,
                )
            )
            if delay is None:
                delivery.status = DeliveryStatus.FAILED
                delivery.next_attempt_at = None
            else:
                delivery.status = DeliveryStatus.PENDING
                delivery.next_attempt_at = now + delay
            if response.status == 410:
                disable[claim.endpoint_id] = (
                    "The receiver answered 410 Gone: it asked for no more deliveries."
                )
            elif delay is None and not claim.manual_retry:
                disable[claim.endpoint_id] = (
                    f"A delivery failed all {MAX_ATTEMPTS} attempts; the last one: {summary}."
                )
        updates.append(delivery)

    with transaction.atomic():
        DeliveryAttempt.objects.bulk_create(attempts, batch_size=500)
        with connection.cursor() as cursor:
            cursor.execute(
                _RECORD_SQL,
                [
                    [d.id for d in updates],
                    [d.status for d in updates],
                    [d.attempt_count for d in updates],
                    [d.next_attempt_at for d in updates],
                    [d.last_attempt_at for d in updates],
                    [d.last_response_status for d in updates],
                ],
            )
        if succeeded_endpoints:
            Endpoint.objects.filter(id__in=succeeded_endpoints, failing_since__isnull=False).update(
                failing_since=None
            )
        only_failed = set(failed_endpoints) - succeeded_endpoints
        if only_failed:
            Endpoint.objects.filter(id__in=only_failed, failing_since__isnull=True).update(
                failing_since=now
            )
            for endpoint_id in Endpoint.objects.filter(
                id__in=only_failed, enabled=True, failing_since__lte=now - FAILING_TOO_LONG
            ).values_list("id", flat=True):
                disable.setdefault(
                    endpoint_id,
                    "Every delivery failed for 5 days; the last one: "
                    f"{failed_endpoints[endpoint_id]}.",
                )
        for endpoint in Endpoint.objects.filter(id__in=disable, enabled=True):
            endpoint_disable(
                tenant=tenant, endpoint=endpoint, actor=None, reason=disable[endpoint.id], now=now
            )


@dataclass
class DrainStats:
    attempted: int = 0
    succeeded: int = 0
    failed: int = 0
    fanned_out: int = 0


def deliveries_send_due(
    *,
    tenant: Tenant,
    clock: Clock = timezone.now,
    drain_seconds: float = DRAIN_SECONDS,
    concurrency: int = CONCURRENCY,
    per_endpoint: int = PER_ENDPOINT_IN_FLIGHT,
    per_failing_endpoint: int = PER_FAILING_ENDPOINT_IN_FLIGHT,
) -> DrainStats:
    """Fan out new events and send every due delivery of the current workspace, many at once,
    until nothing is due or `drain_seconds` have passed (then what is in flight finishes).

    One loop in this thread does the database work (fan-out, claims, outcomes, each batched);
    the requests run on the sender's event loop. Each endpoint has a limit of requests in
    flight, so a receiver that hangs holds a few slots and the others keep flowing."""
    timeout = settings.WEBHOOKS_TIMEOUT_SECONDS
    lease = timedelta(seconds=timeout) + LEASE_MARGIN
    stats = DrainStats()
    deadline = time.monotonic() + drain_seconds
    in_flight: dict[concurrent.futures.Future[Response], Claim] = {}
    busy: Counter[object] = Counter()
    probed: set[object] = set()  # failing endpoints that had their one batch
    finished: list[tuple[Claim, Response]] = []
    endpoints: dict[object, Endpoint] = {}
    # The outbox may hold events not fanned out yet; due deliveries may be left unclaimed.
    events_waiting = due_waiting = True
    last_fan_out_at = last_claim_at = last_endpoints_at = 0.0
    last_record_at = time.monotonic()

    def record() -> None:
        deliveries_record(tenant=tenant, outcomes=finished, now=clock())
        for _, response in finished:
            stats.attempted += 1
            stats.succeeded += response.ok
            stats.failed += not response.ok
        finished.clear()

    with Sender(
        timeout=timeout, concurrency=concurrency, allow_loopback=settings.WEBHOOKS_ALLOW_LOOPBACK
    ) as sender:
        while True:
            claiming = time.monotonic() < deadline
            if claiming and (events_waiting or time.monotonic() - last_fan_out_at >= 1.0):
                taken, created = _fan_out_batch(now=clock())
                stats.fanned_out += created
                last_fan_out_at = time.monotonic()
                events_waiting = taken >= FAN_OUT_BATCH
                due_waiting = due_waiting or created > 0
            if claiming and time.monotonic() - last_endpoints_at >= 1.0:
                endpoints = {e.id: e for e in Endpoint.objects.filter(enabled=True)}
                last_endpoints_at = time.monotonic()
            slots = {
                endpoint.id: (
                    (0 if endpoint.id in probed else per_failing_endpoint)
                    if endpoint.failing_since
                    else per_endpoint
                )
                - busy[endpoint.id]
                for endpoint in endpoints.values()
            }
            asked = min(concurrency - len(in_flight), sum(max(n, 0) for n in slots.values()))
            # Claim in batches while more is due; otherwise look again now and then, as
            # retries come due with the clock.
            if (
                claiming
                and asked > 0
                and (
                    (due_waiting and (asked >= CLAIM_BATCH_MIN or not in_flight))
                    or time.monotonic() - last_claim_at >= 0.5
                )
            ):
                now = clock()
                claims = deliveries_claim(now=now, slots=slots, limit=asked, lease=lease)
                last_claim_at = time.monotonic()
                due_waiting = len(claims) >= asked
                if claims:
                    requests = _requests_for(
                        claims, endpoints=endpoints, tenant_slug=tenant.slug, now=now
                    )
                    for claim, request in zip(claims, requests, strict=True):
                        in_flight[sender.submit(request)] = claim
                        busy[claim.endpoint_id] += 1
                        if endpoints[claim.endpoint_id].failing_since:
                            probed.add(claim.endpoint_id)
            elif asked == 0 and not in_flight:
                due_waiting = False  # no endpoint to send to
            if not in_flight:
                if claiming and (events_waiting or due_waiting):
                    continue
                break
            done, _ = concurrent.futures.wait(
                in_flight, timeout=0.05, return_when=concurrent.futures.FIRST_COMPLETED
            )
            for future in done:
                claim = in_flight.pop(future)
                busy[claim.endpoint_id] -= 1
                finished.append((claim, future.result()))
            if not in_flight:
                due_waiting = True  # slots are free everywhere: look once more before leaving
            # A few hundred outcomes per transaction, or what has finished every 0.2 s.
            if finished and (
                len(finished) >= RECORD_BATCH
                or not in_flight
                or time.monotonic() - last_record_at >= 0.2
            ):
                last_record_at = time.monotonic()
                record()
    return stats


def events_prune(*, now: datetime | None = None) -> int:
    """Delete the current workspace's events older than the 30-day log, bottom up (attempts,
    deliveries, events) so each level is one plain DELETE."""
    from apps.webhooks.selectors import EVENT_RETENTION

    cutoff = (now or timezone.now()) - EVENT_RETENTION
    with transaction.atomic():
        DeliveryAttempt.objects.filter(delivery__event__created_at__lt=cutoff).delete()
        Delivery.objects.filter(event__created_at__lt=cutoff).delete()
        removed, _ = Event.objects.filter(created_at__lt=cutoff).delete()
    return removed
