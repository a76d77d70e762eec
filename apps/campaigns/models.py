"""Campaigns: a bulk template send to an audience, its recipients and live counters.

Recipients are materialised once, when the campaign starts (one `INSERT ... SELECT`), and
each row then walks pending -> sending -> sent -> delivered -> read, or ends failed. The
campaign keeps funnel counters that the dispatcher and the status listener move with `F()`
updates, so stats never need a `COUNT(*)` over recipients; `campaign_refresh_metrics`
recomputes them exactly.
"""

from __future__ import annotations

import uuid

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models


class CampaignStatus(models.TextChoices):
    DRAFT = "DRAFT", "Draft"
    SCHEDULED = "SCHEDULED", "Scheduled"
    RUNNING = "RUNNING", "Running"
    PAUSED = "PAUSED", "Paused"
    COMPLETED = "COMPLETED", "Completed"
    STOPPED = "STOPPED", "Stopped"
    FAILED = "FAILED", "Failed"


TERMINAL_STATUSES = (CampaignStatus.COMPLETED, CampaignStatus.STOPPED, CampaignStatus.FAILED)


class RecipientStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    DELIVERED = "delivered", "Delivered"
    READ = "read", "Read"
    FAILED = "failed", "Failed"


# A recipient only moves forward; like messages, a failure reported after delivery is noise
# and a message reported failed and then delivered was delivered.
RECIPIENT_RANK = {
    RecipientStatus.PENDING: 0,
    RecipientStatus.SENDING: 1,
    RecipientStatus.SENT: 2,
    RecipientStatus.FAILED: 3,
    RecipientStatus.DELIVERED: 4,
    RecipientStatus.READ: 5,
}


class Campaign(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=120)
    description = models.CharField(max_length=500, null=True, blank=True)
    status = models.CharField(
        max_length=16, choices=CampaignStatus.choices, default=CampaignStatus.DRAFT
    )
    template = models.ForeignKey(
        "message_templates.MessageTemplate", on_delete=models.PROTECT, related_name="campaigns"
    )
    variable_mapping = models.JSONField(null=True, blank=True)
    batch_size = models.PositiveIntegerField(
        default=50, validators=[MinValueValidator(1), MaxValueValidator(1000)]
    )
    # "live" or "test": campaigns started with a test API key send through the sandbox.
    send_mode = models.CharField(max_length=8, default="live")
    # Optional daily send window in the workspace's time zone (both set or both empty).
    send_window_start = models.TimeField(null=True, blank=True)
    send_window_end = models.TimeField(null=True, blank=True)
    scheduled_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    materialised_at = models.DateTimeField(null=True, blank=True)
    total_recipients = models.PositiveIntegerField(default=0)
    # Funnel counters (see DESIGN.md: sent includes delivered and read).
    sent_count = models.PositiveIntegerField(default=0)
    delivered_count = models.PositiveIntegerField(default=0)
    read_count = models.PositiveIntegerField(default=0)
    failed_count = models.PositiveIntegerField(default=0)
    failure_code = models.CharField(max_length=32, blank=True, default="")
    failure_reason = models.TextField(blank=True, default="")
    # Why a running campaign is not sending right now (send window, rate limit), shown live.
    waiting_reason = models.CharField(max_length=255, blank=True, default="")
    last_dispatch_at = models.DateTimeField(null=True, blank=True)
    created_by_email = models.CharField(max_length=254, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The beat task's scan: due scheduled campaigns.
            models.Index(
                fields=["scheduled_at"],
                name="campaign_due",
                condition=models.Q(status="SCHEDULED"),
            ),
            models.Index(fields=["status"], name="campaign_status"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def pending_count(self) -> int:
        return max(0, self.total_recipients - self.sent_count - self.failed_count)

    @property
    def stats(self) -> dict[str, int]:
        return {
            "total": self.total_recipients,
            "sent": self.sent_count,
            "delivered": self.delivered_count,
            "read": self.read_count,
            "failed": self.failed_count,
            "pending": self.pending_count,
        }

    @property
    def progress_percent(self) -> int:
        if not self.total_recipients:
            return 100 if self.is_terminal else 0
        done = self.sent_count + self.failed_count
        return min(100, round(100 * done / self.total_recipients))


class AudienceKind(models.TextChoices):
    GROUP = "group", "Group"
    SOURCE = "source", "Source"
    CONTACT = "contact", "Contact"  # hand-picked or uploaded in the dashboard


class CampaignAudience(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="audiences")
    kind = models.CharField(max_length=8, choices=AudienceKind.choices)
    group = models.ForeignKey("contacts.Group", null=True, blank=True, on_delete=models.CASCADE)
    source = models.ForeignKey("contacts.Source", null=True, blank=True, on_delete=models.CASCADE)
    contact = models.ForeignKey("contacts.Contact", null=True, blank=True, on_delete=models.CASCADE)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["campaign", "kind"], name="campaign_audience_kind")]

    def __str__(self) -> str:
        return f"{self.kind} of {self.campaign_id}"


class CampaignRecipient(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # No index of their own: every read by campaign uses the indexes below, which start with
    # it, and nothing reads recipients by contact (contacts are archived, never deleted, so
    # SET NULL never runs). Each index is one more insert per row when a million are
    # materialised, the contact one at a random place (about 4 s per million rows).
    # No foreign-key constraint in the database either: this is a high-volume fact table,
    # written by one INSERT ... SELECT that reads the contacts and the campaign it references
    # in that same statement, so the deferred per-row checks at commit would only re-verify
    # what the statement has just read, at about 18 s per million rows (the contact one also
    # takes a FOR KEY SHARE lock on every contact). Nothing is lost on deletion: contacts are
    # archived, never hard-deleted by the app, and campaigns and contacts are deleted only
    # through the ORM, which still cascades (and would still set null) from on_delete.
    campaign = models.ForeignKey(
        Campaign,
        on_delete=models.CASCADE,
        related_name="recipients",
        db_index=False,
        db_constraint=False,
    )
    contact = models.ForeignKey(
        "contacts.Contact",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    phone = models.CharField(max_length=20)
    variables = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=16, choices=RecipientStatus.choices, default=RecipientStatus.PENDING
    )
    # Sends Meta refused with a throughput error and that went back to pending.
    attempts = models.PositiveSmallIntegerField(default=0)
    message_id = models.UUIDField(null=True, blank=True)
    wamid = models.CharField(max_length=255, null=True, blank=True)
    error_code = models.CharField(max_length=32, blank=True, default="")
    error_message = models.TextField(blank=True, default="")
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "phone"], name="campaign_recipient_once")
        ]
        indexes = [
            models.Index(fields=["campaign", "status"], name="campaign_recipient_status"),
            models.Index(
                fields=["campaign", "error_code"],
                name="campaign_recipient_error",
                condition=models.Q(status="failed"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.phone} ({self.status})"
