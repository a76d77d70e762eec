import uuid

from django.db import models

from apps.whatsapp import crypto


class Provider(models.TextChoices):
    CLOUD = "cloud", "WhatsApp Cloud API"
    SANDBOX = "sandbox", "Sandbox (simulated)"


DEFAULT_THROUGHPUT = 80  # messages per second: Meta's standard tier for a phone number

# Meta's messaging limit: how many people the business may start conversations with in a
# rolling 24 hours (shared by the portfolio's numbers). No value (None) means unlimited.
MESSAGING_LIMIT_TIERS = [
    (250, "250 people per 24 h"),
    (2_000, "2,000 people per 24 h"),
    (10_000, "10,000 people per 24 h"),
    (100_000, "100,000 people per 24 h"),
]


class WhatsAppAccount(models.Model):
    """A workspace's WhatsApp Business Account connection. At most one is active; disconnected
    ones are kept (inactive) so messages sent through them still name their account."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    provider = models.CharField(max_length=16, choices=Provider.choices)
    waba_id = models.CharField("WABA id", max_length=64)
    phone_number_id = models.CharField(max_length=64)
    display_phone_number = models.CharField(max_length=32, blank=True)
    verified_name = models.CharField(max_length=255, blank=True)
    # Fernet ciphertext; the plain token is never stored. Empty for the sandbox.
    access_token_encrypted = models.TextField(blank=True)
    throughput_per_second = models.PositiveIntegerField(default=DEFAULT_THROUGHPUT)
    # Meta's messaging limit tier (see MESSAGING_LIMIT_TIERS); empty: unlimited.
    messaging_limit = models.PositiveIntegerField(
        null=True, blank=True, choices=MESSAGING_LIMIT_TIERS
    )
    is_active = models.BooleanField(default=True)
    connected_at = models.DateTimeField(auto_now_add=True)
    disconnected_at = models.DateTimeField(null=True, blank=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    last_check_ok = models.BooleanField(null=True)
    last_check_result = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-connected_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"],
                condition=models.Q(is_active=True),
                name="whatsapp_one_active_account",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_provider_display()} {self.display_phone_number or self.phone_number_id}"

    @property
    def access_token(self) -> str:
        if not self.access_token_encrypted:
            return ""
        return crypto.decrypt(self.access_token_encrypted)

    @access_token.setter
    def access_token(self, value: str) -> None:
        self.access_token_encrypted = crypto.encrypt(value) if value else ""

    @property
    def messaging_limit_label(self) -> str:
        return self.get_messaging_limit_display() if self.messaging_limit else "Unlimited"

    @property
    def is_sandbox(self) -> bool:
        return self.provider == Provider.SANDBOX


class SandboxStatusReport(models.Model):
    """A status the sandbox provider will report for one of its simulated sends, as Meta's
    webhook would. Rows are written at send time with the moment they fall due; a task hands
    them to the status pipeline (see apps.whatsapp.sandbox.deliver_due_reports)."""

    wamid = models.CharField(max_length=128, db_index=True)
    recipient = models.CharField(max_length=32)
    status = models.CharField(max_length=16)  # sent, delivered, read, failed
    error_code = models.IntegerField(null=True, blank=True)
    due_at = models.DateTimeField(db_index=True)
    reported_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["due_at", "id"]

    def __str__(self) -> str:
        return f"{self.wamid} {self.status}"
