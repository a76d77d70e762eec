from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone


class ApiKeyMode(models.TextChoices):
    LIVE = "live", "Live"
    TEST = "test", "Test"


class ApiKey(models.Model):
    """A secret an integrator uses to call the public API for one workspace.

    Only the SHA-256 of the secret is stored. A rotation moves the current hash to
    `previous_key_hash`, which keeps authenticating until `previous_key_expires_at`, so that
    integrators can roll the new secret out without downtime. The record (and its id) stays the
    same across rotations, which is what idempotency entries and rate limits hang on.
    """

    tenant = models.ForeignKey("tenancy.Tenant", on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    # What the dashboard shows to tell keys apart, e.g. `lk_sk_live_3f9a1c07`.
    prefix = models.CharField(max_length=24)
    key_hash = models.CharField(max_length=64, unique=True)
    previous_key_hash = models.CharField(max_length=64, unique=True, null=True, blank=True)
    previous_key_expires_at = models.DateTimeField(null=True, blank=True)
    mode = models.CharField(max_length=4, choices=ApiKeyMode.choices, default=ApiKeyMode.LIVE)
    scopes = ArrayField(models.CharField(max_length=32), default=list, blank=True)
    # CIDRs (IPv4 or IPv6); empty means any address.
    ip_allowlist = ArrayField(models.CharField(max_length=64), default=list, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    rotated_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def status(self) -> str:
        if self.is_revoked:
            return "revoked"
        if self.is_expired:
            return "expired"
        return "active"

    @property
    def previous_key_active(self) -> bool:
        return bool(
            self.previous_key_hash
            and self.previous_key_expires_at
            and self.previous_key_expires_at > timezone.now()
        )
