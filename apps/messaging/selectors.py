"""Reads: messages, timelines, conversations, a contact's history, and how much of Meta's
messaging limit the last 24 hours used."""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.db import connection
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from apps.core.errors import NotFound, ValidationFailed
from apps.core.rows import model_columns, model_from_row, model_table
from apps.messaging.models import Conversation, Message, MessageStatus, StatusEvent

if TYPE_CHECKING:
    from apps.contacts.models import Contact
    from apps.message_templates.models import MessageTemplate
    from apps.whatsapp.models import WhatsAppAccount


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


# ------------------------------------------------------------------------------------------
# Meta's messaging limit
# ------------------------------------------------------------------------------------------
MESSAGING_LIMIT_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class MessagingLimitUsage:
    limit: int | None  # None: unlimited
    used: int  # distinct people the business started conversations with in the window
    # With the limit reached: when the window next lets one more person in. None otherwise.
    frees_at: datetime | None

    @property
    def unlimited(self) -> bool:
        return self.limit is None

    @property
    def remaining(self) -> int | None:
        return None if self.limit is None else max(0, self.limit - self.used)

    def allows(self, people: int) -> bool:
        return self.limit is None or people <= (self.remaining or 0)


# A person counts when a template went to their number in the window and was not refused
# before WhatsApp took it (a failure without a wamid never started a conversation); messages
# still pending count, so in-flight campaign sends are never forgotten. A person counts
# until 24 h after the latest such send.
_PEOPLE_SQL = """
SELECT phone, MAX(created_at) AS last_at FROM messaging_message
WHERE direction = 'outbound' AND kind = 'template' AND created_at >= %s
  AND NOT (status = 'failed' AND wamid IS NULL) {extra}
GROUP BY phone
"""


def messaging_limit_usage(
    *, account: WhatsAppAccount | None = None, now: datetime | None = None
) -> MessagingLimitUsage:
    """The one rule for Meta's messaging limit: the account's tier, and how many distinct
    people the business started conversations with (template sends) in the rolling 24 h.
    Without an account: the active one (none: unlimited, nothing used)."""
    if account is None:
        from apps.whatsapp.selectors import whatsapp_account_active

        account = whatsapp_account_active()
    now = now or timezone.now()
    # Sandbox sends (test keys) never reach Meta, so they use nothing of a real account's limit.
    extra = "AND provider <> 'sandbox'" if account is not None and not account.is_sandbox else ""
    people = _PEOPLE_SQL.format(extra=extra)
    since = now - MESSAGING_LIMIT_WINDOW
    limit = account.messaging_limit if account is not None else None
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM ({people}) people", [since])  # noqa: S608
        used = cursor.fetchone()[0]
        frees_at = None
        if limit is not None and used >= limit:
            # One more person fits once (used - limit + 1) people have left the window.
            cursor.execute(
                f"SELECT last_at FROM ({people}) people ORDER BY last_at"  # noqa: S608
                " OFFSET %s LIMIT 1",
                [since, used - limit],
            )
            frees_at = cursor.fetchone()[0] + MESSAGING_LIMIT_WINDOW
    return MessagingLimitUsage(limit=limit, used=used, frees_at=frees_at)


# ------------------------------------------------------------------------------------------
# What a send reads
# ------------------------------------------------------------------------------------------
@dataclass
class SendReads:
    account: WhatsAppAccount | None  # the workspace's active account
    templates: dict[str, MessageTemplate]  # the variants of the template name, by language
    contact: Contact | None  # the live contact with the number


@functools.cache
def _send_reads_sql() -> str:
    from apps.contacts.models import Contact
    from apps.message_templates.models import MessageTemplate
    from apps.whatsapp.models import WhatsAppAccount

    # The ORM's reads, each as it was: whatsapp_account_active(), the template's variants,
    # and the contact lookup of services._contact_for_phone (same orderings). A row per
    # variant, at least one.
    return (
        f"SELECT {model_columns('a', WhatsAppAccount)}, {model_columns('c', Contact)}, "  # noqa: S608
        f"{model_columns('t', MessageTemplate)} FROM (SELECT 1) AS one "
        f"LEFT JOIN LATERAL (SELECT * FROM {model_table(WhatsAppAccount)} WHERE is_active "
        "ORDER BY connected_at DESC LIMIT 1) AS a ON true "
        f"LEFT JOIN LATERAL (SELECT * FROM {model_table(Contact)} WHERE phone = %s "
        "AND archived_at IS NULL ORDER BY created_at DESC, id DESC LIMIT 1) AS c ON true "
        f"LEFT JOIN {model_table(MessageTemplate)} AS t ON t.name = %s"
    )


def send_reads(*, phone: str, template_name: str) -> SendReads:
    """The account, the template's variants and the contact a send needs, in one statement:
    three ORM reads cost more in query building than the database spent on them, and every
    send through the API makes them."""
    from apps.contacts.models import Contact
    from apps.message_templates.models import MessageTemplate
    from apps.whatsapp.models import WhatsAppAccount

    with connection.cursor() as cursor:
        cursor.execute(_send_reads_sql(), [phone, template_name])
        rows = cursor.fetchall()
    accounts = len(WhatsAppAccount._meta.concrete_fields)
    contacts = accounts + len(Contact._meta.concrete_fields)
    first = rows[0]
    templates = [model_from_row(MessageTemplate, row[contacts:]) for row in rows]
    return SendReads(
        account=model_from_row(WhatsAppAccount, first[:accounts]),
        templates={t.language: t for t in templates if t is not None},
        contact=model_from_row(Contact, first[accounts:contacts]),
    )
