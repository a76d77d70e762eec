"""Inbox and messages log pages. Thin: selectors read, services decide."""

from __future__ import annotations

from django.contrib import messages as flash
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from apps.core.errors import ApplicationError, NotFound
from apps.core.pages import paginate, template_for
from apps.message_templates.models import MessageTemplate
from apps.message_templates.rendering import (
    template_placeholders,
    template_render,
    template_send_components,
)
from apps.messaging import selectors, services
from apps.messaging.models import Conversation, MessageStatus
from apps.tenancy.models import Role
from apps.tenancy.permissions import workspace_view


def _conversation(conversation_id) -> Conversation:
    try:
        return selectors.conversation_get(conversation_id=conversation_id)
    except NotFound as error:
        raise Http404(error.message) from None


def _values_from_post(request: HttpRequest, template: MessageTemplate) -> dict:
    wanted = template_placeholders(template.components)
    values: dict = {"buttons": {}}
    for part in ("header", "body"):
        values[part] = {
            n: request.POST.get(f"{part}_{n}", "").strip() for n in wanted.get(part, [])
        }
    for index, names in (wanted.get("buttons") or {}).items():
        values["buttons"][index] = {
            n: request.POST.get(f"button_{index}_{n}", "").strip() for n in names
        }
    header = template.component("HEADER") or {}
    if str(header.get("format", "")).upper() in {"IMAGE", "VIDEO", "DOCUMENT"}:
        values["header"] = {"link": request.POST.get("header_link", "").strip()}
    return values


def _approved_templates():
    return MessageTemplate.objects.filter(status="APPROVED").order_by("name", "language")


@workspace_view(Role.VIEWER)
def inbox(request: HttpRequest, conversation_id=None) -> HttpResponse:
    search = request.GET.get("q", "")
    conversations = paginate(request, selectors.conversation_list(search=search), per_page=30)
    context = {"conversations": conversations, "search": search, "current": None}
    if conversation_id is not None:
        current = _conversation(conversation_id)
        if current.unread_count and request.membership.has_role(Role.VIEWER):
            services.conversation_mark_read(conversation=current)
        context.update(_thread_context(request, current))
    if request.htmx and request.GET.get("part") == "list":
        return render(request, "messaging/inbox.html#conversation-list", context)
    return render(request, "messaging/inbox.html", context)


def _thread_context(request: HttpRequest, conversation: Conversation) -> dict:
    templates = list(_approved_templates())
    chosen = None
    if template_id := request.GET.get("template") or request.POST.get("template"):
        chosen = next((t for t in templates if str(t.pk) == template_id), None)
    preview = None
    if chosen is not None:
        values = _values_from_post(request, chosen) if request.method == "POST" else {}
        preview = template_render(
            components=chosen.components, values=values, use_examples=True, strict=False
        )
    fields = []
    if chosen is not None:
        wanted = template_placeholders(chosen.components)
        posted = request.POST if request.method == "POST" else {}
        for part in ("header", "body"):
            for n in wanted.get(part, []):
                name = f"{part}_{n}"
                fields.append((name, f"{part.title()} {{{{{n}}}}}", posted.get(name, "")))
        for index, names in (wanted.get("buttons") or {}).items():
            for n in names:
                name = f"button_{index}_{n}"
                fields.append((name, f"Button {index} URL value", posted.get(name, "")))
        header = chosen.component("HEADER") or {}
        if str(header.get("format", "")).upper() in {"IMAGE", "VIDEO", "DOCUMENT"}:
            label = f"Header {str(header['format']).lower()} URL"
            fields.append(("header_link", label, posted.get("header_link", "")))
    return {
        "fields": fields,
        "current": conversation,
        "thread": selectors.conversation_messages(conversation=conversation),
        "window_open": conversation.window_open(),
        "templates": templates,
        "chosen": chosen,
        "placeholders": template_placeholders(chosen.components) if chosen else {},
        "preview": preview,
    }


@workspace_view(Role.VIEWER)
def thread(request: HttpRequest, conversation_id) -> HttpResponse:
    """The messages of a conversation: polled by the inbox every few seconds."""
    conversation = _conversation(conversation_id)
    context = _thread_context(request, conversation)
    return render(request, "messaging/inbox.html#thread-messages", context)


@workspace_view(Role.MARKETER)
@require_POST
def template_preview(request: HttpRequest, conversation_id) -> HttpResponse:
    conversation = _conversation(conversation_id)
    return render(request, "messaging/inbox.html#composer", _thread_context(request, conversation))


@workspace_view(Role.MARKETER)
@require_POST
def reply(request: HttpRequest, conversation_id) -> HttpResponse:
    conversation = _conversation(conversation_id)
    try:
        services.message_send_text(conversation=conversation, body=request.POST.get("body", ""))
    except ApplicationError as error:
        flash.error(request, error.message)
    return redirect(
        "messaging:conversation", tenant=request.tenant.slug, conversation_id=conversation.pk
    )


@workspace_view(Role.MARKETER)
@require_POST
def send_template(request: HttpRequest, conversation_id) -> HttpResponse:
    conversation = _conversation(conversation_id)
    template = next(
        (t for t in _approved_templates() if str(t.pk) == request.POST.get("template")), None
    )
    if template is None:
        flash.error(request, "Choose an approved template.")
    else:
        try:
            components = template_send_components(
                components=template.components, values=_values_from_post(request, template)
            )
            services.message_send_template(
                to=conversation.phone,
                template_name=template.name,
                language=template.language,
                components=components,
                origin="inbox",
            )
        except ApplicationError as error:
            flash.error(request, error.message)
        else:
            flash.success(request, f"Template {template.name} sent.")
    return redirect(
        "messaging:conversation", tenant=request.tenant.slug, conversation_id=conversation.pk
    )


@workspace_view(Role.VIEWER)
def message_log(request: HttpRequest) -> HttpResponse:
    params = request.GET
    filters = selectors.MessageFilters(
        status=params.get("status", ""),
        direction=params.get("direction", ""),
        template_name=params.get("template", ""),
        campaign_id=params.get("campaign", ""),
        created_after=params.get("after", ""),
        created_before=params.get("before", ""),
        search=params.get("q", ""),
    )
    try:
        page = paginate(request, selectors.message_list(filters=filters).select_related("contact"))
        problem = ""
    except ApplicationError as error:
        page, problem = paginate(request, []), error.message
    context = {
        "page": page,
        "problem": problem,
        "params": params,
        "search": params.get("q", ""),
        "statuses": MessageStatus.values,
        "template_names": sorted(set(_approved_templates().values_list("name", flat=True))),
    }
    return render(request, template_for(request, "messaging/log.html", "message-rows"), context)


@workspace_view(Role.VIEWER)
def message_detail(request: HttpRequest, message_id) -> HttpResponse:
    try:
        message = selectors.message_get(identifier=message_id)
    except NotFound as error:
        raise Http404(error.message) from None
    return render(
        request,
        "messaging/detail.html",
        {"message": message, "timeline": selectors.message_timeline(message=message)},
    )
