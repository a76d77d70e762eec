"""Public API for media (`/api/v1/public/media...`)."""

from __future__ import annotations

from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from apps.api.pagination import paginated_response
from apps.api.schema import error_responses, paginated
from apps.api.views import PublicApiView
from apps.core.errors import ApplicationError
from apps.media import selectors, services
from apps.media.models import Kind

READ = ["media:read"]
WRITE = ["media:write"]
TAGS = ["Media"]

MEDIA_EXAMPLE = {
    "id": "9b2f6c1d-3e4a-4b5c-8d7e-0f1a2b3c4d5e",
    "name": "spring-banner.jpg",
    "kind": "image",
    "mime_type": "image/jpeg",
    "size": 482113,
    "sha256": "5f0c1e0d4b7a3b2c9e8d7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c",
    "width": 1200,
    "height": 628,
    "created_at": "2026-05-12T08:00:00Z",
}


# An inline enum: a named enum component would collide with other resources' `kind` fields.
@extend_schema_field({"type": "string", "enum": Kind.values})
class MediaKindField(serializers.CharField):
    pass


class MediaOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    kind = MediaKindField()
    mime_type = serializers.CharField(help_text="Decided from the content, not the file name.")
    size = serializers.IntegerField(help_text="Bytes.")
    sha256 = serializers.CharField()
    width = serializers.IntegerField(allow_null=True)
    height = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()


class MediaListCreateApi(PublicApiView):
    required_scopes = {"GET": READ, "POST": WRITE}
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        tags=TAGS,
        operation_id="media_list",
        summary="List media",
        parameters=[
            OpenApiParameter("kind", str, enum=Kind.values),
            OpenApiParameter("page", int),
            OpenApiParameter("limit", int, description="1 to 100, default 20."),
        ],
        responses={200: paginated(MediaOutputSerializer)},
    )
    def get(self, request: Request) -> Response:
        queryset = selectors.media_list(kind=request.query_params.get("kind", ""))
        return paginated_response(
            request=request, queryset=queryset, serializer_class=MediaOutputSerializer
        )

    @extend_schema(
        tags=TAGS,
        operation_id="media_upload",
        summary="Upload media",
        description="`multipart/form-data` with a `file` part (and optionally `name`). The "
        "type is read from the content; WhatsApp's limits apply: image JPEG/PNG ≤ 5 MB, video "
        "MP4/3GPP ≤ 16 MB, audio AAC/AMR/MP3/M4A/OGG ≤ 16 MB, document PDF/Office/text ≤ 100 MB, "
        "sticker WebP ≤ 100 KB (500 KB animated). A file whose name claims another type is "
        "refused (422).",
        request={
            "multipart/form-data": {
                "type": "object",
                "properties": {
                    "file": {"type": "string", "format": "binary"},
                    "name": {"type": "string"},
                },
                "required": ["file"],
            }
        },
        responses={201: MediaOutputSerializer},
        examples=[OpenApiExample("Uploaded", value=MEDIA_EXAMPLE, response_only=True)],
    )
    def post(self, request: Request) -> Response:
        upload = request.FILES.get("file")
        if upload is None:
            raise ApplicationError(
                "file is required.", details=[{"field": "file", "message": "file is required."}]
            )
        media = services.media_create(
            file=upload,
            name=str(request.data.get("name") or upload.name),
            actor_id=None,
        )
        return Response(MediaOutputSerializer(media).data, status=201)


class MediaDetailApi(PublicApiView):
    required_scopes = {"GET": READ, "DELETE": WRITE}

    @extend_schema(
        tags=TAGS,
        operation_id="media_get",
        summary="Get media",
        responses={200: MediaOutputSerializer},
        examples=[OpenApiExample("Media", value=MEDIA_EXAMPLE, response_only=True)],
    )
    def get(self, request: Request, media_id: str) -> Response:
        return Response(MediaOutputSerializer(selectors.media_get(media_id=media_id)).data)

    @extend_schema(
        tags=TAGS,
        operation_id="media_delete",
        summary="Delete media",
        description=(
            "Refused with 409 while a campaign still to send (draft, scheduled, running or "
            "paused) uses it in its header."
        ),
        responses={204: None, **error_responses(409)},
    )
    def delete(self, request: Request, media_id: str) -> Response:
        services.media_delete(media=selectors.media_get(media_id=media_id))
        return Response(status=204)
