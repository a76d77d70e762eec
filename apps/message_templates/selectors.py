from __future__ import annotations

import uuid

from django.db.models import QuerySet

from apps.core.errors import NotFound
from apps.message_templates.models import MessageTemplate


def message_template_list(
    *,
    status: str = "",
    category: str = "",
    language: str = "",
    name: str = "",
) -> QuerySet[MessageTemplate]:
    """Templates of the current workspace; `name` matches part of the name."""
    queryset = MessageTemplate.objects.all()
    if status:
        queryset = queryset.filter(status=status.upper())
    if category:
        queryset = queryset.filter(category=category.upper())
    if language:
        queryset = queryset.filter(language=language)
    if name:
        queryset = queryset.filter(name__icontains=name.strip())
    return queryset.order_by("name", "language")


def message_template_get(*, identifier: str) -> MessageTemplate:
    """By our UUID or by Meta's id."""
    identifier = str(identifier).strip()
    try:
        template_id = uuid.UUID(identifier)
    except ValueError:
        template = (
            MessageTemplate.objects.filter(meta_id=identifier).first() if identifier else None
        )
    else:
        template = MessageTemplate.objects.filter(pk=template_id).first()
    if template is None:
        raise NotFound("No template with this id.")
    return template


def message_template_languages(*, name: str) -> list[str]:
    return list(
        MessageTemplate.objects.filter(name=name)
        .order_by("language")
        .values_list("language", flat=True)
    )
