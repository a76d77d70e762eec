"""CSV import pages: upload → column mapping and options → preview → progress → report."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST
from django_tenants.utils import schema_context

from apps.contacts import selectors
from apps.contacts.forms import ImportOptionsForm, ImportUploadForm, add_service_error
from apps.contacts.models import ImportJob
from apps.contacts.services import imports
from apps.core.errors import ApplicationError, NotFound
from apps.core.pages import paginate, template_for
from apps.tenancy.models import Role
from apps.tenancy.permissions import workspace_view

# Multipart framing around the file; a request larger than the limit plus this is refused
# before its body is read.
UPLOAD_OVERHEAD = 64 * 1024


def _job(job_id) -> ImportJob:
    try:
        return selectors.import_job_get(job_id=job_id)
    except NotFound as error:
        raise Http404(error.message) from None


def _targets() -> list[tuple[str, str]]:
    return [("", "Ignore this column"), *imports.TARGET_LABELS.items()]


def _mapping_rows(job: ImportJob, mapping: dict[str, str]) -> list[dict]:
    rows = []
    for index, header in enumerate(job.headers):
        target = mapping.get(str(index), "")
        custom = target[len(imports.CUSTOM_PREFIX) :] if target.startswith("custom:") else ""
        rows.append(
            {
                "index": index,
                "header": header,
                "target": "custom" if custom else target,
                "custom_key": custom or imports.custom_key_for(header),
            }
        )
    return rows


def _mapping_from(request: HttpRequest, job: ImportJob) -> dict[str, str]:
    mapping = {}
    for index in range(len(job.headers)):
        target = request.POST.get(f"map_{index}", "")
        if target == "custom":
            key = request.POST.get(f"custom_{index}", "") or job.headers[index]
            target = imports.CUSTOM_PREFIX + imports.custom_key_for(key)
        mapping[str(index)] = target
    return mapping


def _page(
    request: HttpRequest, *, form=None, status: int = 200, upload_error: str = ""
) -> HttpResponse:
    context = {
        "form": form or ImportUploadForm(),
        "upload_error": upload_error,
        "page": paginate(request, selectors.import_job_list(), per_page=10),
        "max_bytes": imports.MAX_BYTES,
    }
    return render(request, "contacts/imports.html", context, status=status)


@workspace_view(Role.MARKETER)
def import_list(request: HttpRequest) -> HttpResponse:
    return _page(request)


@csrf_exempt
@workspace_view(Role.MARKETER)
@require_POST
def import_upload(request: HttpRequest) -> HttpResponse:
    """Refuse an oversized upload from its Content-Length, before the body is read (the CSRF
    check would otherwise read, and store, the whole body first); then check CSRF as usual."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > imports.MAX_BYTES + UPLOAD_OVERHEAD:
        message = (
            f"The file is about {length / 1048576:.0f} MB; the limit is "
            f"{imports.MAX_BYTES / 1048576:.0f} MB. Split it and import the parts."
        )
        return _page(request, status=413, upload_error=message)
    return _checked_upload(request)


@csrf_protect
def _checked_upload(request: HttpRequest) -> HttpResponse:
    form = ImportUploadForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            job = imports.import_upload(
                uploaded_file=form.cleaned_data["file"], actor_email=request.user.email
            )
        except ApplicationError as error:
            add_service_error(form, error)
        else:
            return redirect("contacts:import", tenant=request.tenant.slug, job_id=job.pk)
    return _page(request, form=form, status=422)


def _detail_context(job: ImportJob, *, mapping=None, options=None, error: str = "") -> dict:
    return {
        "job": job,
        "mapping_rows": _mapping_rows(job, mapping or job.mapping),
        "targets": _targets(),
        "options": options
        or ImportOptionsForm(groups=selectors.group_list(), sources=selectors.source_list()),
        "error": error,
        "percent": int(100 * job.bytes_processed / job.file_size) if job.file_size else 100,
    }


@workspace_view(Role.MARKETER)
def import_detail(request: HttpRequest, job_id) -> HttpResponse:
    job = _job(job_id)
    template = template_for(request, "contacts/import_detail.html", "progress")
    return render(request, template, _detail_context(job))


@workspace_view(Role.MARKETER)
@require_POST
def import_preview(request: HttpRequest, job_id) -> HttpResponse:
    job = _job(job_id)
    mapping = _mapping_from(request, job)
    try:
        rows = imports.import_preview(job=job, mapping=mapping)
    except ApplicationError as error:
        context = {"preview_error": error.message}
        return render(request, "contacts/import_detail.html#preview", context, status=422)
    fields = [
        (name, label) for name, label in imports.TARGET_LABELS.items() if name in mapping.values()
    ]
    context = {"rows": rows, "fields": fields, "job": job}
    return render(request, "contacts/import_detail.html#preview", context)


@workspace_view(Role.MARKETER)
@require_POST
def import_start(request: HttpRequest, job_id) -> HttpResponse:
    job = _job(job_id)
    mapping = _mapping_from(request, job)
    options = ImportOptionsForm(
        request.POST, groups=selectors.group_list(), sources=selectors.source_list()
    )
    if options.is_valid():
        data = options.cleaned_data
        try:
            group = selectors.group_get(group_id=data["group_id"]) if data["group_id"] else None
            source = (
                selectors.source_get(source_id=data["source_id"]) if data["source_id"] else None
            )
            imports.import_start(
                job=job,
                mapping=mapping,
                on_existing=data["on_existing"],
                group=group,
                new_group_name=data["new_group"],
                source=source,
            )
        except ApplicationError as error:
            context = _detail_context(job, mapping=mapping, options=options, error=error.message)
            return render(request, "contacts/import_detail.html", context, status=422)
        messages.success(request, "Import started: you can leave this page, it carries on.")
        return redirect("contacts:import", tenant=request.tenant.slug, job_id=job.pk)
    context = _detail_context(job, mapping=mapping, options=options, error="Check the options.")
    return render(request, "contacts/import_detail.html", context, status=422)


@workspace_view(Role.MARKETER)
def import_failures(request: HttpRequest, job_id) -> StreamingHttpResponse:
    job = _job(job_id)
    schema_name = request.tenant.schema_name

    def rows():
        # Produced after the middleware has left the workspace's schema.
        with schema_context(schema_name):
            yield from imports.import_failures_csv_rows(job=job)

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="failed-rows-{job.pk}.csv"'
    return response
