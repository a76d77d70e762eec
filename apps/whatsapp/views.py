"""Settings → WhatsApp: connect (cloud or sandbox), test the connection, the messaging limit
tier, disconnect."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from apps.core.errors import ApplicationError
from apps.tenancy.models import Role
from apps.tenancy.permissions import workspace_view
from apps.whatsapp import services
from apps.whatsapp.forms import CloudAccountForm
from apps.whatsapp.models import MESSAGING_LIMIT_TIERS
from apps.whatsapp.selectors import whatsapp_account_active


def _page(
    request: HttpRequest,
    form: CloudAccountForm | None = None,
    status: int = 200,
    limit_error: str = "",
):
    from apps.messaging.selectors import messaging_limit_usage

    account = whatsapp_account_active()
    context = {
        "account": account,
        "form": form or CloudAccountForm(),
        "cloud_open": form is not None,
        "limit_tiers": MESSAGING_LIMIT_TIERS,
        "limit_error": limit_error,
        "limit_usage": messaging_limit_usage(account=account) if account else None,
    }
    return render(request, "whatsapp/settings.html", context, status=status)


def _back(request: HttpRequest) -> HttpResponse:
    return redirect("whatsapp:settings", tenant=request.tenant.slug)


@workspace_view(Role.ADMIN)
def whatsapp_settings(request: HttpRequest) -> HttpResponse:
    return _page(request)


@workspace_view(Role.ADMIN)
@require_POST
def whatsapp_connect_cloud(request: HttpRequest) -> HttpResponse:
    form = CloudAccountForm(request.POST)
    if form.is_valid():
        try:
            services.whatsapp_account_connect_cloud(
                tenant=request.tenant, actor=request.user, **form.cleaned_data
            )
        except ApplicationError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(request, "WhatsApp account connected. Test the connection next.")
            return _back(request)
    return _page(request, form, status=422)


@workspace_view(Role.ADMIN)
@require_POST
def whatsapp_connect_sandbox(request: HttpRequest) -> HttpResponse:
    try:
        services.whatsapp_account_connect_sandbox(tenant=request.tenant, actor=request.user)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Sandbox connected: sends are simulated, nothing reaches Meta.")
    return _back(request)


@workspace_view(Role.ADMIN)
@require_POST
def whatsapp_test_connection(request: HttpRequest) -> HttpResponse:
    account = whatsapp_account_active()
    if account is None:
        messages.error(request, "Connect a WhatsApp account first.")
        return _back(request)
    services.whatsapp_account_test_connection(account=account)
    if request.htmx:
        return render(request, "whatsapp/settings.html#connection-result", {"account": account})
    return _back(request)


@workspace_view(Role.ADMIN)
@require_POST
def whatsapp_messaging_limit(request: HttpRequest) -> HttpResponse:
    account = whatsapp_account_active()
    if account is None:
        messages.error(request, "Connect a WhatsApp account first.")
        return _back(request)
    try:
        services.whatsapp_account_set_messaging_limit(
            tenant=request.tenant,
            account=account,
            messaging_limit=request.POST.get("messaging_limit", ""),
            actor=request.user,
        )
    except ApplicationError as error:
        return _page(request, status=422, limit_error=error.message)
    messages.success(request, f"Messaging limit saved: {account.messaging_limit_label}.")
    return _back(request)


@workspace_view(Role.ADMIN)
@require_POST
def whatsapp_disconnect(request: HttpRequest) -> HttpResponse:
    account = whatsapp_account_active()
    if account is None:
        messages.error(request, "No WhatsApp account is connected.")
        return _back(request)
    try:
        services.whatsapp_account_disconnect(
            tenant=request.tenant, account=account, actor=request.user
        )
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "WhatsApp account disconnected; its token was erased.")
    return _back(request)
