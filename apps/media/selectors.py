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
    """Names of the campaigns still to send (draft, scheduled, running or paused) whose
    mapping puts this media in the template's header: a deletion would break them."""
    # Imported here because campaigns build on media, not the other way round.
    from apps.campaigns.models import Campaign, CampaignStatus

    unfinished = [
        CampaignStatus.DRAFT,
        CampaignStatus.SCHEDULED,
        CampaignStatus.RUNNING,
        CampaignStatus.PAUSED,
    ]
    return list(
        Campaign.objects.filter(
            status__in=unfinished, variable_mapping__header__media_id=str(media.pk)
        )
        .order_by("name")
        .values_list("name", flat=True)
    )
