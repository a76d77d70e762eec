"""Reads for webhook pages and the public API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db.models import Count, Max, Q, QuerySet
from django.utils import timezone

from apps.core.errors import NotFound
from apps.webhooks.events import TEST_EVENT_TYPE
from apps.webhooks.models import Delivery, DeliveryAttempt, Endpoint, Event

# The event log keeps this long (older events are pruned with their deliveries).
EVENT_RETENTION = timedelta(days=30)
HEALTH_WINDOW = timedelta(hours=24)


def endpoint_list() -> QuerySet[Endpoint]:
    return Endpoint.objects.order_by("created_at")


def endpoint_get(*, endpoint_id: object) -> Endpoint:
    try:
        return Endpoint.objects.get(pk=endpoint_id)
    # A malformed UUID is as unknown as a well-formed one that does not exist.
    except (Endpoint.DoesNotExist, ValidationError, ValueError, TypeError):
        raise NotFound("No webhook endpoint with this id.") from None


@dataclass(frozen=True)
class EndpointHealth:
    attempts: int
    succeeded: int
    last_attempt_at: datetime | None
    pending: int

    @property
    def success_rate(self) -> float | None:
        """Share of the last 24 h's attempts that succeeded; None when there were none."""
        return self.succeeded / self.attempts if self.attempts else None


def endpoint_health(*, endpoint_ids: list[object], now: datetime | None = None) -> dict:
    """Health of each endpoint over the last 24 hours, in two grouped queries."""
    since = (now or timezone.now()) - HEALTH_WINDOW
    attempts = {
        row["delivery__endpoint_id"]: row
        for row in DeliveryAttempt.objects.filter(
            delivery__endpoint_id__in=endpoint_ids, attempted_at__gte=since
        )
        .values("delivery__endpoint_id")
        .annotate(total=Count("id"), ok=Count("id", filter=Q(succeeded=True)))
    }
    deliveries = {
        row["endpoint_id"]: row
        for row in Delivery.objects.filter(endpoint_id__in=endpoint_ids)
        .values("endpoint_id")
        .annotate(last=Max("last_attempt_at"), pending=Count("id", filter=Q(status="pending")))
    }
    return {
        endpoint_id: EndpointHealth(
            attempts=attempts.get(endpoint_id, {}).get("total", 0),
            succeeded=attempts.get(endpoint_id, {}).get("ok", 0),
            last_attempt_at=deliveries.get(endpoint_id, {}).get("last"),
            pending=deliveries.get(endpoint_id, {}).get("pending", 0),
        )
        for endpoint_id in endpoint_ids
    }


def delivery_list(
    *, endpoint: Endpoint, status: str = "", event_type: str = ""
) -> QuerySet[Delivery]:
    deliveries = Delivery.objects.filter(endpoint=endpoint).select_related("event")
    if status:
        deliveries = deliveries.filter(status=status)
    if event_type:
        deliveries = deliveries.filter(event__type=event_type)
    return deliveries.order_by("-created_at", "-id")


def delivery_get(*, endpoint: Endpoint, delivery_id: object) -> Delivery:
    try:
        return Delivery.objects.select_related("event", "endpoint").get(
            pk=delivery_id, endpoint=endpoint
        )
    except (Delivery.DoesNotExist, ValidationError, ValueError, TypeError):
        raise NotFound("No delivery with this id for this endpoint.") from None


def delivery_attempts(*, delivery: Delivery) -> QuerySet[DeliveryAttempt]:
    return delivery.attempts.order_by("-attempted_at", "-id")


def event_list(*, event_type: str = "", now: datetime | None = None) -> QuerySet[Event]:
    """The workspace's event log: the last 30 days, newest first, test events left out."""
    since = (now or timezone.now()) - EVENT_RETENTION
    events = Event.objects.filter(created_at__gte=since).exclude(type=TEST_EVENT_TYPE)
    if event_type:
        events = events.filter(type=event_type)
    return events.order_by("-created_at", "-id")


def event_get(*, event_id: str, now: datetime | None = None) -> Event:
    try:
        return event_list(now=now).get(pk=event_id)
    except Event.DoesNotExist:
        raise NotFound("No event with this id in the last 30 days.") from None
