"""Path-based tenant routing: `/{slug}/...` runs in that workspace's schema.

Membership is checked here, for every workspace page, so no view can forget it: a person who
is not a member (or a slug that does not exist) gets the same 404, which tells an outsider
nothing. Anonymous visitors are sent to the login page whatever the slug, for the same reason.
Dashboard API paths (`/{slug}/api/...`) authenticate with JWT inside DRF, so their membership
check is the DRF permission's; this middleware only resolves the workspace for them.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth.views import redirect_to_login
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone

from apps.tenancy.models import RESERVED_SLUGS
from apps.tenancy.selectors import membership_for, tenant_by_slug


def _first_segment(path: str) -> str:
    return path.lstrip("/").split("/", 1)[0]


def is_dashboard_api_path(path: str) -> bool:
    parts = path.lstrip("/").split("/")
    return len(parts) > 1 and parts[1] == "api"


class TenantPathMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.tenant = None
        request.membership = None
        connection.set_schema_to_public()
        slug = _first_segment(request.path_info)
        if slug and slug not in RESERVED_SLUGS and "." not in slug:
            denied = self._enter_workspace(request, slug)
            if denied is not None:
                return denied
        try:
            return self.get_response(request)
        finally:
            # A pooled connection must not carry this workspace into the next request.
            connection.set_schema_to_public()
            timezone.deactivate()

    def _enter_workspace(self, request: HttpRequest, slug: str) -> HttpResponse | None:
        api = is_dashboard_api_path(request.path_info)
        if not api and not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        tenant = tenant_by_slug(slug=slug)
        if tenant is None:
            raise Http404("No such workspace.")
        if not api:
            membership = membership_for(user=request.user, tenant=tenant)
            if membership is None:
                raise Http404("No such workspace.")
            request.membership = membership
        request.tenant = tenant
        connection.set_tenant(tenant)
        # Dates on workspace pages read in the workspace's time zone.
        timezone.activate(tenant.timezone)
        return None
