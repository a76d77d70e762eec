"""Template pages: list with filters, builder with live preview, detail, delete, sync."""

from __future__ import annotations

import json

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from apps.core.errors import ApplicationError
from apps.core.pages import paginate, template_for
from apps.message_templates import selectors, services
from apps.message_templates.forms import TemplateBuilderForm
from apps.message_templates.models import Category, Status
from apps.message_templates.rendering import template_placeholders, template_render
from apps.tenancy.models import Role
from apps.tenancy.permissions import workspace_view
from apps.whatsapp.selectors import whatsapp_account_active


@workspace_view(Role.VIEWER)
def template_list(request: HttpRequest) -> HttpResponse:
    filters = {
        "status": request.GET.get("status", ""),
        "category": request.GET.get("category", ""),
        "language": request.GET.get("language", "").strip(),
        "name": request.GET.get("q", "").strip(),
    }
    page = paginate(request, selectors.message_template_list(**filters))
    context = {
        "page": page,
        "search": filters["name"],
        "filters": filters,
        "statuses": Status.choices,
        "categories": Category.choices,
        "account": whatsapp_account_active(),
    }
    return render(
        request, template_for(request, "message_templates/list.html", "template-rows"), context
    )


@workspace_view(Role.MARKETER)
@require_http_methods(["GET", "POST"])
def template_create(request: HttpRequest) -> HttpResponse:
    form = TemplateBuilderForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        components, where = form.components()
        try:
            template = services.message_template_create(
                name=form.cleaned_data["name"],
                language=form.cleaned_data["language"],
                category=form.cleaned_data["category"],
                components=components,
            )
        except ApplicationError as error:
            problems = error.details if isinstance(error.details, list) else None
            for problem in problems or [{"field": error.field, "message": error.message}]:
                field = problem.get("field")
                field = where.get(field, field)
                form.add_error(field if field in form.fields else None, problem["message"])
        else:
            messages.success(request, f"“{template.name}” submitted to WhatsApp for review.")
            return redirect(
                "message_templates:detail", tenant=request.tenant.slug, template_id=template.id
            )
    status = 422 if request.method == "POST" else 200
    return render(
        request,
        "message_templates/builder.html",
        {"form": form, "account": whatsapp_account_active()},
        status=status,
    )


@workspace_view(Role.VIEWER)
def template_detail(request: HttpRequest, template_id: str) -> HttpResponse:
    template = _get(template_id)
    preview = template_render(components=template.components, use_examples=True, strict=False)
    context = {
        "template": template,
        "preview": preview,
        "placeholders": template_placeholders(template.components),
        "components_json": json.dumps(template.components, indent=2, ensure_ascii=False),
    }
    return render(request, "message_templates/detail.html", context)


@workspace_view(Role.MARKETER)
@require_POST
def template_delete(request: HttpRequest, template_id: str) -> HttpResponse:
    template = _get(template_id)
    try:
        services.message_template_delete(template=template)
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect(
            "message_templates:detail", tenant=request.tenant.slug, template_id=template.id
        )
    messages.success(request, f"“{template.name}” ({template.language}) deleted.")
    return redirect("message_templates:list", tenant=request.tenant.slug)


@workspace_view(Role.MARKETER)
@require_POST
def template_sync(request: HttpRequest) -> HttpResponse:
    try:
        result = services.message_template_sync()
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            f"Synced from WhatsApp: {result.created} new, {result.updated} updated, "
            f"{result.removed} removed, {result.status_changes} status changes.",
        )
    return redirect("message_templates:list", tenant=request.tenant.slug)


def _get(template_id: str):
    from django.http import Http404

    try:
        return selectors.message_template_get(identifier=template_id)
    except ApplicationError as error:
        raise Http404(error.message) from error
