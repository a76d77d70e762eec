from __future__ import annotations

import uuid

from django.db.models import QuerySet

from apps.core.errors import NotFound
from apps.media.models import Media


def media_list(*, kind: str = "", search: str = "") -> QuerySet[Media]:
    queryset = Media.objects.all()
    if kind:
        queryset = queryset.filter(kind=kind)
    if search:
        queryset = queryset.filter(name__icontains=search.strip())
    return queryset.order_by("-created_at", "-id")


def media_get(*, media_id: str | uuid.UUID) -> Media:
    try:
        media = Media.objects.filter(pk=uuid.UUID(str(media_id))).first()
    except ValueError:
        media = None
    if media is None:
        raise NotFound("No media with this id.")
    return media


def media_active_campaign_uses(*, media: Media) -> list[str]:
    """Names of the scheduled or running campaigns that use this media (a deletion would
    break them). The campaigns app extends this one selector when it exists; until then no
    campaign can use media, so the list is empty."""
    return []
