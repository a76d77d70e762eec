from django.db import models


class MetaCallback(models.Model):
    """One POST from Meta to /webhooks/whatsapp whose signature checked out, kept byte for
    byte. A row is processed (`processed_at`) or waiting (`next_attempt_at`); after too many
    failed attempts it is given up (`failed_at`) with the last error kept for an operator."""

    id = models.BigAutoField(primary_key=True)
    body = models.BinaryField()
    received_at = models.DateTimeField(auto_now_add=True)
    next_attempt_at = models.DateTimeField(auto_now_add=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    processed_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")

    class Meta:
        indexes = [
            # The drain's queue: only waiting rows are indexed, so the index stays small.
            models.Index(
                fields=["next_attempt_at", "id"],
                name="metacallback_waiting",
                condition=models.Q(processed_at__isnull=True, failed_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return f"callback {self.pk}"
