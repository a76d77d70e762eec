"""Media library: grid with thumbnails and a type filter, drag-and-drop upload with
progress (static/js/media_library.js), download, delete with confirm."""

from __future__ import annotations

from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from apps.core.errors import ApplicationError
from apps.core.pages import paginate, template_for
from apps.media import selectors, services
from apps.media.models import Kind, Media
from apps.tenancy.models import Role
from apps.tenancy.permissions import workspace_view


def _get(media_id) -> Media:
    try:
        return selectors.media_get(media_id=media_id)
    except ApplicationError as error:
        raise Http404(error.message) from error


@workspace_view(Role.VIEWER)
def media_library(request: HttpRequest) -> HttpResponse:
    kind = request.GET.get("kind", "")
    kind = kind if kind in Kind.values else ""
    search = request.GET.get("q", "").strip()
    page = paginate(request, selectors.media_list(kind=kind, search=search), per_page=24)
    context = {"page": page, "kind": kind, "search": search, "kinds": Kind.choices}
    return render(request, template_for(request, "media/library.html", "media-grid"), context)


@workspace_view(Role.MARKETER)
@require_POST
def media_upload(request: HttpRequest) -> HttpResponse:
    """Uploads from the drop zone (XHR: answers the new card, or the error with 422) and from
    the plain form (redirects back with a message)."""
    upload = request.FILES.get("file")
    try:
        if upload is None:
            raise ApplicationError("Choose a file to upload.", field="file", status=422)
        media = services.media_create(file=upload, name=upload.name, actor_id=request.user.pk)
    except ApplicationError as error:
        if request.htmx or request.headers.get("X-Requested-With") == "XMLHttpRequest":
            return HttpResponse(error.message, status=422, content_type="text/plain")
        messages.error(request, error.message)
        return redirect("media:library", tenant=request.tenant.slug)
    if request.htmx or request.headers.get("X-Requested-With") == "XMLHttpRequest":
        return render(request, "media/_card.html", {"media": media}, status=201)
    messages.success(request, f"“{media.name}” uploaded.")
    return redirect("media:library", tenant=request.tenant.slug)


@workspace_view(Role.VIEWER)
def media_file(request: HttpRequest, media_id) -> FileResponse:
    media = _get(media_id)
    inline = media.kind in {Kind.IMAGE, Kind.STICKER, Kind.VIDEO, Kind.AUDIO}
    response = FileResponse(
        media.file.open("rb"),
        as_attachment=not inline,
        filename=media.name,
        content_type=media.mime_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


@workspace_view(Role.VIEWER)
def media_thumbnail(request: HttpRequest, media_id) -> FileResponse:
    media = _get(media_id)
    if not media.thumbnail:
        raise Http404("This media has no thumbnail.")
    return FileResponse(media.thumbnail.open("rb"), content_type="image/png")


@workspace_view(Role.MARKETER)
@require_POST
def media_delete(request: HttpRequest, media_id) -> HttpResponse:
    media = _get(media_id)
    try:
        services.media_delete(media=media)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"“{media.name}” deleted.")
    return redirect("media:library", tenant=request.tenant.slug)
