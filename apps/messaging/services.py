"""Messaging: the send service, the status pipeline, inbound messages, opt-outs and the
24-hour window.

Entry points other apps use:
- `meta_webhook_ingest(*, payload)`: the single entry of the status pipeline. Meta's webhooks
  (stored raw by /webhooks/whatsapp, then drained by a worker) and the sandbox provider
  (apps.whatsapp.sandbox.STATUS_PIPELINE) both hand it a Meta-shaped `messages` webhook body.
  It routes each change to its workspace by phone number id and applies statuses, inbound
  messages and template status updates. Idempotent: feeding the same payload twice changes
  nothing the second time.
- `message_send_template(...)`: the one send service (public API, inbox, test sends,
  campaigns). Validates, records the Message before calling the provider, records the wamid
  after it.
- `message_outbound_record(...)` / `message_accept(...)` / `message_send_failed(...)`: the
  same steps separately, for bulk senders (campaigns) that call the provider themselves.
- Campaigns: set `campaign_id` / `campaign_recipient_id` on the message and register a
  listener in `apps.messaging.hooks` to follow its status changes.

Status rules: a status applies only if it is further along than the message's current one
(models.STATUS_RANK), so duplicates are no-ops, statuses never go backwards and out-of-order
arrivals converge; each status is kept once in the message's timeline; `read` implies
delivered (delivered_at is filled from it when Meta skipped `delivered`). A status for an
unknown wamid is parked (UnmatchedStatus) and applied when a message takes that wamid.
"""

from __future__ import annotations

import hmac
import logging
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, schema_context

from apps.contacts.models import Contact
from apps.contacts.services.contacts import contact_create, contact_opt_in, contact_opt_out
from apps.core.errors import ApplicationError, ValidationFailed
from apps.message_templates.models import MessageTemplate
from apps.message_templates.models import Status as TemplateStatus
from apps.message_templates.rendering import template_placeholders, template_render
from apps.messaging import bulk, events, selectors
from apps.messaging.hooks import StatusChange, notify_status_change, notify_status_changes
from apps.messaging.models import (
    STATUS_RANK,
    ConsentChange,
    Conversation,
    Direction,
    Message,
    MessageStatus,
    MessagingSettings,
    StatusEvent,
    UnmatchedStatus,
)
from apps.webhooks.services import emit_event, emit_events
from apps.whatsapp.errors import error_info
from apps.whatsapp.graph import GraphError, GraphTimeout
from apps.whatsapp.selectors import whatsapp_account_active
from apps.whatsapp.services import NoActiveWaba, provider_for_account

logger = logging.getLogger(__name__)

E164 = re.compile(r"^\+[1-9]\d{7,14}$")
PARAMETER_TYPES = ("text", "currency", "date_time", "image", "document", "video", "payload")
MEDIA_TYPES = ("image", "document", "video")
COMPONENT_TYPES = ("header", "body", "button")
PIPELINE_STATUSES = {
    MessageStatus.SENT,
    MessageStatus.DELIVERED,
    MessageStatus.READ,
    MessageStatus.FAILED,
    MessageStatus.HELD,
}


class WindowClosed(ApplicationError):
    status = 409
    code = "window_closed"


def _invalid(field_name: str, message: str, *, status: int = 422) -> ApplicationError:
    details = [{"field": field_name, "message": message}]
    if status == 422:
        return ValidationFailed(message, field=field_name, details=details)
    return ApplicationError(message, field=field_name, status=status, details=details)


def _epoch(value: Any) -> datetime:
    try:
        return datetime.fromtimestamp(int(value), tz=UTC)
    except (TypeError, ValueError, OverflowError):
        return timezone.now()


def phone_from_wa_id(wa_id: str) -> str:
    digits = re.sub(r"\D", "", str(wa_id or ""))
    return "+" + digits if digits else ""


# ------------------------------------------------------------------------------------------
# Contacts and conversations
# ------------------------------------------------------------------------------------------
def _contact_for_phone(*, phone: str, name: str = "") -> Contact | None:
    """The live contact with this number, created when there is none (named after the
    WhatsApp profile name, else the number). None when the number is not a valid one."""
    contact = Contact.objects.filter(phone=phone, archived_at__isnull=True).first()
    return contact if contact is not None else _contact_create_for_phone(phone=phone, name=name)


def _contact_create_for_phone(*, phone: str, name: str = "") -> Contact | None:
    try:
        with transaction.atomic():
            return contact_create(data={"first_name": (name or phone)[:255], "phone": phone})
    except ApplicationError:
        # A racing creation took the number (Conflict), or the number is not valid.
        return Contact.objects.filter(phone=phone, archived_at__isnull=True).first()


def _conversation_for(*, phone: str, contact: Contact | None) -> Conversation:
    conversation = Conversation.objects.select_for_update().filter(phone=phone).first()
    if conversation is None:
        try:
            with transaction.atomic():
                conversation = Conversation.objects.create(phone=phone, contact=contact)
        except IntegrityError:
            conversation = Conversation.objects.select_for_update().get(phone=phone)
    if contact is not None and conversation.contact_id != contact.pk:
        conversation.contact = contact
        conversation.save(update_fields=["contact"])
    return conversation


def _conversation_add(
    *, conversation: Conversation, message: Message, profile_name: str = ""
) -> None:
    fields = ["last_message_at", "last_message_preview"]
    at = message.created_at
    if conversation.last_message_at is None or at >= conversation.last_message_at:
        conversation.last_message_at = at
        conversation.last_message_preview = (message.body or message.template_name or "")[:255]
    if message.direction == Direction.INBOUND:
        if conversation.last_inbound_at is None or at > conversation.last_inbound_at:
            conversation.last_inbound_at = at  # opens or extends the 24-hour window
        conversation.unread_count += 1
        fields += ["last_inbound_at", "unread_count"]
        if profile_name and profile_name != conversation.profile_name:
            conversation.profile_name = profile_name[:255]
            fields.append("profile_name")
    conversation.save(update_fields=fields)


def _communication_added(message: Message) -> None:
    if message.contact_id:
        emit_event(
            event_type=events.CONTACT_COMMUNICATION_ADDED,
            data=events.communication_data(message),
        )


def conversation_mark_read(*, conversation: Conversation) -> None:
    Conversation.objects.filter(pk=conversation.pk).update(unread_count=0)
    conversation.unread_count = 0


# ------------------------------------------------------------------------------------------
# Status pipeline
# ------------------------------------------------------------------------------------------
_ROUTE_TTL = 30.0
_route_cache: dict[str, tuple[float, str | None]] = {}


def _schema_for_phone_number_id(phone_number_id: str) -> str | None:
    """The workspace schema that owns this phone number id (cached briefly: the receiver
    sees thousands of callbacks per second for a handful of numbers)."""
    from apps.whatsapp.selectors import tenant_for_phone_number_id

    now = time.monotonic()
    cached = _route_cache.get(phone_number_id)
    if cached and cached[0] > now:
        return cached[1]
    tenant = tenant_for_phone_number_id(phone_number_id=phone_number_id)
    schema = tenant.schema_name if tenant else None
    _route_cache[phone_number_id] = (now + _ROUTE_TTL, schema)
    return schema


def _schema_for_waba(waba_id: str) -> str | None:
    """Template status updates name the WABA, not a phone number: look through the
    workspaces that have a connected number (rare events, so a scan is fine)."""
    from apps.whatsapp.models import WhatsAppAccount
    from apps.whatsapp.routing.models import PhoneNumberRoute

    routes = PhoneNumberRoute.objects.select_related("tenant").order_by("id")
    for schema in dict.fromkeys(route.tenant.schema_name for route in routes):
        with schema_context(schema):
            if WhatsAppAccount.objects.filter(waba_id=waba_id, is_active=True).exists():
                return schema
    return None


def _current_tenant_schema() -> str | None:
    schema = connection.schema_name
    return None if schema == get_public_schema_name() else schema


@dataclass
class IngestResult:
    statuses_applied: int = 0
    statuses_ignored: int = 0
    statuses_unmatched: int = 0
    messages_received: int = 0
    templates_updated: int = 0
    unrouted: int = 0
    errors: list[str] = field(default_factory=list)


def meta_webhook_ingest(*, payload: dict[str, Any]) -> IngestResult:
    """Apply one Meta webhook body (see the module docstring). Each change is routed to its
    workspace by phone number id; when no route exists and the caller is already inside a
    workspace (the sandbox), that workspace is used."""
    return meta_webhook_ingest_many(payloads=[payload])


def meta_webhook_ingest_many(*, payloads: list[dict[str, Any]]) -> IngestResult:
    """Apply several webhook bodies at once, in order: the statuses of each workspace are
    applied in one set of queries (the drain's fast path). Same rules as one by one."""
    result = IngestResult()
    statuses: dict[str, list[dict[str, Any]]] = {}
    inbound: dict[str, list[tuple[dict[str, Any], str]]] = {}
    templates: list[tuple[str, dict[str, Any]]] = []
    for payload in payloads:
        if not isinstance(payload, dict):
            raise ValueError("a webhook payload is a JSON object")
        for entry in payload.get("entry") or []:
            if not isinstance(entry, dict):
                continue
            for change in entry.get("changes") or []:
                if not isinstance(change, dict):
                    continue
                kind = change.get("field")
                value = change.get("value") or {}
                if kind == "messages":
                    metadata = value.get("metadata") or {}
                    phone_number_id = str(metadata.get("phone_number_id") or "")
                    schema = _schema_for_phone_number_id(phone_number_id)
                    schema = schema or _current_tenant_schema()
                    if schema is None:
                        result.unrouted += 1
                        logger.warning(
                            "Meta webhook for unknown phone number id %s", phone_number_id
                        )
                        continue
                    statuses.setdefault(schema, []).extend(
                        s for s in value.get("statuses") or [] if isinstance(s, dict)
                    )
                    profiles = {
                        str(c.get("wa_id")): str((c.get("profile") or {}).get("name") or "")
                        for c in value.get("contacts") or []
                        if isinstance(c, dict)
                    }
                    inbound.setdefault(schema, []).extend(
                        (item, profiles.get(str(item.get("from")), ""))
                        for item in value.get("messages") or []
                        if isinstance(item, dict)
                    )
                elif kind == "message_template_status_update":
                    schema = _schema_for_waba(str(entry.get("id") or ""))
                    schema = schema or _current_tenant_schema()
                    if schema is None:
                        result.unrouted += 1
                        continue
                    templates.append((schema, value))
    for schema in dict.fromkeys([*statuses, *inbound]):
        with schema_context(schema), transaction.atomic():
            outcomes = _statuses_apply(statuses.get(schema, []))
            result.statuses_applied += outcomes.get("applied", 0)
            result.statuses_unmatched += outcomes.get("unmatched", 0)
            result.statuses_ignored += sum(
                n for k, n in outcomes.items() if k not in ("applied", "unmatched")
            )
            for item, profile_name in inbound.get(schema, []):
                if message_inbound_record(item=item, profile_name=profile_name):
                    result.messages_received += 1
    for schema, value in templates:
        from apps.message_templates.services import message_template_meta_status_update

        with schema_context(schema), transaction.atomic():
            if message_template_meta_status_update(value=value) is not None:
                result.templates_updated += 1
    return result


def message_status_apply(*, status: dict[str, Any]) -> str:
    """Apply one entry of a webhook's `statuses`. Returns "applied" (the message moved on),
    "recorded" (kept in the timeline, the message was already further), "duplicate",
    "unmatched" (no message has this wamid yet) or "ignored" (not a delivery status)."""
    outcomes = _statuses_apply([status])
    return next(iter(outcomes)) if outcomes else "ignored"


_STAMPS = {
    MessageStatus.SENT: ["sent_at"],
    MessageStatus.DELIVERED: ["delivered_at", "sent_at"],
    MessageStatus.READ: ["read_at", "delivered_at", "sent_at"],
    MessageStatus.FAILED: ["failed_at"],
}
_ERROR_FIELDS = ["error_code", "error_title", "error_detail", "error_raw"]


def _statuses_apply(
    statuses: list[dict[str, Any]], *, locked: dict[str, Message] | None = None
) -> dict[str, int]:
    """Apply statuses, in order, with a fixed number of queries: lock the messages, read
    their timelines, then write the new timeline rows, the messages and the events in bulk.
    Every writer of a message's timeline locks the message first, so this is race-free."""
    outcomes: dict[str, int] = {}

    def count(outcome: str) -> None:
        outcomes[outcome] = outcomes.get(outcome, 0) + 1

    valid = []
    for status in statuses:
        wamid = str(status.get("id") or "")
        new = str(status.get("status") or "").lower()
        if wamid and new in PIPELINE_STATUSES:
            valid.append((wamid, new, status))
        else:
            count("ignored")
    if not valid:
        return outcomes
    messages = dict(locked or {})
    wanted = sorted({wamid for wamid, _, _ in valid} - set(messages))
    if wanted:
        for message in Message.objects.select_for_update().filter(wamid__in=wanted).order_by("pk"):
            messages[message.wamid] = message
    seen = bulk.status_events_seen(message_ids=[message.pk for message in messages.values()])
    timeline: list[tuple[Any, str, datetime, bool, str, dict[str, Any]]] = []
    changed: dict[Any, tuple[Message, set[str]]] = {}
    emitted: list[tuple[Message, str, str]] = []
    parked: list[UnmatchedStatus] = []
    for wamid, new, status in valid:
        message = messages.get(wamid)
        if message is None:
            parked.append(UnmatchedStatus(wamid=wamid, payload=status))
            count("unmatched")
            continue
        if (message.pk, new) in seen:
            count("duplicate")
            continue
        seen.add((message.pk, new))
        occurred_at = _epoch(status.get("timestamp"))
        error = (status.get("errors") or [None])[0] or {}
        error_code = str(error.get("code") or "") if new == MessageStatus.FAILED else ""
        applies = STATUS_RANK[new] > message.status_rank
        timeline.append((message.pk, new, occurred_at, applies, error_code, status))
        fields = changed.setdefault(message.pk, (message, set()))[1]
        for name in _STAMPS.get(new, []):
            if getattr(message, name) is None:
                setattr(message, name, occurred_at)
                fields.add(name)
        if not applies:
            count("recorded")
            continue
        previous = message.status
        message.status, message.status_rank = new, STATUS_RANK[new]
        fields.update({"status", "status_rank"})
        if new == MessageStatus.FAILED:
            info = error_info(error.get("code"))
            message.error_code = error_code
            message.error_title = str(error.get("title") or info.title)[:255]
            details = (error.get("error_data") or {}).get("details") or error.get("message")
            message.error_detail = str(details or info.fix)
            message.error_raw = status.get("errors")
            fields.update(_ERROR_FIELDS)
        emitted.append((message, previous, new))
        count("applied")
    if parked:
        UnmatchedStatus.objects.bulk_create(parked)
    bulk.status_events_insert(timeline)
    bulk.messages_save_statuses([message for message, fields in changed.values() if fields])
    emit_events(
        items=[
            (events.STATUS_EVENTS[new], events.message_data(message))
            for message, _, new in emitted
            if new in events.STATUS_EVENTS
        ]
    )
    # The whole batch at once: listeners (campaign stats) write set-wise, not per status.
    notify_status_changes(changes=[StatusChange(*change) for change in emitted])
    return outcomes


def unmatched_statuses_retry(*, max_age_days: int = 7) -> int:
    """Apply parked statuses whose wamid a message now carries (closes the race where a
    status is parked while the send that records its wamid commits), and forget parked
    statuses older than `max_age_days`. Returns how many were applied."""
    cutoff = timezone.now() - timedelta(days=max_age_days)
    UnmatchedStatus.objects.filter(received_at__lt=cutoff).delete()
    wamids = list(UnmatchedStatus.objects.values_list("wamid", flat=True).distinct()[:2000])
    matched = set(Message.objects.filter(wamid__in=wamids).values_list("wamid", flat=True))
    if not matched:
        return 0
    with transaction.atomic():
        rows = list(
            UnmatchedStatus.objects.select_for_update(skip_locked=True)
            .filter(wamid__in=matched)
            .order_by("id")
        )
        _statuses_apply([row.payload for row in rows])
        UnmatchedStatus.objects.filter(pk__in=[row.pk for row in rows]).delete()
    return len(rows)


# ------------------------------------------------------------------------------------------
# Inbound messages, opt-outs
# ------------------------------------------------------------------------------------------
def _inbound_content(item: dict[str, Any]) -> tuple[str, str, dict[str, Any], str]:
    """(kind, body, media, context wamid) of an inbound message."""
    kind = str(item.get("type") or "unknown")
    content = item.get(kind) if isinstance(item.get(kind), dict) else {}
    context = str((item.get("context") or {}).get("id") or "")
    body = ""
    media: dict[str, Any] = {}
    if kind == "text":
        body = str(content.get("body") or "")
    elif kind in ("image", "video", "audio", "document", "sticker"):
        media = {
            key: content[key]
            for key in ("id", "mime_type", "sha256", "filename", "caption")
            if key in content
        }
        body = str(content.get("caption") or "")
    elif kind == "button":
        body = str(content.get("text") or content.get("payload") or "")
        media = {"payload": content.get("payload")}
    elif kind == "interactive":
        reply = content.get("button_reply") or content.get("list_reply") or {}
        body = str(reply.get("title") or "")
        media = {"reply_id": reply.get("id")}
    elif kind == "reaction":
        body = str(content.get("emoji") or "")
        context = str(content.get("message_id") or context)
    elif kind == "location":
        body = str(content.get("name") or content.get("address") or "Location")
        media = {k: content.get(k) for k in ("latitude", "longitude")}
    return kind, body, media, context


def message_inbound_record(*, item: dict[str, Any], profile_name: str = "") -> Message | None:
    """Record one inbound message (None when it was recorded before: Meta redelivers)."""
    wamid = str(item.get("id") or "")
    phone = phone_from_wa_id(str(item.get("from") or ""))
    if not wamid or not phone or Message.objects.filter(wamid=wamid).exists():
        return None
    kind, body, media, context = _inbound_content(item)
    contact = _contact_for_phone(phone=phone, name=profile_name)
    conversation = _conversation_for(phone=phone, contact=contact)
    try:
        with transaction.atomic():
            message = Message.objects.create(
                direction=Direction.INBOUND,
                wamid=wamid,
                conversation=conversation,
                contact=contact,
                phone=phone,
                kind=kind,
                body=body,
                media=media,
                context_wamid=context,
                status=MessageStatus.RECEIVED,
                status_rank=STATUS_RANK[MessageStatus.RECEIVED],
                provider="",
                origin="whatsapp",
                created_at=_epoch(item.get("timestamp")),
            )
    except IntegrityError:
        return None  # recorded by a concurrent run
    _conversation_add(conversation=conversation, message=message, profile_name=profile_name)
    emit_event(event_type=events.MESSAGE_RECEIVED, data=events.message_data(message))
    _communication_added(message)
    if contact is not None and kind in ("text", "button", "interactive"):
        _consent_keywords(contact=contact, message=message)
    return message


def messaging_settings_get() -> MessagingSettings:
    settings, _ = MessagingSettings.objects.get_or_create(pk=1)
    return settings


def _keywords(raw: Any) -> list[str]:
    if isinstance(raw, str):
        raw = raw.replace("\n", ",").split(",")
    words = []
    for word in raw or []:
        word = str(word).strip().upper()
        if word and len(word) <= 64 and word not in words:
            words.append(word)
    return words


@transaction.atomic
def messaging_settings_update(*, opt_out_keywords: Any, opt_in_keywords: Any) -> MessagingSettings:
    out_words, in_words = _keywords(opt_out_keywords), _keywords(opt_in_keywords)
    if not out_words:
        raise _invalid("opt_out_keywords", "Give at least one opt-out keyword.")
    if not in_words:
        raise _invalid("opt_in_keywords", "Give at least one opt-in keyword.")
    if set(out_words) & set(in_words):
        raise _invalid("opt_in_keywords", "A keyword cannot both opt out and opt in.")
    settings = messaging_settings_get()
    settings.opt_out_keywords, settings.opt_in_keywords = out_words, in_words
    settings.save()
    return settings


def _consent_keywords(*, contact: Contact, message: Message) -> None:
    word = message.body.strip().upper()
    if not word:
        return
    settings = messaging_settings_get()
    if word in settings.opt_out_keywords:
        contact_consent_change(
            contact=contact, action=ConsentChange.Action.OPT_OUT, source="inbound_keyword",
            keyword=word, message=message,
        )  # fmt: skip
    elif word in settings.opt_in_keywords:
        contact_consent_change(
            contact=contact, action=ConsentChange.Action.OPT_IN, source="inbound_keyword",
            keyword=word, message=message,
        )  # fmt: skip


@transaction.atomic
def contact_consent_change(
    *,
    contact: Contact,
    action: str,
    source: str,
    keyword: str = "",
    message: Message | None = None,
) -> ConsentChange:
    """Opt a contact out or back in (through the contacts app) and keep when and how."""
    if action == ConsentChange.Action.OPT_OUT:
        reason = f"Sent “{keyword}” on WhatsApp" if keyword else f"Opted out ({source})"
        contact_opt_out(contact=contact, reason=reason)
    elif action == ConsentChange.Action.OPT_IN:
        contact_opt_in(contact=contact)
    else:
        raise ValueError(f"unknown consent action {action!r}")
    return ConsentChange.objects.create(
        contact=contact, action=action, source=source, keyword=keyword, message=message
    )


# ------------------------------------------------------------------------------------------
# Sending
# ------------------------------------------------------------------------------------------
def phone_e164(raw: Any, *, field_name: str = "to") -> str:
    """The recipient as E.164, or a 400 naming the field."""
    value = str(raw or "").strip()
    if not E164.match(value):
        raise _invalid(
            field_name,
            f"{field_name} must be a phone number in E.164 format, e.g. +919999999999.",
            status=400,
        )
    return value


def template_for_send(*, name: str, language: str) -> MessageTemplate:
    """The approved template with this name and language, or a 422 naming the field and the
    languages that exist."""
    name = str(name or "").strip()
    if not name:
        raise _invalid("template_name", "template_name is required.", status=400)
    variants = {t.language: t for t in MessageTemplate.objects.filter(name=name)}
    return _template_choose(name=name, language=language, variants=variants)


def _template_choose(
    *, name: str, language: str, variants: dict[str, MessageTemplate]
) -> MessageTemplate:
    if not name:
        raise _invalid("template_name", "template_name is required.", status=400)
    if not variants:
        raise _invalid("template_name", f"No template named “{name}” exists.")
    template = variants.get(language)
    if template is None:
        listing = ", ".join(
            f"{lang} ({variants[lang].status.lower()})" for lang in sorted(variants)
        )
        raise _invalid(
            "language",
            f"Template “{name}” has no {language} variant. Languages: {listing}.",
        )
    if template.status != TemplateStatus.APPROVED:
        approved = sorted(lang for lang, t in variants.items() if t.status == "APPROVED")
        hint = f" Approved languages: {', '.join(approved)}." if approved else ""
        raise _invalid(
            "template_name",
            f"Template “{name}” ({language}) is {template.status.lower()}, not approved.{hint}",
        )
    return template


def _check_parameter(param: Any, at: str) -> None:
    if not isinstance(param, dict):
        raise _invalid(at, "Each parameter is an object.")
    kind = param.get("type")
    if kind not in PARAMETER_TYPES:
        raise _invalid(f"{at}.type", f"Parameter type must be one of {', '.join(PARAMETER_TYPES)}.")
    value = param.get(kind)
    if kind == "text":
        if not isinstance(value, str) or not value.strip():
            raise _invalid(f"{at}.text", "A text parameter needs a non-empty text.")
    elif kind == "payload":
        if not isinstance(value, str) or not value:
            raise _invalid(f"{at}.payload", "A payload parameter needs a payload string.")
    elif kind in MEDIA_TYPES:
        if not isinstance(value, dict) or not (value.get("link") or value.get("id")):
            raise _invalid(f"{at}.{kind}", f"An {kind} parameter needs a link or an id.")
    elif kind == "currency":
        if not isinstance(value, dict) or not all(
            k in value for k in ("fallback_value", "code", "amount_1000")
        ):
            raise _invalid(
                f"{at}.currency", "A currency parameter needs fallback_value, code and amount_1000."
            )
    elif kind == "date_time" and (not isinstance(value, dict) or "fallback_value" not in value):
        raise _invalid(f"{at}.date_time", "A date_time parameter needs a fallback_value.")


def components_check(*, template: MessageTemplate, components: Any) -> dict[str, Any]:
    """Check `components` (Meta's send shape) against the template: shape first, then one
    parameter per placeholder. Returns the values for rendering the text the recipient sees."""
    if components is None:
        components = []
    if not isinstance(components, list):
        raise _invalid("components", "components must be an array of objects.")
    wanted = template_placeholders(template.components)
    header = template.component("HEADER") or {}
    header_format = str(header.get("format") or "").upper()
    values: dict[str, Any] = {"buttons": {}}
    seen: set[str] = set()
    for i, component in enumerate(components):
        at = f"components[{i}]"
        if not isinstance(component, dict):
            raise _invalid(at, "Each component is an object.")
        kind = str(component.get("type") or "").lower()
        if kind not in COMPONENT_TYPES:
            raise _invalid(f"{at}.type", "Component type must be header, body or button.")
        params = component.get("parameters")
        if not isinstance(params, list):
            raise _invalid(f"{at}.parameters", "parameters must be an array.")
        for j, param in enumerate(params):
            _check_parameter(param, f"{at}.parameters[{j}]")
        key = kind
        if kind == "button":
            if not component.get("sub_type"):
                raise _invalid(f"{at}.sub_type", "A button component needs a sub_type.")
            index = str(component.get("index", ""))
            if not index.isdigit():
                raise _invalid(f"{at}.index", "A button component needs its index (0, 1, ...).")
            key = f"button {index}"
        if key in seen:
            raise _invalid(f"{at}.type", f"The {key} component is given twice.")
        seen.add(key)
        texts = {str(n + 1): p.get("text") for n, p in enumerate(params) if isinstance(p, dict)}
        if kind == "header":
            if header_format in MEDIA_TYPES_UPPER:
                expected = 1
                if len(params) == 1 and params[0].get("type") != header_format.lower():
                    raise _invalid(
                        f"{at}.parameters[0].type",
                        f"The template's header is {header_format.lower()}: send one "
                        f"{header_format.lower()} parameter.",
                    )
            else:
                expected = len(wanted.get("header", []))
            values["header"] = texts
        elif kind == "body":
            expected = len(wanted.get("body", []))
            values["body"] = texts
        else:
            index = str(component.get("index"))
            buttons = wanted.get("buttons", {})
            expected = len(buttons.get(index, []))
            if index not in buttons and not params:
                expected = 0
            values["buttons"][index] = texts
        if len(params) != expected:
            raise _invalid(
                f"{at}.parameters",
                f"The template's {key} has {expected} placeholder(s); {len(params)} "
                "parameter(s) given.",
            )
    missing = []
    if header_format in MEDIA_TYPES_UPPER and "header" not in seen:
        missing.append(("header", 1))
    elif wanted.get("header") and "header" not in seen:
        missing.append(("header", len(wanted["header"])))
    if wanted.get("body") and "body" not in seen:
        missing.append(("body", len(wanted["body"])))
    for index, names in (wanted.get("buttons") or {}).items():
        if f"button {index}" not in seen:
            missing.append((f"button {index}", len(names)))
    if missing:
        where, count = missing[0]
        raise _invalid(
            "components",
            f"The template's {where} has {count} placeholder(s); 0 parameter(s) given.",
        )
    return values


MEDIA_TYPES_UPPER = {t.upper() for t in MEDIA_TYPES}


def _rendered_body(template: MessageTemplate, values: dict[str, Any]) -> str:
    rendered = template_render(components=template.components, values=values, strict=False)
    return "\n".join(part for part in (rendered.header_text, rendered.body) if part)


def message_outbound_record(
    *,
    phone: str,
    kind: str = "template",
    template: MessageTemplate | None = None,
    components: list[dict[str, Any]] | None = None,
    body: str = "",
    origin: str = "api",
    campaign_id: Any = None,
    campaign_recipient_id: Any = None,
    contact: Contact | None = None,
) -> Message:
    """Record an outbound message before the provider is called (status pending), link or
    create its contact and add it to the contact's history."""
    return _outbound_record(
        phone=phone, kind=kind, template=template, components=components, body=body,
        origin=origin, campaign_id=campaign_id, campaign_recipient_id=campaign_recipient_id,
        contact=contact or _contact_for_phone(phone=phone),
    )  # fmt: skip


def _outbound_record(
    *,
    phone: str,
    kind: str,
    template: MessageTemplate | None,
    components: list[dict[str, Any]] | None,
    body: str,
    origin: str,
    campaign_id: Any,
    campaign_recipient_id: Any,
    contact: Contact | None,
) -> Message:
    """message_outbound_record with its contact found already (None: the number has none
    and the contacts app refused to create one)."""
    message = Message(
        direction=Direction.OUTBOUND,
        contact=contact,
        phone=phone,
        kind=kind,
        template_name=template.name if template else "",
        template_language=template.language if template else "",
        components=components or [],
        body=body,
        origin=origin,
        campaign_id=campaign_id,
        campaign_recipient_id=campaign_recipient_id,
    )
    with transaction.atomic():
        # The conversation's rules (_conversation_for, then _conversation_add for an outbound
        # message) and the message's insert, in one statement: every send pays for them.
        bulk.outbound_message_insert(
            message=message, preview=(message.body or message.template_name or "")[:255]
        )
        _communication_added(message)
    return message


def message_accept(*, message: Message, wamid: str, provider: str, raw: Any = None) -> Message:
    """Record WhatsApp's answer to a send (its wamid), then any status that arrived for that
    wamid before this answer did. Updates and returns `message`."""
    new = MessageStatus.ACCEPTED
    try:
        answered = (raw or {}).get("messages", [{}])[0].get("message_status")
    except (AttributeError, IndexError):
        answered = None
    if answered == MessageStatus.HELD:
        new = MessageStatus.HELD
    now = timezone.now()
    # One UPDATE, committed on its own: the status rule (never backwards) is in its SET, and
    # it tells whether statuses wait for this wamid, which are rare and applied after it.
    row = bulk.message_accept_update(
        message_id=message.pk, wamid=wamid, provider=provider, status=new,
        rank=STATUS_RANK[new], now=now,
    )  # fmt: skip
    if row is None:
        raise Message.DoesNotExist(f"No message {message.pk}.")
    message.wamid, message.provider, message.updated_at = wamid, provider, now
    message.status, message.status_rank, parked = row
    if parked:
        message = _parked_statuses_apply(message=message)
    return message


@transaction.atomic
def _parked_statuses_apply(*, message: Message) -> Message:
    message = Message.objects.select_for_update().get(pk=message.pk)
    parked = list(UnmatchedStatus.objects.filter(wamid=message.wamid).order_by("id"))
    if parked:
        _statuses_apply([row.payload for row in parked], locked={message.wamid: message})
        UnmatchedStatus.objects.filter(pk__in=[row.pk for row in parked]).delete()
    return message


@transaction.atomic
def message_send_failed(
    *, message: Message, code: str, title: str, detail: str = "", raw: Any = None, emit: bool
) -> Message:
    """Mark an outbound message failed before WhatsApp accepted it. `emit` sends
    `message.failed` (Lynkist's own decisions, e.g. lk_opted_out); upstream errors the caller
    sees as a 502/504 are not announced a second time."""
    message = Message.objects.select_for_update().get(pk=message.pk)
    if message.status_rank >= STATUS_RANK[MessageStatus.FAILED]:
        return message
    previous = message.status
    now = timezone.now()
    message.status, message.status_rank = MessageStatus.FAILED, STATUS_RANK[MessageStatus.FAILED]
    message.error_code, message.error_title = str(code), title[:255]
    message.error_detail, message.error_raw, message.failed_at = detail, raw, now
    message.save()
    StatusEvent.objects.get_or_create(
        message=message,
        status=MessageStatus.FAILED,
        defaults={"occurred_at": now, "error_code": str(code), "raw": {"errors": raw or []}},
    )
    if emit:
        emit_event(event_type=events.MESSAGE_FAILED, data=events.message_data(message))
    notify_status_change(message=message, previous_status=previous, new_status="failed")
    return message


def _graph_failure(message: Message, error: GraphError) -> None:
    if isinstance(error, GraphTimeout):
        info = error_info("lk_outcome_unknown")
        code = "lk_outcome_unknown"
    else:
        info = error_info(error.meta_code)
        code = str(error.meta_code or "upstream_error")
    message_send_failed(
        message=message,
        code=code,
        title=info.title,
        detail=error.meta_message or info.fix,
        raw=[error.details],
        emit=False,
    )


def message_send_template(
    *,
    to: str,
    template_name: str,
    language: str = "en",
    components: list[dict[str, Any]] | None = None,
    mode: str = "live",
    origin: str = "api",
    campaign_id: Any = None,
    campaign_recipient_id: Any = None,
) -> Message:
    """Send an approved template. Raises 400/404/422 for a request that cannot be sent, a
    GraphError (502/504) when WhatsApp fails; a send to an opted-out contact is recorded and
    fails with `lk_opted_out` (announced as `message.failed`), without reaching WhatsApp."""
    phone = phone_e164(to)
    language = str(language or "en").strip()
    template_name = str(template_name or "").strip()
    # The account, the template's variants and the contact in one read; then the checks in
    # their order: no account (404), the template (400/422), the components (422).
    reads = selectors.send_reads(phone=phone, template_name=template_name)
    account = reads.account
    if account is None:
        raise NoActiveWaba("No active WABA account for this tenant: connect a WABA first.")
    template = _template_choose(name=template_name, language=language, variants=reads.templates)
    values = components_check(template=template, components=components)
    message = _outbound_record(
        phone=phone,
        kind="template",
        template=template,
        components=components or [],
        body=_rendered_body(template, values),
        origin=origin,
        campaign_id=campaign_id,
        campaign_recipient_id=campaign_recipient_id,
        contact=reads.contact or _contact_create_for_phone(phone=phone),
    )
    if message.contact_id and message.contact.is_opted_out:
        info = error_info("lk_opted_out")
        return message_send_failed(
            message=message, code="lk_opted_out", title=info.title, detail=info.fix, emit=True
        )
    provider = provider_for_account(account=account, mode=mode)
    try:
        result = provider.send_template(
            to=phone, name=template.name, language=template.language, components=components or None
        )
    except GraphError as error:
        _graph_failure(message, error)
        raise
    return message_accept(
        message=message, wamid=result.wamid, provider=provider.name, raw=result.raw
    )


def _provider_send_text(provider: Any, *, to: str, body: str) -> tuple[str, dict[str, Any]]:
    """A free-form text through the provider. The providers expose templates only, so the
    cloud path posts Meta's text message through the Graph client, and the sandbox accepts it
    the way it accepts a template (its statuses follow the same rules)."""
    from apps.whatsapp.graph import run_sync
    from apps.whatsapp.providers import CloudProvider
    from apps.whatsapp.sandbox import SandboxProvider

    if hasattr(provider, "send_text"):
        result = provider.send_text(to=to, body=body)
        return result.wamid, result.raw
    if isinstance(provider, CloudProvider):
        raw = run_sync(
            provider.client.request(
                "POST",
                f"{provider.phone_number_id}/messages",
                json={
                    "messaging_product": "whatsapp",
                    "recipient_type": "individual",
                    "to": to,
                    "type": "text",
                    "text": {"preview_url": False, "body": body},
                },
            )
        )
        return str(raw["messages"][0]["id"]), raw
    if isinstance(provider, SandboxProvider):
        result = provider._accept(to=to, name="text", language="text")
        return result.wamid, result.raw
    raise ApplicationError("This WhatsApp provider cannot send free-form text.")


def message_send_text(
    *, conversation: Conversation, body: str, at: datetime | None = None
) -> Message:
    """A free-form reply from the inbox, allowed only inside the 24-hour window."""
    body = str(body or "").strip()
    if not body:
        raise _invalid("body", "Write a message first.")
    if len(body) > 4096:
        raise _invalid("body", "A WhatsApp text is at most 4,096 characters.")
    if not conversation.window_open(at):
        raise WindowClosed(
            "The 24-hour window is closed: the customer has not written in the last 24 hours. "
            "Send an approved template instead.",
            field="body",
        )
    account = whatsapp_account_active()
    if account is None:
        raise NoActiveWaba()
    message = message_outbound_record(
        phone=conversation.phone, kind="text", body=body, origin="inbox",
        contact=conversation.contact,
    )  # fmt: skip
    provider = provider_for_account(account=account)
    try:
        wamid, raw = _provider_send_text(provider, to=conversation.phone, body=body)
    except GraphError as error:
        _graph_failure(message, error)
        raise
    return message_accept(message=message, wamid=wamid, provider=provider.name, raw=raw)


# ------------------------------------------------------------------------------------------
# The receiver's side: signatures
# ------------------------------------------------------------------------------------------
def meta_signature_valid(*, body: bytes, header: str | None, secret: str) -> bool:
    """X-Hub-Signature-256 is `sha256=` + hex HMAC-SHA256 of the raw body with the app
    secret; compared in constant time."""
    if not header or not header.startswith("sha256=") or not secret:
        return False
    expected = hmac.new(secret.encode(), body, "sha256").hexdigest()
    return hmac.compare_digest(expected, header[len("sha256=") :].strip().lower())
