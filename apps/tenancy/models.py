from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django_tenants.models import DomainMixin, TenantMixin

from apps.tenancy.plans import PLAN_LIMITS, Plan, PlanLimits

# First path segments that belong to the site itself and can never be a workspace slug.
RESERVED_SLUGS = frozenset(
    {
        "accounts", "admin", "api", "static", "media", "webhooks", "healthz", "readyz",
        "public", "tenant_template", "docs", "login", "logout", "settings", "www", "app",
        "favicon.ico", "robots.txt", "assets", "auth", "help", "status", "new", "signup",
    }
)  # fmt: skip


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"“{value}” is not a known time zone.")


class Tenant(TenantMixin):
    """A customer workspace. Its data lives in the PostgreSQL schema named after its slug."""

    slug = models.SlugField(max_length=48, unique=True)
    name = models.CharField(max_length=120)
    plan = models.CharField(max_length=20, choices=Plan.CHOICES, default=Plan.FREE)
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Set only for enterprise tenants, whose API limits are negotiated one by one.
    custom_requests_per_minute = models.PositiveIntegerField(null=True, blank=True)
    custom_requests_per_day = models.PositiveIntegerField(null=True, blank=True)

    auto_create_schema = True
    auto_drop_schema = True

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def limits(self) -> PlanLimits:
        base = PLAN_LIMITS[self.plan]
        if self.plan != Plan.ENTERPRISE:
            return base
        return PlanLimits(
            requests_per_minute=self.custom_requests_per_minute or base.requests_per_minute,
            requests_per_day=self.custom_requests_per_day or base.requests_per_day,
        )


class Domain(DomainMixin):
    """Required by django-tenants. Lynkist routes by path, so this only records a name."""


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    MARKETER = "marketer", "Marketer"
    VIEWER = "viewer", "Viewer"


# Each role can do everything the roles after it can.
ROLE_RANK = {Role.VIEWER: 0, Role.MARKETER: 1, Role.ADMIN: 2, Role.OWNER: 3}


class Membership(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "tenant"], name="unique_membership")]
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.user} in {self.tenant} as {self.role}"

    def has_role(self, minimum: str) -> bool:
        return ROLE_RANK[Role(self.role)] >= ROLE_RANK[Role(minimum)]
