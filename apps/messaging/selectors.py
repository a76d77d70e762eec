"""Reads: messages, timelines, conversations, and a contact's history."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.dateparse import parse_date, parse_datetime

from apps.core.errors import NotFound, ValidationFailed
from apps.messaging.models import Conversation, Message, MessageStatus, StatusEvent


def _as_uuid(value: Any, field: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise ValidationFailed(
            f"{field} must be a UUID.",
            field=field,
            details=[{"field": field, "message": f"{field} must be a UUID."}],
        ) from None


def _as_datetime(value: str, field: str) -> datetime:
    parsed = parse_datetime(value)
    if parsed is None and (day := parse_date(value)) is not None:
        parsed = datetime(day.year, day.month, day.day)
    if parsed is None:
        message = f"{field} must be an ISO 8601 date or date-time."
        raise ValidationFailed(message, field=field, details=[{"field": field, "message": message}])
    if parsed.tzinfo is None:
        from django.utils import timezone

        parsed = timezone.make_aware(parsed)
    return parsed


@dataclass
class MessageFilters:
    status: str = ""
    direction: str = ""
    to: str = ""
    contact_id: str = ""
    campaign_id: str = ""
    template_name: str = ""
    created_after: str = ""
    created_before: str = ""
    search: str = ""


def message_list(*, filters: MessageFilters | None = None) -> QuerySet[Message]:
    filters = filters or MessageFilters()
    queryset = Message.objects.all()
    if filters.status:
        wanted = filters.status.strip().lower()
        if wanted not in MessageStatus.values:
            message = f"status must be one of {', '.join(MessageStatus.values)}."
            raise ValidationFailed(
                message, field="status", details=[{"field": "status", "message": message}]
            )
        queryset = queryset.filter(status=wanted)
    if filters.direction in ("inbound", "outbound"):
        queryset = queryset.filter(direction=filters.direction)
    if filters.to:
        queryset = queryset.filter(phone=filters.to.strip().replace(" ", "+", 1))
    if filters.contact_id:
        queryset = queryset.filter(contact_id=_as_uuid(filters.contact_id, "contact_id"))
    if filters.campaign_id:
        queryset = queryset.filter(campaign_id=_as_uuid(filters.campaign_id, "campaign_id"))
    if filters.template_name:
        queryset = queryset.filter(template_name=filters.template_name.strip())
    if filters.created_after:
        queryset = queryset.filter(
            created_at__gte=_as_datetime(filters.created_after, "created_after")
        )
    if filters.created_before:
        queryset = queryset.filter(
            created_at__lt=_as_datetime(filters.created_before, "created_before")
        )
    if filters.search:
        term = filters.search.strip()
        queryset = queryset.filter(
            Q(phone__icontains=term) | Q(body__icontains=term) | Q(wamid=term)
        )
    return queryset.order_by("-created_at", "-id")


def message_get(*, identifier: Any) -> Message:
    """By our UUID or by Meta's wamid."""
    identifier = str(identifier).strip()
    try:
        message = Message.objects.filter(pk=uuid.UUID(identifier)).first()
    except ValueError:
        message = Message.objects.filter(wamid=identifier).first() if identifier else None
    if message is None:
        raise NotFound("No message with this id.")
    return message


def message_timeline(*, message: Message) -> QuerySet[StatusEvent]:
    return StatusEvent.objects.filter(message=message).order_by("occurred_at", "id")


def contact_messages(*, contact: Any, limit: int = 50) -> list[Message]:
    """The contact's communication history, newest first."""
    return list(Message.objects.filter(contact=contact).order_by("-created_at", "-id")[:limit])


def conversation_list(*, search: str = "") -> QuerySet[Conversation]:
    queryset = Conversation.objects.select_related("contact").filter(last_message_at__isnull=False)
    if search := search.strip():
        queryset = queryset.filter(
            Q(phone__icontains=search)
            | Q(profile_name__icontains=search)
            | Q(contact__first_name__icontains=search)
            | Q(contact__last_name__icontains=search)
            | Q(last_message_preview__icontains=search)
        )
    return queryset.order_by("-last_message_at", "-id")


def conversation_get(*, conversation_id: Any) -> Conversation:
    try:
        return Conversation.objects.select_related("contact").get(
            pk=uuid.UUID(str(conversation_id))
        )
    except (ValueError, Conversation.DoesNotExist):
        raise NotFound("No such conversation.") from None


def conversation_messages(*, conversation: Conversation, limit: int = 100) -> list[Message]:
    recent = Message.objects.filter(conversation=conversation).order_by("-created_at", "-id")
    return list(reversed(recent[:limit]))


def unread_total() -> int:
    from django.db.models import Sum

    return Conversation.objects.aggregate(total=Sum("unread_count"))["total"] or 0
