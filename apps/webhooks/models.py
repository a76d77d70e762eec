import secrets
import uuid

from django.db import models


def new_event_id() -> str:
    return f"evt_{secrets.token_hex(12)}"


class Event(models.Model):
    """The transactional outbox: one row per thing that happened, written in the same
    transaction as the change, so an event exists exactly when its change was committed.
    Deliveries to webhook endpoints are made from these rows."""

    id = models.CharField(primary_key=True, max_length=32, default=new_event_id, editable=False)
    type = models.CharField(max_length=64)
    data = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # Set once deliveries have been fanned out for every subscribed endpoint.
    fanned_out_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["created_at"],
                name="event_pending_fanout",
                condition=models.Q(fanned_out_at__isnull=True),
            ),
            # A plain index: `db_index=True` on a CharField adds a second, LIKE-ready copy
            # that no query uses and every event written pays for.
            models.Index(fields=["type"], name="event_type"),
        ]

    def __str__(self) -> str:
        return f"{self.id} {self.type}"


class Endpoint(models.Model):
    """A URL of the integrator's that receives signed events."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    url = models.URLField(max_length=2000)
    description = models.CharField(max_length=500, blank=True)
    # The event types it wants; empty means every type (including ones added later).
    event_types = models.JSONField(default=list, blank=True)
    secret = models.CharField(max_length=100)
    # During a rotation the old secret keeps signing beside the new one until it expires.
    previous_secret = models.CharField(max_length=100, blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    enabled = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=500, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    # When the current run of failed attempts began; cleared by any success.
    failing_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return self.url

    @property
    def subscribes_to_all(self) -> bool:
        return not self.event_types

    def wants(self, event_type: str) -> bool:
        return not self.event_types or event_type in self.event_types


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class Delivery(models.Model):
    """One event on its way to one endpoint. A pending delivery waits in the database until
    `next_attempt_at`; a worker claims it by pushing `next_attempt_at` past the request's
    time limit (a lease), so a crashed worker's claims come due again by themselves."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempt_count = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    # Set by "retry now" on a finished delivery: one more attempt outside the schedule.
    manual_retry = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event"], name="delivery_once_per_event")
        ]
        indexes = [
            # In the claim's order (apps/webhooks/services/deliveries.py): id breaks ties
            # among deliveries due at one moment, and a claim reads only the rows it takes.
            models.Index(
                fields=["endpoint", "next_attempt_at", "id"],
                name="delivery_due_in_order",
                condition=models.Q(status="pending"),
            ),
            models.Index(fields=["endpoint", "-created_at"], name="delivery_by_endpoint"),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} → {self.endpoint_id} ({self.status})"


class DeliveryAttempt(models.Model):
    """One HTTP request of a delivery, kept so admins can see what was sent and answered."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempts")
    attempted_at = models.DateTimeField(db_index=True)
    request_headers = models.JSONField(default=dict)
    request_body = models.TextField()
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True)
    succeeded = models.BooleanField(default=False)

    class Meta:
        ordering = ["-attempted_at"]

    def __str__(self) -> str:
        return f"{self.delivery_id} at {self.attempted_at:%Y-%m-%d %H:%M:%S}"
