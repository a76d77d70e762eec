"""Template helpers every page uses (loaded as builtins)."""

from __future__ import annotations

from django import template
from django.urls import reverse

register = template.Library()


@register.simple_tag(takes_context=True)
def turl(context, view_name: str, *args, **kwargs) -> str:
    """Reverse a workspace URL: the current workspace's slug is filled in."""
    request = context["request"]
    return reverse(view_name, args=args, kwargs={"tenant": request.tenant.slug, **kwargs})


@register.simple_tag(takes_context=True)
def query_with(context, **changes) -> str:
    """The current query string with some parameters replaced (pagination, sorting)."""
    params = context["request"].GET.copy()
    for key, value in changes.items():
        if value in (None, ""):
            params.pop(key, None)
        else:
            params[key] = value
    encoded = params.urlencode()
    return f"?{encoded}" if encoded else "?"


@register.filter
def has_role(membership, role: str) -> bool:
    return bool(membership) and membership.has_role(role)
