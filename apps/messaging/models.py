"""Messages, their status timelines, conversations (one per counterpart phone, carrying the
24-hour customer-service window), consent changes and the workspace's messaging settings."""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone

SERVICE_WINDOW = timedelta(hours=24)


class Direction(models.TextChoices):
    OUTBOUND = "outbound", "Outbound"
    INBOUND = "inbound", "Inbound"


class MessageStatus(models.TextChoices):
    PENDING = "pending", "Pending"  # recorded, provider not answered yet
    ACCEPTED = "accepted", "Accepted"  # WhatsApp took it (the send's answer)
    HELD = "held_for_quality_assessment", "Held for quality assessment"
    SENT = "sent", "Sent"
    DELIVERED = "delivered", "Delivered"
    READ = "read", "Read"
    FAILED = "failed", "Failed"
    RECEIVED = "received", "Received"  # inbound


# How far along a message is. A status applies only if it ranks higher than the current one,
# so statuses never go backwards and duplicates are no-ops. `failed` outranks sent but not
# delivered or read: a failure reported after delivery is noise, not a state (and a message
# reported failed and then delivered was delivered).
STATUS_RANK = {
    MessageStatus.PENDING: 0,
    MessageStatus.ACCEPTED: 1,
    MessageStatus.HELD: 2,
    MessageStatus.SENT: 3,
    MessageStatus.FAILED: 4,
    MessageStatus.DELIVERED: 5,
    MessageStatus.READ: 6,
    MessageStatus.RECEIVED: 0,
}


class Conversation(models.Model):
    """Everything exchanged with one phone number. `last_inbound_at` opens the 24-hour
    customer-service window in which free-form replies are allowed."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    phone = models.CharField(max_length=20, unique=True)
    contact = models.ForeignKey(
        "contacts.Contact",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="conversations",
    )
    profile_name = models.CharField(max_length=255, blank=True, default="")
    last_message_at = models.DateTimeField(null=True, blank=True)
    last_message_preview = models.CharField(max_length=255, blank=True, default="")
    last_inbound_at = models.DateTimeField(null=True, blank=True)
    unread_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(
                models.F("last_message_at").desc(nulls_last=True), name="conversation_recent"
            )
        ]

    def __str__(self) -> str:
        return self.phone

    @property
    def window_closes_at(self):
        return self.last_inbound_at + SERVICE_WINDOW if self.last_inbound_at else None

    def window_open(self, at=None) -> bool:
        closes = self.window_closes_at
        return closes is not None and (at or timezone.now()) < closes

    @property
    def display_name(self) -> str:
        if self.contact_id and self.contact:
            return self.contact.full_name
        return self.profile_name or self.phone


class Message(models.Model):
    """One WhatsApp message. Outbound messages are recorded before the provider is called
    (status `pending`) and get Meta's `wamid` from its answer; statuses then arrive through
    the pipeline (`apps.messaging.services.meta_webhook_ingest`)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    direction = models.CharField(max_length=8, choices=Direction.choices)
    wamid = models.CharField(max_length=255, null=True, blank=True, unique=True)
    conversation = models.ForeignKey(
        Conversation, null=True, blank=True, on_delete=models.SET_NULL, related_name="messages"
    )
    contact = models.ForeignKey(
        "contacts.Contact",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="messages",
    )
    phone = models.CharField(max_length=20)  # the other party, E.164
    kind = models.CharField(max_length=32, default="template")  # template, text, image, ...
    template_name = models.CharField(max_length=512, blank=True, default="")
    template_language = models.CharField(max_length=16, blank=True, default="")
    components = models.JSONField(default=list, blank=True)
    body = models.TextField(blank=True, default="")  # text as shown in the inbox
    media = models.JSONField(default=dict, blank=True)
    context_wamid = models.CharField(max_length=255, blank=True, default="")  # reply/reaction
    status = models.CharField(
        max_length=32, choices=MessageStatus.choices, default=MessageStatus.PENDING
    )
    status_rank = models.PositiveSmallIntegerField(default=0)
    error_code = models.CharField(max_length=32, blank=True, default="")
    error_title = models.CharField(max_length=255, blank=True, default="")
    error_detail = models.TextField(blank=True, default="")
    error_raw = models.JSONField(null=True, blank=True)
    provider = models.CharField(max_length=16, blank=True, default="")  # cloud, sandbox
    origin = models.CharField(max_length=16, blank=True, default="")  # api, inbox, campaign...
    # Campaigns: the recipient row this message belongs to (apps.campaigns owns both ids).
    campaign_id = models.UUIDField(null=True, blank=True)
    campaign_recipient_id = models.UUIDField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(models.F("created_at").desc(), models.F("id").desc(), name="msg_recent"),
            models.Index(fields=["conversation", "created_at"], name="msg_conversation"),
            models.Index(fields=["contact", "created_at"], name="msg_contact"),
            models.Index(fields=["status"], name="msg_status"),
            models.Index(fields=["campaign_id"], name="msg_campaign"),
            models.Index(fields=["phone"], name="msg_phone"),
        ]

    def __str__(self) -> str:
        """One line for histories: `12 May 08:00 · sent · template order_confirmation · read`."""
        when = timezone.localtime(self.created_at).strftime("%d %b %Y %H:%M")
        verb = "sent" if self.direction == Direction.OUTBOUND else "received"
        what = f"template {self.template_name}" if self.template_name else self.kind
        text = f" “{self.body[:80]}”" if self.body and not self.template_name else ""
        state = f" · {self.status}" if self.direction == Direction.OUTBOUND else ""
        error = f" ({self.error_code} {self.error_title})" if self.error_code else ""
        return f"{when} · {verb} {what}{text}{state}{error}"

    @property
    def is_delivered(self) -> bool:
        """`read` implies delivered, even when Meta skipped the delivered status."""
        return self.status in (MessageStatus.DELIVERED, MessageStatus.READ)

    @property
    def public_id(self) -> str:
        return self.wamid or str(self.id)


class StatusEvent(models.Model):
    """One status reported for a message (the timeline). A status is recorded once per
    message; a duplicate callback adds nothing."""

    id = models.BigAutoField(primary_key=True)
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="timeline")
    status = models.CharField(max_length=32)
    occurred_at = models.DateTimeField()
    recorded_at = models.DateTimeField(auto_now_add=True)
    applied = models.BooleanField(default=True)  # False: arrived late, the message was ahead
    error_code = models.CharField(max_length=32, blank=True, default="")
    raw = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["occurred_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["message", "status"], name="status_event_once")
        ]

    def __str__(self) -> str:
        return f"{self.status} at {self.occurred_at}"


class UnmatchedStatus(models.Model):
    """A status for a wamid no message carries (yet): Meta can report a status before the
    send's answer has been recorded. Applied as soon as a message takes that wamid."""

    id = models.BigAutoField(primary_key=True)
    wamid = models.CharField(max_length=255, db_index=True)
    payload = models.JSONField()
    received_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.wamid} (unmatched)"


class ConsentChange(models.Model):
    """An opt-out or opt-in, with when and how it happened."""

    class Action(models.TextChoices):
        OPT_OUT = "opt_out", "Opted out"
        OPT_IN = "opt_in", "Opted in"

    id = models.BigAutoField(primary_key=True)
    contact = models.ForeignKey(
        "contacts.Contact", on_delete=models.CASCADE, related_name="consent_changes"
    )
    action = models.CharField(max_length=8, choices=Action.choices)
    source = models.CharField(max_length=32)  # inbound_keyword, dashboard, api
    keyword = models.CharField(max_length=64, blank=True, default="")
    message = models.ForeignKey(Message, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.action} via {self.source}"


def default_opt_out_keywords() -> list[str]:
    return ["STOP", "UNSUBSCRIBE"]


def default_opt_in_keywords() -> list[str]:
    return ["START"]


class MessagingSettings(models.Model):
    """The workspace's messaging settings (one row)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    opt_out_keywords = ArrayField(models.CharField(max_length=64), default=default_opt_out_keywords)
    opt_in_keywords = ArrayField(models.CharField(max_length=64), default=default_opt_in_keywords)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return "messaging settings"
