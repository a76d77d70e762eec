"""Settings → Webhooks (admins): endpoints with their health, create/edit with an event
picker, the secret, test events, enable/disable, deliveries with every attempt, retry now.
Views stay thin: forms validate input, services decide."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from apps.core.errors import ApplicationError, NotFound
from apps.core.pages import paginate, template_for
from apps.tenancy.models import Role
from apps.tenancy.permissions import workspace_view
from apps.webhooks import selectors
from apps.webhooks.events import event_types_by_resource
from apps.webhooks.forms import DeliveryFilterForm, EndpointForm
from apps.webhooks.models import Endpoint
from apps.webhooks.services import endpoints as services


def _endpoint(endpoint_id) -> Endpoint:
    try:
        return selectors.endpoint_get(endpoint_id=endpoint_id)
    except NotFound as error:
        raise Http404(error.message) from None


def _back(request: HttpRequest, endpoint: Endpoint) -> HttpResponse:
    return redirect("webhooks:detail", tenant=request.tenant.slug, endpoint_id=endpoint.id)


def _form_context(form: EndpointForm) -> dict:
    chosen = set(form["event_types"].value() or [])
    return {"form": form, "event_groups": event_types_by_resource(), "chosen": chosen}


@workspace_view(Role.ADMIN)
def endpoint_list(request: HttpRequest) -> HttpResponse:
    endpoints = list(selectors.endpoint_list())
    health = selectors.endpoint_health(endpoint_ids=[e.id for e in endpoints])
    rows = [(endpoint, health[endpoint.id]) for endpoint in endpoints]
    return render(request, "webhooks/endpoint_list.html", {"rows": rows})


@workspace_view(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def endpoint_create(request: HttpRequest) -> HttpResponse:
    form = EndpointForm(request.POST or None, initial={"all_events": True})
    if request.method == "POST" and form.is_valid():
        try:
            endpoint = services.endpoint_create(
                tenant=request.tenant,
                actor=request.user,
                url=form.cleaned_data["url"],
                description=form.cleaned_data["description"],
                event_types=form.chosen_event_types(),
            )
        except ApplicationError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(request, "Endpoint added. Copy its signing secret below.")
            return redirect(
                f"{_back(request, endpoint).url}?reveal=1",
            )
    status = 422 if request.method == "POST" else 200
    context = {**_form_context(form), "creating": True}
    return render(request, "webhooks/endpoint_form.html", context, status=status)


@workspace_view(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def endpoint_edit(request: HttpRequest, endpoint_id) -> HttpResponse:
    endpoint = _endpoint(endpoint_id)
    initial = {
        "url": endpoint.url,
        "description": endpoint.description,
        "all_events": endpoint.subscribes_to_all,
        "event_types": endpoint.event_types,
    }
    form = EndpointForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.endpoint_update(
                tenant=request.tenant,
                endpoint=endpoint,
                actor=request.user,
                url=form.cleaned_data["url"],
                description=form.cleaned_data["description"],
                event_types=form.chosen_event_types(),
            )
        except ApplicationError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(request, "Endpoint saved.")
            return _back(request, endpoint)
    status = 422 if request.method == "POST" else 200
    context = {**_form_context(form), "endpoint": endpoint}
    return render(request, "webhooks/endpoint_form.html", context, status=status)


@workspace_view(Role.ADMIN)
def endpoint_detail(request: HttpRequest, endpoint_id) -> HttpResponse:
    endpoint = _endpoint(endpoint_id)
    filters = DeliveryFilterForm(request.GET or None)
    status = event_type = ""
    if filters.is_valid():
        status = filters.cleaned_data["status"]
        event_type = filters.cleaned_data["event_type"]
    deliveries = selectors.delivery_list(endpoint=endpoint, status=status, event_type=event_type)
    context = {
        "endpoint": endpoint,
        "health": selectors.endpoint_health(endpoint_ids=[endpoint.id])[endpoint.id],
        "filters": filters,
        "page": paginate(request, deliveries),
        "reveal": request.GET.get("reveal") == "1",
        "old_secret_until": (
            endpoint.previous_secret_expires_at
            if len(services.endpoint_signing_secrets(endpoint=endpoint, now=timezone.now())) > 1
            else None
        ),
        "filtered": bool(status or event_type),
    }
    template = template_for(request, "webhooks/endpoint_detail.html", "delivery-rows")
    return render(request, template, context)


@workspace_view(Role.ADMIN)
def endpoint_secret(request: HttpRequest, endpoint_id) -> HttpResponse:
    """The secret, on request (htmx swaps it in place of the masked one)."""
    endpoint = _endpoint(endpoint_id)
    response = render(request, "webhooks/_secret.html", {"endpoint": endpoint, "reveal": True})
    response["Cache-Control"] = "no-store"
    return response


@workspace_view(Role.ADMIN)
@require_POST
def endpoint_rotate(request: HttpRequest, endpoint_id) -> HttpResponse:
    endpoint = _endpoint(endpoint_id)
    services.endpoint_rotate_secret(tenant=request.tenant, endpoint=endpoint, actor=request.user)
    messages.success(
        request, "New secret created. The old one keeps signing beside it for 24 hours."
    )
    return redirect(f"{_back(request, endpoint).url}?reveal=1")


@workspace_view(Role.ADMIN)
@require_POST
def endpoint_test(request: HttpRequest, endpoint_id) -> HttpResponse:
    endpoint = _endpoint(endpoint_id)
    try:
        services.endpoint_send_test(tenant=request.tenant, endpoint=endpoint, actor=request.user)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Test event queued; it appears in the deliveries below.")
    return _back(request, endpoint)


@workspace_view(Role.ADMIN)
@require_POST
def endpoint_enable_view(request: HttpRequest, endpoint_id) -> HttpResponse:
    endpoint = _endpoint(endpoint_id)
    services.endpoint_enable(tenant=request.tenant, endpoint=endpoint, actor=request.user)
    messages.success(request, "Endpoint enabled; pending deliveries resume.")
    return _back(request, endpoint)


@workspace_view(Role.ADMIN)
@require_POST
def endpoint_disable_view(request: HttpRequest, endpoint_id) -> HttpResponse:
    endpoint = _endpoint(endpoint_id)
    services.endpoint_disable(tenant=request.tenant, endpoint=endpoint, actor=request.user)
    messages.success(request, "Endpoint disabled; nothing is sent to it until you enable it.")
    return _back(request, endpoint)


@workspace_view(Role.ADMIN)
@require_POST
def endpoint_delete_view(request: HttpRequest, endpoint_id) -> HttpResponse:
    endpoint = _endpoint(endpoint_id)
    services.endpoint_delete(tenant=request.tenant, endpoint=endpoint, actor=request.user)
    messages.success(request, "Endpoint deleted.")
    return redirect("webhooks:list", tenant=request.tenant.slug)


@workspace_view(Role.ADMIN)
def delivery_detail(request: HttpRequest, endpoint_id, delivery_id) -> HttpResponse:
    endpoint = _endpoint(endpoint_id)
    try:
        delivery = selectors.delivery_get(endpoint=endpoint, delivery_id=delivery_id)
    except NotFound as error:
        raise Http404(error.message) from None
    context = {
        "endpoint": endpoint,
        "delivery": delivery,
        "attempts": selectors.delivery_attempts(delivery=delivery),
    }
    return render(request, "webhooks/delivery_detail.html", context)


@workspace_view(Role.ADMIN)
@require_POST
def delivery_retry_view(request: HttpRequest, endpoint_id, delivery_id) -> HttpResponse:
    endpoint = _endpoint(endpoint_id)
    try:
        delivery = selectors.delivery_get(endpoint=endpoint, delivery_id=delivery_id)
        services.delivery_retry(tenant=request.tenant, delivery=delivery, actor=request.user)
    except NotFound as error:
        raise Http404(error.message) from None
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Retry queued.")
    return redirect(
        "webhooks:delivery",
        tenant=request.tenant.slug,
        endpoint_id=endpoint.id,
        delivery_id=delivery_id,
    )
