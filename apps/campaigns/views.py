"""Campaign pages: list, builder (one page, live count and preview over htmx), campaign page
with live progress, funnel and errors, and the lifecycle buttons. Thin: services decide."""

from __future__ import annotations

import zoneinfo
from datetime import datetime, time, timedelta
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from apps.campaigns import mapping as mapping_rules
from apps.campaigns import selectors, services
from apps.campaigns.models import Campaign, CampaignStatus
from apps.contacts.models import Group, Source
from apps.core.errors import ApplicationError
from apps.core.pages import paginate, template_for
from apps.message_templates.models import MessageTemplate
from apps.message_templates.rendering import template_placeholders
from apps.tenancy.models import Role
from apps.tenancy.permissions import workspace_view


def _turl(request: HttpRequest, name: str, **kwargs: Any) -> str:
    from django.urls import reverse

    return reverse(name, kwargs={"tenant": request.tenant.slug, **kwargs})


def _campaign(campaign_id) -> Campaign:
    try:
        return selectors.campaign_get(campaign_id=campaign_id)
    except ApplicationError:
        raise Http404("No such campaign.") from None


@workspace_view(Role.VIEWER)
def campaign_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    search = request.GET.get("q", "").strip()
    page = paginate(request, selectors.campaign_list(status=status, search=search))
    context = {
        "page": page,
        "search": search,
        "status": status,
        "statuses": CampaignStatus.choices,
    }
    return render(request, template_for(request, "campaigns/list.html", "campaign-rows"), context)


# ------------------------------------------------------------------------------------------
# Builder
# ------------------------------------------------------------------------------------------
def _slots(template: MessageTemplate | None, data=None) -> list[dict[str, str]]:
    """The placeholders of a template as form rows: key like "body.1" or "buttons.0.1", each
    with what was typed for it (so a refused save or a re-render loses nothing)."""
    if template is None:
        return []
    wanted = template_placeholders(template.components)
    rows = [
        {"key": f"{part}.{n}", "label": f"{part.title()} {{{{{n}}}}}"}
        for part in ("header", "body")
        for n in wanted.get(part, [])
    ]
    for index, names in (wanted.get("buttons") or {}).items():
        rows += [
            {"key": f"buttons.{index}.{n}", "label": f"Button {int(index) + 1} URL {{{{{n}}}}}"}
            for n in names
        ]
    for row in rows:
        for part in ("source", "field", "value", "fallback"):
            row[part] = data.get(f"map-{row['key']}-{part}", "") if data is not None else ""
    return rows


def _mapping_from_post(data, template: MessageTemplate | None) -> dict[str, Any] | None:
    mapping: dict[str, Any] = {}
    for slot in _slots(template):
        source = data.get(f"map-{slot['key']}-source", "field")
        field = data.get(f"map-{slot['key']}-field", "").strip()
        value = data.get(f"map-{slot['key']}-value", "").strip()
        fallback = data.get(f"map-{slot['key']}-fallback", "").strip()
        if source != "value" and value.startswith("custom_fields."):
            field = value  # a custom field is typed, not picked
        entry: dict[str, Any] = {"value": value} if source == "value" else {"field": field}
        if source != "value" and fallback:
            entry["fallback"] = fallback
        parts = slot["key"].split(".")
        target = mapping
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        target[parts[-1]] = entry
    media_id = data.get("header_media_id", "").strip()
    if template is not None and mapping_rules.media_header_format(template) and media_id:
        mapping["header"] = {"media_id": media_id}
    return mapping or None


def _template_from_post(data) -> MessageTemplate | None:
    value = data.get("template", "")
    if not value:
        return None
    try:
        return services.template_resolve(template_id=value)
    except ApplicationError:
        return None


def _local_datetime(value: str, tz: zoneinfo.ZoneInfo) -> datetime | None:
    if not value:
        return None
    try:
        naive = datetime.fromisoformat(value)
    except ValueError:
        raise ApplicationError("Give the time as YYYY-MM-DD HH:MM.", field="scheduled_at") from None
    return naive.replace(tzinfo=tz)


def _time(value: str) -> time | None:
    return time.fromisoformat(value) if value else None


def _chosen(data) -> dict[str, list[str]]:
    return {
        name: data.getlist(name) if hasattr(data, "getlist") else []
        for name in ("groups", "sources", "contacts")
    }


def _builder_context(request: HttpRequest, data) -> dict[str, Any]:
    template = _template_from_post(data)
    chosen = _chosen(data)
    return {
        "templates": MessageTemplate.objects.filter(status="APPROVED").order_by("name", "language"),
        "groups": Group.objects.order_by("name"),
        "sources": Source.objects.order_by("name"),
        "template": template,
        "slots": _slots(template, data),
        "fields": [*mapping_rules.CONTACT_FIELDS, "custom_fields.<key>"],
        "data": data,
        "chosen": chosen,
        "picked": selectors.contacts_picked(ids=chosen["contacts"]),
        "timezone": request.tenant.timezone,
        "field_errors": {},
    }


def _audience_ids(data) -> dict[str, list]:
    try:
        return {name: services._uuid_list(ids, name) for name, ids in _chosen(data).items()}
    except ApplicationError:
        return {"groups": [], "sources": [], "contacts": []}


def _error_context(error: Exception) -> tuple[list[str], dict[str, str]]:
    """A refused save as a summary and as messages by field (shown beside each field; a
    mapping problem beside its placeholder, keyed like "map-body.1")."""
    problems = getattr(error, "details", None)
    if not isinstance(problems, list):
        field = getattr(error, "field", None) or ""
        problems = [{"field": field, "message": getattr(error, "message", str(error))}]
    by_field: dict[str, str] = {}
    for problem in problems:
        field = str(problem.get("field") or "")
        if field.startswith("variable_mapping"):
            parts = field.split(".")[1:]
            if parts and parts[-1] in ("field", "value", "fallback"):
                parts = parts[:-1]
            field = "map-" + ".".join(parts) if parts else "variable_mapping"
        elif field.startswith("audience"):
            field = "audience"
        elif field.startswith("send_window"):
            field = "send_window"
        by_field.setdefault(field, str(problem.get("message", "")))
    summary = [
        f"{p['field']}: {p['message']}" if p.get("field") else str(p.get("message", ""))
        for p in problems
    ]
    return summary, by_field


def _live(request: HttpRequest, data) -> dict[str, Any]:
    """Recipient count, coverage warnings and the rendered preview for what is typed."""
    from apps.message_templates.rendering import template_render

    template = _template_from_post(data)
    contacts = selectors.audience_contacts(**_audience_ids(data))
    preview = selectors.audience_preview(contacts=contacts, sample=20)
    live: dict[str, Any] = {
        "total": preview["total"],
        "sample": preview["sample"],
        "limit_warning": selectors.audience_messaging_limit_warning(
            audience_total=preview["total"]
        ),
    }
    if template is None:
        return live
    mapping = _mapping_from_post(data, template)
    problems = mapping_rules.mapping_problems(template=template, mapping=mapping)
    live["problems"] = problems
    fields = [f for f in mapping_rules.mapped_fields(mapping) if mapping_rules.field_is_known(f)]
    if fields and preview["total"]:
        coverage = selectors.audience_field_coverage(contacts=contacts, fields=fields)
        live["warnings"] = [
            f"{round(100 * c['missing'] / preview['total'])}% have no {name}"
            for name, c in coverage["coverage"].items()
            if c["missing"]
        ]
    sample_id = data.get("sample_contact") or (
        preview["sample"][0]["id"] if preview["sample"] else None
    )
    live["sample_contact"] = str(sample_id) if sample_id else ""
    values = None
    if not problems and sample_id:
        values = selectors.contact_values(mapping=mapping, contact_id=sample_id)
    live["rendered"] = template_render(
        components=template.components,
        values={
            k: v for k, v in (values or {}).items() if isinstance(v, dict) and "media_id" not in v
        },
        use_examples=values is None,
        strict=False,
    )
    return live


def _create(request: HttpRequest, context: dict[str, Any], action: str) -> Campaign:
    template = context["template"]
    if template is None:
        raise ApplicationError("Pick an approved template.", field="template")
    tz = zoneinfo.ZoneInfo(request.tenant.timezone)
    try:
        batch_size = int(request.POST.get("batch_size") or 50)
    except ValueError:
        raise ApplicationError("Batch size is a whole number.", field="batch_size") from None
    chosen = context["chosen"]
    campaign = services.campaign_create(
        name=request.POST.get("name", ""),
        description=request.POST.get("description") or None,
        template=template,
        batch_size=batch_size,
        variable_mapping=_mapping_from_post(request.POST, template),
        groups=chosen["groups"],
        sources=chosen["sources"],
        contacts=chosen["contacts"],
        scheduled_at=_local_datetime(request.POST.get("scheduled_at", ""), tz)
        if action == "schedule"
        else None,
        send_window_start=_time(request.POST.get("send_window_start", "")),
        send_window_end=_time(request.POST.get("send_window_end", "")),
        created_by_email=request.user.email,
    )
    if action == "send":
        services.campaign_send_now(campaign=campaign)
        messages.success(request, "The campaign is sending.")
    elif action == "schedule":
        messages.success(request, "The campaign is scheduled.")
    else:
        messages.success(request, "Draft saved.")
    return campaign


def _test_send(request: HttpRequest, context: dict[str, Any]) -> None:
    """Send the template to one number (dashboard only); the outcome is shown inline."""
    from apps.whatsapp.graph import GraphError

    template = context["template"]
    try:
        if template is None:
            raise ApplicationError("Pick an approved template first.", field="template")
        message = services.campaign_test_send(
            template=template,
            variable_mapping=_mapping_from_post(request.POST, template),
            to=request.POST.get("test_phone", ""),
            sample_contact_id=request.POST.get("sample_contact")
            or (context["live"]["sample"][0]["id"] if context["live"]["sample"] else None),
        )
    except GraphError as error:
        context["test_send"] = {"error": f"WhatsApp refused the test send: {error.message}"}
    except ApplicationError as error:
        context["test_send"] = {"error": error.message}
    else:
        if message.status == "failed":
            context["test_send"] = {"error": f"Not sent: {message.error_title}."}
        else:
            context["test_send"] = {
                "ok": f"Test message sent to {message.phone}.",
                "message": message,
            }


def _upload(request: HttpRequest, context: dict[str, Any]) -> None:
    """An uploaded CSV becomes a group, chosen at once; problems are shown inline."""
    try:
        upload = services.campaign_audience_upload(uploaded_file=request.FILES.get("audience_csv"))
    except ApplicationError as error:
        context["upload"] = {"error": error.message}
        return
    context["chosen"]["groups"].append(str(upload.group.id))
    context["upload"] = {"result": upload}


def _picker(request: HttpRequest, context: dict[str, Any]) -> None:
    term = request.POST.get("contact_search", "")
    context["search_term"] = term
    context["search_results"] = selectors.contact_picker_search(
        term=term, exclude=[c.id for c in context["picked"]]
    )


@workspace_view(Role.MARKETER)
@require_http_methods(["GET", "POST"])
def campaign_create(request: HttpRequest) -> HttpResponse:
    data = request.POST if request.method == "POST" else request.GET
    context = _builder_context(request, data)
    action = request.POST.get("action", "draft") if request.method == "POST" else ""
    if request.method == "POST" and not request.htmx and action in ("draft", "schedule", "send"):
        try:
            campaign = _create(request, context, action)
            return redirect(_turl(request, "campaigns:detail", campaign_id=campaign.id))
        except (ApplicationError, ValueError) as error:
            context["errors"], context["field_errors"] = _error_context(error)
    if action == "upload":
        _upload(request, context)
        if request.htmx:
            response = render(request, "campaigns/builder.html#audience", context)
            response["HX-Trigger"] = "audienceChanged"
            return response
    if action == "search":
        _picker(request, context)
        if request.htmx:
            return render(request, "campaigns/builder.html#contact-picker", context)
    context["live"] = _live(request, data)
    if action == "test":
        _test_send(request, context)
        if request.htmx:
            return render(request, "campaigns/builder.html#test-send", context)
    if request.htmx and request.method == "POST":
        return render(request, "campaigns/builder.html#live", context)
    if (
        request.htmx
        and request.GET.get("template") is not None
        and request.headers.get("HX-Target") == "mapping"
    ):
        return render(request, "campaigns/builder.html#mapping", context)
    return render(request, "campaigns/builder.html", context)


# ------------------------------------------------------------------------------------------
# Campaign page
# ------------------------------------------------------------------------------------------
def _funnel_svg(stats: dict[str, int]) -> list[dict[str, Any]]:
    total = max(stats["total"], 1)
    bars = []
    for i, (label, key, css) in enumerate(
        [
            ("Sent", "sent", "sent"),
            ("Delivered", "delivered", "delivered"),
            ("Read", "read", "read"),
            ("Failed", "failed", "failed"),
        ]
    ):
        bars.append(
            {
                "label": label,
                "value": stats[key],
                "width": round(300 * stats[key] / total),
                "y": i * 28,
                "css": css,
            }
        )
    return bars


def _rate_chart(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Sends per minute for an SVG of 400 x 100: a line through a dot per minute. The dots
    keep a campaign sent within one minute visible (a line needs two points), centred then."""
    if not rows:
        return {}
    peak = max(row["count"] for row in rows) or 1
    step = 400 / max(len(rows) - 1, 1)
    dots = [
        (200 if len(rows) == 1 else round(i * step), round(100 - 90 * row["count"] / peak))
        for i, row in enumerate(rows)
    ]
    return {
        "points": " ".join(f"{x},{y}" for x, y in dots),
        "dots": dots,
        "peak": peak,
        "per_second": round(peak / 60, 1),
        "rows": rows,
    }


# Statuses keep arriving after the last send (deliveries, reads, late failures): the campaign
# page keeps following a campaign this long after it ended.
FOLLOW_AFTER_END = timedelta(minutes=2)


def _followed(campaign: Campaign) -> bool:
    """Whether the campaign page refreshes itself."""
    if campaign.status in (CampaignStatus.RUNNING, CampaignStatus.SCHEDULED, CampaignStatus.PAUSED):
        return True
    ended = campaign.completed_at
    return ended is not None and timezone.now() - ended < FOLLOW_AFTER_END


@workspace_view(Role.VIEWER)
def campaign_detail(request: HttpRequest, campaign_id) -> HttpResponse:
    campaign = _campaign(campaign_id)
    context = {
        "campaign": campaign,
        "funnel": _funnel_svg(campaign.stats),
        "errors": selectors.campaign_errors_summary(campaign=campaign),
        "audiences": selectors.campaign_audience_rows(campaign=campaign),
        "timeline": selectors.campaign_timeline(campaign=campaign),
        "rate": _rate_chart(selectors.campaign_send_rate(campaign=campaign)),
        "live": _followed(campaign),
        "timezone": request.tenant.timezone,
    }
    if request.htmx and request.headers.get("HX-Target") == "campaign-live":
        return render(request, "campaigns/detail.html#campaign-live", context)
    return render(request, "campaigns/detail.html", context)


@workspace_view(Role.VIEWER)
def campaign_error_drilldown(request: HttpRequest, campaign_id, error_code: str) -> HttpResponse:
    campaign = _campaign(campaign_id)
    recipients = selectors.campaign_errors_drilldown(campaign=campaign, error_code=error_code)
    from apps.whatsapp.errors import error_info

    return render(
        request,
        "campaigns/drilldown.html",
        {
            "campaign": campaign,
            "code": error_code,
            "info": error_info(error_code),
            "recipients": recipients,
        },
    )


ACTIONS = {
    "pause": services.campaign_pause,
    "resume": services.campaign_resume,
    "stop": services.campaign_stop,
    "send": services.campaign_send_now,
}


@workspace_view(Role.MARKETER)
@require_POST
def campaign_action(request: HttpRequest, campaign_id, action: str) -> HttpResponse:
    campaign = _campaign(campaign_id)
    if action not in ACTIONS:
        raise Http404("No such action.")
    try:
        ACTIONS[action](campaign=campaign)
        messages.success(request, f"Campaign {campaign.name}: {action} done.")
    except ApplicationError as error:
        messages.error(request, error.message)
    return redirect(_turl(request, "campaigns:detail", campaign_id=campaign.id))


@workspace_view(Role.MARKETER)
@require_POST
def campaign_duplicate(request: HttpRequest, campaign_id) -> HttpResponse:
    original = _campaign(campaign_id)
    ids = selectors.campaign_audience_ids(campaign=original)
    copy = services.campaign_create(
        name=f"{original.name} (copy)"[:120],
        description=original.description,
        template=original.template,
        batch_size=original.batch_size,
        variable_mapping=original.variable_mapping,
        groups=ids["groups"],
        sources=ids["sources"],
        contacts=ids["contacts"],
        send_window_start=original.send_window_start,
        send_window_end=original.send_window_end,
        created_by_email=request.user.email,
    )
    messages.success(request, "Campaign duplicated as a draft.")
    return redirect(_turl(request, "campaigns:detail", campaign_id=copy.id))


def now_local(tz_name: str) -> datetime:
    return timezone.now().astimezone(zoneinfo.ZoneInfo(tz_name))


@workspace_view(Role.MARKETER)
@require_POST
def campaign_follow_up(request: HttpRequest, campaign_id) -> HttpResponse:
    """ "Retry failed" or "retarget" a finished campaign: a new draft to review."""
    campaign = _campaign(campaign_id)
    segment = request.POST.get("segment", "retry")
    try:
        if segment == "retry":
            follow_up = services.campaign_retry_failed(
                campaign=campaign, created_by_email=request.user.email
            )
        else:
            follow_up = services.campaign_retarget(
                campaign=campaign, segment=segment, created_by_email=request.user.email
            )
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect(_turl(request, "campaigns:detail", campaign_id=campaign.id))
    messages.success(request, "A draft campaign was created for those recipients.")
    return redirect(_turl(request, "campaigns:detail", campaign_id=follow_up.id))
