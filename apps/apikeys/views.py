"""Settings → API keys (admins and owners). Thin: forms validate, services decide.

A new or rotated secret is rendered once, in the answer to the POST that made it; it is never
stored, put in a URL or in the session, and the page is marked `no-store`.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from apps.apikeys import selectors, services
from apps.apikeys.forms import ApiKeyCreateForm, ApiKeyRotateForm
from apps.apikeys.models import ApiKey
from apps.apikeys.scopes import SCOPE_GROUPS, SCOPE_PRESETS
from apps.core.errors import ApplicationError
from apps.core.pages import paginate
from apps.tenancy.models import Role
from apps.tenancy.permissions import workspace_view


def _page(request: HttpRequest, form: ApiKeyCreateForm, *, status: int = 200, **extra):
    page = paginate(request, selectors.api_key_list(tenant=request.tenant))
    page.object_list = selectors.api_key_with_fresh_last_used(page.object_list)
    context = {
        "page": page,
        "form": form,
        "rotate_form": ApiKeyRotateForm(),
        "scope_groups": SCOPE_GROUPS,
        "checked_scopes": form["scopes"].value() or [],
        "presets": {name: " ".join(scopes) for name, scopes in SCOPE_PRESETS.items()},
        **extra,
    }
    return render(request, "apikeys/list.html", context, status=status)


def _key_or_404(request: HttpRequest, api_key_id: int) -> ApiKey:
    api_key = selectors.api_key_get(tenant=request.tenant, api_key_id=api_key_id)
    if api_key is None:
        raise Http404("No such API key.")
    return api_key


def _secret_page(request: HttpRequest, api_key: ApiKey, secret: str, *, rotated: bool):
    return render(
        request,
        "apikeys/secret.html",
        {"api_key": api_key, "secret": secret, "rotated": rotated},
    )


@workspace_view(Role.ADMIN)
def api_key_list(request: HttpRequest) -> HttpResponse:
    return _page(request, ApiKeyCreateForm())


@workspace_view(Role.ADMIN)
@require_POST
@never_cache
def api_key_create(request: HttpRequest) -> HttpResponse:
    form = ApiKeyCreateForm(request.POST)
    if form.is_valid():
        try:
            api_key, secret = services.api_key_create(
                tenant=request.tenant, actor=request.user, **form.cleaned_data
            )
        except ApplicationError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            return _secret_page(request, api_key, secret, rotated=False)
    return _page(request, form, status=422, create_open=True)


@workspace_view(Role.ADMIN)
@require_POST
@never_cache
def api_key_rotate(request: HttpRequest, api_key_id: int) -> HttpResponse:
    api_key = _key_or_404(request, api_key_id)
    form = ApiKeyRotateForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose one of the listed grace periods.")
        return redirect("apikeys:list", tenant=request.tenant.slug)
    try:
        api_key, secret = services.api_key_rotate(
            api_key=api_key,
            actor=request.user,
            grace_period=timedelta(hours=form.cleaned_data["grace_period_hours"]),
        )
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect("apikeys:list", tenant=request.tenant.slug)
    return _secret_page(request, api_key, secret, rotated=True)


@workspace_view(Role.ADMIN)
@require_POST
def api_key_revoke(request: HttpRequest, api_key_id: int) -> HttpResponse:
    api_key = services.api_key_revoke(api_key=_key_or_404(request, api_key_id), actor=request.user)
    messages.success(request, f"“{api_key.name}” is revoked; it stops working at once.")
    return redirect("apikeys:list", tenant=request.tenant.slug)
