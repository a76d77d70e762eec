from __future__ import annotations

from django.http import HttpRequest

from apps.tenancy.selectors import memberships_of_user


def workspace(request: HttpRequest) -> dict:
    """The current workspace and the others the user can switch to, for the page header."""
    membership = getattr(request, "membership", None)
    user = getattr(request, "user", None)
    if membership is None or user is None or not user.is_authenticated:
        return {}
    return {
        "workspace": membership.tenant,
        "membership": membership,
        "other_memberships": lambda: memberships_of_user(user=user).exclude(pk=membership.pk),
    }
