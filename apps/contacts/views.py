"""Contacts, groups and sources pages. Thin: forms shape input, services decide, selectors read.
Viewers read everything; marketers and above change contacts."""

from __future__ import annotations

import csv
import json

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST
from django_tenants.utils import schema_context

from apps.contacts import selectors, services
from apps.contacts.forms import (
    BulkActionForm,
    ContactForm,
    CustomFieldsForm,
    GroupForm,
    NoteForm,
    SourceForm,
    TagsForm,
    add_service_error,
)
from apps.contacts.models import Contact, Group
from apps.contacts.selectors import SORTS, ContactFilters
from apps.core.errors import ApplicationError, NotFound
from apps.core.pages import paginate, template_for
from apps.tenancy.models import Role
from apps.tenancy.permissions import workspace_view

EXPORT_COLUMNS = [
    "id", "first_name", "last_name", "phone", "email", "company", "job_title", "status",
    "tags", "custom_fields", "source", "opted_out", "created_at", "updated_at",
]  # fmt: skip


def _url(request: HttpRequest, name: str, **kwargs) -> str:
    return reverse(name, kwargs={"tenant": request.tenant.slug, **kwargs})


def _contact(contact_id) -> Contact:
    try:
        return selectors.contact_get(contact_id=contact_id)
    except NotFound as error:
        raise Http404(error.message) from None


def _group(group_id) -> Group:
    try:
        return selectors.group_get(group_id=group_id)
    except NotFound as error:
        raise Http404(error.message) from None


def filters_from(request: HttpRequest) -> ContactFilters:
    params = request.GET
    opted_out = {"yes": True, "no": False}.get(params.get("opted_out", ""))
    sort = params.get("sort", "newest")
    return ContactFilters(
        search=params.get("q", "").strip(),
        status=params.get("status", "").strip(),
        tag=params.get("tag", "").strip(),
        group_id=params.get("group") or None,
        source_id=params.get("source") or None,
        opted_out=opted_out,
        sort=sort if sort in SORTS else "newest",
    )


def _export_row(writer, contact: Contact) -> str:
    return writer.writerow(
        [
            contact.pk,
            contact.first_name,
            contact.last_name or "",
            contact.phone or "",
            contact.email or "",
            contact.company or "",
            contact.job_title or "",
            contact.status or "",
            ", ".join(contact.tags),
            json.dumps(contact.custom_fields) if contact.custom_fields else "",
            contact.source.name if contact.source else "",
            "yes" if contact.opted_out_at else "",
            contact.created_at.isoformat(),
            contact.updated_at.isoformat() if contact.updated_at else "",
        ]
    )


# --- contacts ----------------------------------------------------------------------------


@workspace_view(Role.VIEWER)
def contact_list(request: HttpRequest) -> HttpResponse:
    filters = filters_from(request)
    page = paginate(request, selectors.contact_list(filters=filters))
    context = {
        "page": page,
        "filters": filters,
        "search": filters.search,
        "counts": selectors.contact_counts(),
        "groups": selectors.group_list(),
        "sources": selectors.source_list(),
        "statuses": selectors.contact_statuses(),
        "bulk_actions": BulkActionForm.ACTIONS,
        "filtered": any(
            [filters.search, filters.status, filters.tag, filters.group_id, filters.source_id]
        )
        or filters.opted_out is not None,
    }
    return render(request, template_for(request, "contacts/list.html", "contact-rows"), context)


@workspace_view(Role.VIEWER)
def contact_export(request: HttpRequest) -> StreamingHttpResponse:
    """The current filtered list as CSV, streamed row by row from a server-side cursor."""
    contacts = selectors.contact_list(filters=filters_from(request)).select_related("source")

    class Echo:
        def write(self, value: str) -> str:
            return value

    writer = csv.writer(Echo())

    schema_name = request.tenant.schema_name

    def rows():
        yield "\ufeff"  # so spreadsheet programs read the file as UTF-8
        yield writer.writerow(EXPORT_COLUMNS)
        # The body is produced after the middleware has left the workspace's schema.
        with schema_context(schema_name):
            yield from (_export_row(writer, contact) for contact in contacts.iterator(2000))

    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="contacts-{request.tenant.slug}-{stamp}.csv"'
    )
    return response


@workspace_view(Role.MARKETER)
@require_POST
def contact_bulk(request: HttpRequest) -> HttpResponse:
    form = BulkActionForm(request.POST)
    back = _url(request, "contacts:list") + _safe_query(request.POST.get("return_query", ""))
    if not form.is_valid():
        messages.error(request, "Select at least one contact and an action.")
        return redirect(back)
    data = form.cleaned_data
    group = None
    try:
        if data["action"] in ("add_to_group", "remove_from_group"):
            group = selectors.group_get(group_id=data["group_id"])
        affected = services.contact_bulk_action(
            action=data["action"], contact_ids=data["contact_ids"], group=group, tag=data["tag"]
        )
    except ApplicationError as error:
        messages.error(request, error.message if error.status != 404 else "Choose a group.")
    else:
        label = dict(BulkActionForm.ACTIONS)[data["action"]].lower()
        messages.success(request, f"Done: {label} for {affected} contact(s).")
    return redirect(back)


def _safe_query(query: str) -> str:
    query = query.strip()
    return f"?{query.lstrip('?')}" if query and "\n" not in query and "//" not in query else ""


@workspace_view(Role.MARKETER)
def contact_create(request: HttpRequest) -> HttpResponse:
    sources = selectors.source_list()
    form = ContactForm(request.POST or None, sources=sources)
    if request.method == "POST" and form.is_valid():
        try:
            contact = services.contact_create(data=form.service_data())
        except ApplicationError as error:
            add_service_error(form, error)
        else:
            messages.success(request, f"{contact.full_name} added.")
            return redirect("contacts:detail", tenant=request.tenant.slug, contact_id=contact.pk)
    status = 422 if request.method == "POST" else 200
    return render(request, "contacts/form.html", {"form": form, "contact": None}, status=status)


@workspace_view(Role.MARKETER)
def contact_edit(request: HttpRequest, contact_id) -> HttpResponse:
    contact = _contact(contact_id)
    sources = selectors.source_list()
    initial = {
        "first_name": contact.first_name,
        "last_name": contact.last_name or "",
        "phone": contact.phone or "",
        "email": contact.email or "",
        "company": contact.company or "",
        "job_title": contact.job_title or "",
        "status": contact.status or "",
        "tags": ", ".join(contact.tags),
        "source_id": str(contact.source_id or ""),
    }
    form = ContactForm(request.POST or None, initial=initial, sources=sources)
    if request.method == "POST" and form.is_valid():
        try:
            services.contact_update(contact=contact, changes=form.service_data())
        except ApplicationError as error:
            add_service_error(form, error)
        else:
            messages.success(request, "Contact saved.")
            return redirect("contacts:detail", tenant=request.tenant.slug, contact_id=contact.pk)
    status = 422 if request.method == "POST" else 200
    return render(request, "contacts/form.html", {"form": form, "contact": contact}, status=status)


def _detail_context(contact: Contact, **extra) -> dict:
    return {
        "contact": contact,
        "groups": selectors.contact_groups(contact=contact),
        "all_groups": selectors.group_list(),
        "notes": selectors.contact_notes(contact=contact)[:50],
        "communications": selectors.contact_communications(contact=contact),
        "note_form": NoteForm(),
        "tags_form": TagsForm(initial={"tags": ", ".join(contact.tags)}),
        "custom_fields_form": CustomFieldsForm(
            initial={
                "custom_fields": "\n".join(f"{k}: {v}" for k, v in contact.custom_fields.items())
            }
        ),
        **extra,
    }


@workspace_view(Role.VIEWER)
def contact_detail(request: HttpRequest, contact_id) -> HttpResponse:
    contact = _contact(contact_id)
    return render(request, "contacts/detail.html", _detail_context(contact))


@workspace_view(Role.MARKETER)
@require_POST
def contact_tags(request: HttpRequest, contact_id) -> HttpResponse:
    """In-place edit of the tags; htmx swaps the tags section."""
    contact = _contact(contact_id)
    form = TagsForm(request.POST)
    error = None
    if form.is_valid():
        try:
            contact = services.contact_update(
                contact=contact, changes={"tags": form.cleaned_data["tags"]}
            )
        except ApplicationError as exc:
            error = exc.message
    context = _detail_context(contact, tags_error=error)
    if error is None:
        context["tags_form"] = TagsForm(initial={"tags": ", ".join(contact.tags)})
    if not request.htmx:
        if error:
            messages.error(request, error)
        return redirect("contacts:detail", tenant=request.tenant.slug, contact_id=contact.pk)
    return render(request, "contacts/detail.html#tags", context, status=422 if error else 200)


@workspace_view(Role.MARKETER)
@require_POST
def contact_custom_fields(request: HttpRequest, contact_id) -> HttpResponse:
    contact = _contact(contact_id)
    form = CustomFieldsForm(request.POST)
    error = None
    if form.is_valid():
        try:
            contact = services.contact_update(
                contact=contact, changes={"custom_fields": form.cleaned_data["custom_fields"]}
            )
        except ApplicationError as exc:
            error = exc.message
    else:
        error = form.errors["custom_fields"][0]
    context = _detail_context(contact, custom_fields_error=error)
    if error:
        context["custom_fields_form"] = form
    if not request.htmx:
        if error:
            messages.error(request, error)
        return redirect("contacts:detail", tenant=request.tenant.slug, contact_id=contact.pk)
    return render(
        request, "contacts/detail.html#custom-fields", context, status=422 if error else 200
    )


@workspace_view(Role.MARKETER)
@require_POST
def contact_groups(request: HttpRequest, contact_id) -> HttpResponse:
    contact = _contact(contact_id)
    try:
        group = selectors.group_get(group_id=request.POST.get("group_id"))
        if request.POST.get("remove"):
            services.group_remove_contacts(group=group, contact_ids=[contact.pk])
        else:
            services.group_add_contacts(group=group, contact_ids=[contact.pk])
    except ApplicationError as error:
        messages.error(request, "Choose a group." if error.status == 404 else error.message)
    return redirect("contacts:detail", tenant=request.tenant.slug, contact_id=contact.pk)


@workspace_view(Role.MARKETER)
@require_POST
def contact_note_add(request: HttpRequest, contact_id) -> HttpResponse:
    contact = _contact(contact_id)
    form = NoteForm(request.POST)
    error = None
    if form.is_valid():
        try:
            services.note_add(
                contact=contact, body=form.cleaned_data["body"], author_email=request.user.email
            )
        except ApplicationError as exc:
            error = exc.message
    else:
        error = "A note cannot be empty."
    if not request.htmx:
        if error:
            messages.error(request, error)
        return redirect("contacts:detail", tenant=request.tenant.slug, contact_id=contact.pk)
    context = _detail_context(contact, note_error=error)
    if error:
        context["note_form"] = form
    return render(request, "contacts/detail.html#notes", context, status=422 if error else 200)


@workspace_view(Role.MARKETER)
@require_POST
def contact_opt_out(request: HttpRequest, contact_id) -> HttpResponse:
    contact = _contact(contact_id)
    if request.POST.get("opt_in"):
        services.contact_opt_in(contact=contact)
        messages.success(request, "The contact can receive marketing messages again.")
    else:
        services.contact_opt_out(contact=contact, reason=request.POST.get("reason", ""))
        messages.success(request, "The contact is opted out: campaigns will skip them.")
    return redirect("contacts:detail", tenant=request.tenant.slug, contact_id=contact.pk)


@workspace_view(Role.MARKETER)
@require_POST
def contact_archive(request: HttpRequest, contact_id) -> HttpResponse:
    contact = _contact(contact_id)
    services.contact_archive(contact=contact)
    messages.success(request, f"{contact.full_name} archived.")
    return redirect("contacts:list", tenant=request.tenant.slug)


# --- groups ------------------------------------------------------------------------------


@workspace_view(Role.VIEWER)
def group_list(request: HttpRequest) -> HttpResponse:
    search = request.GET.get("q", "").strip()
    page = paginate(request, selectors.group_list(search=search))
    context = {"page": page, "search": search, "form": GroupForm()}
    return render(request, template_for(request, "contacts/groups.html", "group-rows"), context)


@workspace_view(Role.MARKETER)
@require_POST
def group_create(request: HttpRequest) -> HttpResponse:
    form = GroupForm(request.POST)
    if form.is_valid():
        try:
            group = services.group_create(**form.cleaned_data)
        except ApplicationError as error:
            add_service_error(form, error)
        else:
            messages.success(request, f"Group “{group.name}” created.")
            return redirect("contacts:group", tenant=request.tenant.slug, group_id=group.pk)
    page = paginate(request, selectors.group_list())
    return render(
        request,
        "contacts/groups.html",
        {"page": page, "form": form, "form_open": True},
        status=422,
    )


@workspace_view(Role.VIEWER)
def group_detail(request: HttpRequest, group_id) -> HttpResponse:
    group = _group(group_id)
    search = request.GET.get("q", "").strip()
    members = selectors.contact_list(filters=ContactFilters(group_id=group.pk, search=search))
    candidates = []
    candidate_search = request.GET.get("add", "").strip()
    if candidate_search:
        candidates = list(
            selectors.contact_list(filters=ContactFilters(search=candidate_search)).exclude(
                memberships__group=group
            )[:10]
        )
    context = {
        "group": group,
        "page": paginate(request, members),
        "search": search,
        "candidates": candidates,
        "candidate_search": candidate_search,
        "form": GroupForm(initial={"name": group.name, "description": group.description}),
    }
    if request.htmx and request.GET.get("add") is not None:
        return render(request, "contacts/group_detail.html#candidates", context)
    return render(
        request, template_for(request, "contacts/group_detail.html", "member-rows"), context
    )


@workspace_view(Role.MARKETER)
@require_POST
def group_edit(request: HttpRequest, group_id) -> HttpResponse:
    group = _group(group_id)
    form = GroupForm(request.POST)
    if form.is_valid():
        try:
            services.group_update(group=group, changes=form.cleaned_data)
        except ApplicationError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, "Group saved.")
    else:
        messages.error(request, "A group needs a name.")
    return redirect("contacts:group", tenant=request.tenant.slug, group_id=group.pk)


@workspace_view(Role.MARKETER)
@require_POST
def group_delete(request: HttpRequest, group_id) -> HttpResponse:
    group = _group(group_id)
    services.group_delete(group=group)
    messages.success(request, f"Group “{group.name}” deleted; its contacts are kept.")
    return redirect("contacts:groups", tenant=request.tenant.slug)


@workspace_view(Role.MARKETER)
@require_POST
def group_members(request: HttpRequest, group_id) -> HttpResponse:
    group = _group(group_id)
    ids = request.POST.getlist("contact_ids")
    try:
        if request.POST.get("remove"):
            change = services.group_remove_contacts(group=group, contact_ids=ids)
            messages.success(request, f"Removed {change.changed} contact(s) from the group.")
        else:
            change = services.group_add_contacts(group=group, contact_ids=ids)
            messages.success(request, f"Added {change.changed} contact(s) to the group.")
    except ApplicationError as error:
        messages.error(request, error.message)
    return redirect("contacts:group", tenant=request.tenant.slug, group_id=group.pk)


# --- sources -----------------------------------------------------------------------------


@workspace_view(Role.VIEWER)
def source_list(request: HttpRequest) -> HttpResponse:
    page = paginate(request, selectors.source_list())
    return render(request, "contacts/sources.html", {"page": page, "form": SourceForm()})


@workspace_view(Role.MARKETER)
@require_POST
def source_create(request: HttpRequest) -> HttpResponse:
    form = SourceForm(request.POST)
    if form.is_valid():
        try:
            source = services.source_create(**form.cleaned_data)
        except ApplicationError as error:
            add_service_error(form, error)
        else:
            messages.success(request, f"Source “{source.name}” created.")
            return redirect("contacts:sources", tenant=request.tenant.slug)
    page = paginate(request, selectors.source_list())
    return render(
        request,
        "contacts/sources.html",
        {"page": page, "form": form, "form_open": True},
        status=422,
    )
