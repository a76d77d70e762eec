"""Message template services.

Rules owned here: a template is validated against Meta's rules before it is submitted; a
(name, language) pair exists once per workspace; a template is saved only once WhatsApp (or
the sandbox) accepted it, so a failed submission leaves nothing behind; status changes, from
a sync, Meta's `message_template_status_update` webhook or the sandbox's review, emit
`template.approved|rejected|paused|disabled` once per change, in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from apps.core.errors import Conflict
from apps.message_templates.models import MessageTemplate, Status
from apps.message_templates.validation import template_validate
from apps.webhooks.services import emit_event
from apps.whatsapp.graph import GraphError
from apps.whatsapp.providers import WhatsAppProvider
from apps.whatsapp.sandbox import REVIEW_SECONDS, SandboxProvider, review_decision
from apps.whatsapp.services import whatsapp_provider_get

DELETED_IN_WHATSAPP = "Deleted in WhatsApp; kept for the campaigns that used it."

STATUS_EVENTS = {
    Status.APPROVED: "template.approved",
    Status.REJECTED: "template.rejected",
    Status.PAUSED: "template.paused",
    Status.DISABLED: "template.disabled",
}


def template_event_data(template: MessageTemplate) -> dict[str, Any]:
    return {
        "id": str(template.id),
        "meta_id": template.meta_id,
        "name": template.name,
        "language": template.language,
        "category": template.category,
        "status": template.status,
        "rejection_reason": template.rejection_reason,
    }


def _normalise_components(components: Any) -> Any:
    if not isinstance(components, list):
        return components
    normalised = []
    for component in components:
        if not isinstance(component, dict):
            normalised.append(component)
            continue
        item = {**component, "type": str(component.get("type", "")).upper()}
        if "format" in item:
            item["format"] = str(item["format"]).upper()
        if isinstance(item.get("buttons"), list):
            item["buttons"] = [
                {**b, "type": str(b.get("type", "")).upper()} if isinstance(b, dict) else b
                for b in item["buttons"]
            ]
        normalised.append(item)
    return normalised


def message_template_create(
    *,
    name: str,
    language: str,
    category: str,
    components: list[dict[str, Any]],
    provider: WhatsAppProvider | None = None,
) -> MessageTemplate:
    """Validate, submit to WhatsApp, and keep the template as WhatsApp answered (PENDING)."""
    name, language, category = name.strip(), language.strip(), category.strip().upper()
    components = _normalise_components(components)
    template_validate(name=name, language=language, category=category, components=components)
    if MessageTemplate.objects.filter(name=name, language=language).exists():
        raise Conflict(f"A template “{name}” already exists in {language}.", field="name")
    provider = provider or whatsapp_provider_get()
    submission = provider.submit_template(
        payload={"name": name, "language": language, "category": category, "components": components}
    )
    status = submission.status if submission.status in Status.values else Status.PENDING
    with transaction.atomic():
        template = MessageTemplate.objects.create(
            name=name,
            language=language,
            category=submission.category
            if submission.category in {"MARKETING", "UTILITY", "AUTHENTICATION"}
            else category,
            components=components,
            status=status,
            meta_id=submission.meta_id,
        )
        if status in STATUS_EVENTS:
            emit_event(event_type=STATUS_EVENTS[status], data=template_event_data(template))
        if isinstance(provider, SandboxProvider):
            schema, template_id = connection.schema_name, str(template.id)
            transaction.on_commit(lambda: _schedule_sandbox_review(schema, template_id))
    return template


def _schedule_sandbox_review(schema_name: str, template_id: str) -> None:
    from apps.message_templates.tasks import message_template_sandbox_review_task

    message_template_sandbox_review_task.apply_async(
        args=[schema_name], kwargs={"template_id": template_id}, countdown=REVIEW_SECONDS
    )


@transaction.atomic
def message_template_status_apply(
    *,
    template: MessageTemplate,
    status: str,
    reason: str = "",
    quality_rating: str | None = None,
) -> bool:
    """Record a status WhatsApp reported; returns whether it changed (and emitted)."""
    status = status.upper()
    if status not in Status.values:
        raise ValueError(f"unknown template status {status!r}")
    fields = ["updated_at"]
    if quality_rating is not None and quality_rating != template.quality_rating:
        template.quality_rating = quality_rating
        fields.append("quality_rating")
    changed = status != template.status
    if changed:
        template.status = status
        template.rejection_reason = reason if status in (Status.REJECTED, Status.DISABLED) else ""
        fields += ["status", "rejection_reason"]
    if len(fields) > 1:
        template.save(update_fields=fields)
    if changed and status in STATUS_EVENTS:
        emit_event(event_type=STATUS_EVENTS[status], data=template_event_data(template))
    return changed


def message_template_meta_status_update(*, value: dict[str, Any]) -> MessageTemplate | None:
    """Apply the `value` of Meta's `message_template_status_update` webhook (the messaging
    app's receiver calls this in the right schema). Unknown templates are ignored."""
    meta_id = str(value.get("message_template_id") or "")
    template = MessageTemplate.objects.filter(meta_id=meta_id).first() if meta_id else None
    if template is None:
        template = MessageTemplate.objects.filter(
            name=value.get("message_template_name", ""),
            language=value.get("message_template_language", ""),
        ).first()
    event = str(value.get("event") or "").upper()
    if template is None or event not in Status.values:
        return None
    reason = str(value.get("reason") or "")
    message_template_status_apply(
        template=template, status=event, reason="" if reason == "NONE" else reason
    )
    return template


def message_template_delete(
    *, template: MessageTemplate, provider: WhatsAppProvider | None = None
) -> None:
    """Delete from WhatsApp, then here. A template WhatsApp no longer knows is deleted here.
    A template that campaigns used is refused before WhatsApp is asked: their history (and
    any campaign still to send) needs it, and deleting it in WhatsApp alone would leave a
    template here that can no longer send."""
    used_by = list(template.campaigns.order_by("-created_at").values_list("name", flat=True)[:5])
    if used_by:
        raise Conflict(
            f"“{template.name}” ({template.language}) is used by campaigns "
            f"({', '.join(used_by)}): a template with campaign history cannot be deleted.",
            details={"campaigns": used_by},
        )
    if template.meta_id:
        provider = provider or whatsapp_provider_get()
        try:
            provider.delete_template(name=template.name, meta_id=template.meta_id)
        except GraphError as error:
            if error.meta_code != 100:
                raise
    template.delete()


@dataclass
class SyncResult:
    created: int = 0
    updated: int = 0
    removed: int = 0
    status_changes: int = 0


def message_template_sync(*, provider: WhatsAppProvider | None = None) -> SyncResult:
    """Pull every template of the WABA with its status: new ones are added, known ones
    updated (status changes emit their events), and ones deleted in WhatsApp removed here."""
    provider = provider or whatsapp_provider_get()
    remote = provider.list_templates()
    result = SyncResult()
    now = timezone.now()
    seen: set[str] = set()
    with transaction.atomic():
        by_meta = {t.meta_id: t for t in MessageTemplate.objects.exclude(meta_id="")}
        by_key = {(t.name, t.language): t for t in MessageTemplate.objects.all()}
        for item in remote:
            meta_id, name, language = (
                str(item.get("id") or ""),
                item.get("name"),
                item.get("language"),
            )
            if not meta_id or not name or not language:
                continue
            seen.add(meta_id)
            status = str(item.get("status") or "PENDING").upper()
            status = status if status in Status.values else Status.PENDING
            quality = str((item.get("quality_score") or {}).get("score") or "")
            template = by_meta.get(meta_id) or by_key.get((name, language))
            if template is None:
                template = MessageTemplate.objects.create(
                    name=name,
                    language=language,
                    category=str(item.get("category") or "MARKETING").upper(),
                    components=_normalise_components(item.get("components") or []),
                    status=status,
                    rejection_reason=str(item.get("rejected_reason") or "")
                    if status == Status.REJECTED
                    else "",
                    quality_rating=quality,
                    meta_id=meta_id,
                    last_synced_at=now,
                )
                if status in STATUS_EVENTS:
                    emit_event(event_type=STATUS_EVENTS[status], data=template_event_data(template))
                result.created += 1
                continue
            template.meta_id = meta_id
            template.category = str(item.get("category") or template.category).upper()
            template.components = _normalise_components(
                item.get("components") or template.components
            )
            template.last_synced_at = now
            template.save(
                update_fields=["meta_id", "category", "components", "last_synced_at", "updated_at"]
            )
            reason = str(item.get("rejected_reason") or "")
            if message_template_status_apply(
                template=template,
                status=status,
                reason="" if reason == "NONE" else reason,
                quality_rating=quality,
            ):
                result.status_changes += 1
            result.updated += 1
        gone = MessageTemplate.objects.exclude(meta_id="").exclude(meta_id__in=seen)
        # Deleted in WhatsApp but kept here for the campaigns that used it, unable to send.
        for template in gone.filter(campaigns__isnull=False).distinct():
            message_template_status_apply(
                template=template, status=Status.DISABLED, reason=DELETED_IN_WHATSAPP
            )
        unused = gone.filter(campaigns__isnull=True)
        result.removed = gone.count()
        unused.delete()
    return result


def message_template_sandbox_review(*, template_id: str) -> MessageTemplate | None:
    """The sandbox's review of a submitted template (approve, or reject names with
    "reject"). Runs once; a template no longer pending is left alone."""
    template = MessageTemplate.objects.filter(pk=template_id, status=Status.PENDING).first()
    if template is None:
        return None
    status, reason = review_decision(template.name)
    message_template_status_apply(template=template, status=status, reason=reason)
    return template
