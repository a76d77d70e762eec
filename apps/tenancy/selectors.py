from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from apps.tenancy.models import Membership, Tenant


def tenant_by_slug(*, slug: str) -> Tenant | None:
    return Tenant.objects.filter(slug=slug, is_active=True).first()


def membership_for(*, user, tenant: Tenant) -> Membership | None:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    return Membership.objects.filter(user=user, tenant=tenant).first()


def memberships_of_user(*, user) -> QuerySet[Membership]:
    """The workspaces a person can open, for the picker and the switcher."""
    return (
        Membership.objects.filter(user=user, tenant__is_active=True)
        .select_related("tenant")
        .annotate(member_count=Count("tenant__memberships"))
        .order_by("tenant__name")
    )


def membership_list(*, tenant: Tenant, search: str = "") -> QuerySet[Membership]:
    members = Membership.objects.filter(tenant=tenant).select_related("user")
    if search:
        members = members.filter(
            Q(user__email__icontains=search) | Q(user__full_name__icontains=search)
        )
    return members.order_by("user__email")
