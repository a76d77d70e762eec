import uuid

from django.db import models


class Category(models.TextChoices):
    MARKETING = "MARKETING", "Marketing"
    UTILITY = "UTILITY", "Utility"
    AUTHENTICATION = "AUTHENTICATION", "Authentication"


class Status(models.TextChoices):
    PENDING = "PENDING", "Pending"
    APPROVED = "APPROVED", "Approved"
    REJECTED = "REJECTED", "Rejected"
    PAUSED = "PAUSED", "Paused"
    DISABLED = "DISABLED", "Disabled"


class MessageTemplate(models.Model):
    """A WhatsApp message template, its components kept in Meta's own JSON shape (the list
    Meta's API takes and returns), so submission and sync need no translation."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=512)
    language = models.CharField(max_length=16)
    category = models.CharField(max_length=16, choices=Category.choices)
    components = models.JSONField(default=list)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    rejection_reason = models.TextField(blank=True)
    quality_rating = models.CharField(max_length=16, blank=True)
    meta_id = models.CharField(max_length=64, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name", "language"]
        constraints = [
            models.UniqueConstraint(fields=["name", "language"], name="template_name_language")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.language})"

    def component(self, kind: str) -> dict | None:
        return next((c for c in self.components if c.get("type") == kind), None)

    def as_meta(self) -> dict:
        entry = {
            "id": self.meta_id,
            "name": self.name,
            "language": self.language,
            "category": self.category,
            "components": self.components,
            "status": self.status,
        }
        if self.rejection_reason:
            entry["rejected_reason"] = self.rejection_reason
        if self.quality_rating:
            entry["quality_score"] = {"score": self.quality_rating}
        return entry
