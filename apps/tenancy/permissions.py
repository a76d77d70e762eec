"""Role checks, in one place. Every workspace page declares the least role it needs:

viewer   reads everything
marketer builds and runs campaigns, contacts, templates
admin    manages settings (WhatsApp account, team, API keys, webhooks)
owner    everything, including other owners
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse

from apps.tenancy.models import Role


def workspace_view(minimum_role: str = Role.VIEWER) -> Callable:
    """Decorate a `/{slug}/...` page view. The membership was checked by the middleware; this
    adds the role check and drops the `tenant` URL argument views have no use for."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args, tenant: str | None = None, **kwargs):
            if request.membership is None:
                raise Http404("No such workspace.")
            if not request.membership.has_role(minimum_role):
                raise PermissionDenied(
                    f"This page needs the {Role(minimum_role).label.lower()} role or higher."
                )
            return view(request, *args, **kwargs)

        wrapper.minimum_role = minimum_role
        return wrapper

    return decorator
