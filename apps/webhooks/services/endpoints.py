"""Webhook endpoints: what admins and integrators configure.

Rules owned here: a URL must pass the SSRF check (and be HTTPS where required) whenever it is
saved; an endpoint subscribes to catalogued event types or to all; its secret is
`whsec_` + random bytes and, after a rotation, the old one keeps signing for 24 hours; a test
event goes to one endpoint only; a disabled endpoint is sent nothing until enabled again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from apps.audit.services import audit_record
from apps.core.errors import Conflict, ValidationFailed
from apps.webhooks.events import SUBSCRIBABLE_EVENT_TYPES, TEST_EVENT_TYPE
from apps.webhooks.models import Delivery, DeliveryStatus, Endpoint, Event
from apps.webhooks.signing import secret_new
from apps.webhooks.ssrf import url_check

if TYPE_CHECKING:
    from apps.accounts.models import User
    from apps.tenancy.models import Tenant

logger = logging.getLogger(__name__)

# How long the previous secret keeps signing after a rotation, so receivers can switch over.
ROTATION_GRACE = timedelta(hours=24)


def _clean_url(url: str) -> str:
    url = (url or "").strip()
    if len(url) > 2000:
        raise ValidationFailed(
            "The URL is longer than 2000 characters.",
            field="url",
        )
    url_check(url)
    return url


def _clean_event_types(event_types: Iterable[str]) -> list[str]:
    chosen = set(event_types)
    unknown = sorted(chosen - SUBSCRIBABLE_EVENT_TYPES)
    if unknown:
        raise ValidationFailed(
            f"Unknown event types: {', '.join(unknown)}.",
            field="event_types",
        )
    return sorted(chosen)


def _kick(tenant: Tenant) -> None:
    """Have a worker look at this workspace's deliveries once the transaction commits. Only
    a shortcut: the dispatcher finds due deliveries within seconds anyway, so a broker that
    cannot be reached is logged, not raised."""
    from apps.webhooks.tasks import webhooks_process_tenant

    schema = tenant.schema_name

    def enqueue() -> None:
        try:
            webhooks_process_tenant.delay(schema)
        except Exception:
            logger.warning("could not queue webhook processing", extra={"schema": schema})

    transaction.on_commit(enqueue)


def endpoint_create(
    *,
    tenant: Tenant,
    actor: User | None,
    url: str,
    description: str = "",
    event_types: Iterable[str] = (),
) -> Endpoint:
    endpoint = Endpoint.objects.create(
        url=_clean_url(url),
        description=description.strip(),
        event_types=_clean_event_types(event_types),
        secret=secret_new(),
    )
    audit_record(tenant=tenant, actor=actor, action="webhook.created", target=endpoint.url)
    return endpoint


def endpoint_update(
    *,
    tenant: Tenant,
    endpoint: Endpoint,
    actor: User | None,
    url: str | None = None,
    description: str | None = None,
    event_types: Iterable[str] | None = None,
) -> Endpoint:
    """Change what is given; None leaves a field as it is (an empty list means all events)."""
    changed: list[str] = []
    if url is not None and url.strip() != endpoint.url:
        endpoint.url = _clean_url(url)
        changed.append("url")
    if description is not None and description.strip() != endpoint.description:
        endpoint.description = description.strip()
        changed.append("description")
    if event_types is not None:
        cleaned = _clean_event_types(event_types)
        if cleaned != endpoint.event_types:
            endpoint.event_types = cleaned
            changed.append("event_types")
    if changed:
        endpoint.save(update_fields=[*changed, "updated_at"])
        audit_record(
            tenant=tenant,
            actor=actor,
            action="webhook.updated",
            target=endpoint.url,
            details={"fields": ", ".join(changed)},
        )
    return endpoint


def endpoint_delete(*, tenant: Tenant, endpoint: Endpoint, actor: User | None) -> None:
    url = endpoint.url
    endpoint.delete()
    audit_record(tenant=tenant, actor=actor, action="webhook.deleted", target=url)


def endpoint_rotate_secret(
    *, tenant: Tenant, endpoint: Endpoint, actor: User | None, now: datetime | None = None
) -> Endpoint:
    """A new secret signs from now on; the current one keeps signing beside it for 24 h.
    Rotating again within those 24 h drops the oldest secret at once."""
    now = now or timezone.now()
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = now + ROTATION_GRACE
    endpoint.secret = secret_new()
    endpoint.save(
        update_fields=["secret", "previous_secret", "previous_secret_expires_at", "updated_at"]
    )
    audit_record(tenant=tenant, actor=actor, action="webhook.secret_rotated", target=endpoint.url)
    return endpoint


def endpoint_signing_secrets(*, endpoint: Endpoint, now: datetime) -> list[str]:
    """The secrets that sign a request made at `now`, the newest first."""
    secrets_ = [endpoint.secret]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret and expires and expires > now:
        secrets_.append(endpoint.previous_secret)
    return secrets_


def endpoint_enable(*, tenant: Tenant, endpoint: Endpoint, actor: User | None) -> Endpoint:
    if endpoint.enabled:
        return endpoint
    endpoint.enabled = True
    endpoint.disabled_reason = ""
    endpoint.disabled_at = None
    endpoint.failing_since = None
    endpoint.save(
        update_fields=["enabled", "disabled_reason", "disabled_at", "failing_since", "updated_at"]
    )
    audit_record(tenant=tenant, actor=actor, action="webhook.enabled", target=endpoint.url)
    _kick(tenant)
    return endpoint


def endpoint_disable(
    *,
    tenant: Tenant,
    endpoint: Endpoint,
    actor: User | None,
    reason: str = "",
    now: datetime | None = None,
) -> Endpoint:
    """Stop sending to an endpoint. Its pending deliveries wait until it is enabled again."""
    if not endpoint.enabled:
        return endpoint
    if not reason:
        reason = f"Disabled by {actor.email}." if actor else "Disabled through the API."
    endpoint.enabled = False
    endpoint.disabled_reason = reason[:500]
    endpoint.disabled_at = now or timezone.now()
    endpoint.save(update_fields=["enabled", "disabled_reason", "disabled_at", "updated_at"])
    audit_record(
        tenant=tenant,
        actor=actor,
        action="webhook.disabled",
        target=endpoint.url,
        details={"reason": endpoint.disabled_reason},
    )
    return endpoint


def _refuse_when_disabled(endpoint: Endpoint) -> None:
    if not endpoint.enabled:
        raise Conflict(
            "This endpoint is disabled; enable it first.",
        )


def endpoint_send_test(
    *, tenant: Tenant, endpoint: Endpoint, actor: User | None, now: datetime | None = None
) -> Delivery:
    """A `webhook.test` event for this endpoint alone, due at once."""
    _refuse_when_disabled(endpoint)
    now = now or timezone.now()
    event = Event.objects.create(
        type=TEST_EVENT_TYPE,
        data={
            "endpoint_id": str(endpoint.id),
            "message": "This is a test event sent from Lynkist.",
        },
        fanned_out_at=now,
    )
    delivery = Delivery.objects.create(endpoint=endpoint, event=event, next_attempt_at=now)
    _kick(tenant)
    return delivery


def delivery_retry(
    *, tenant: Tenant, delivery: Delivery, actor: User | None, now: datetime | None = None
) -> Delivery:
    """Attempt a delivery again now. A pending one just comes due; a finished one (failed, or
    succeeded and wanted again) gets one extra attempt outside the schedule."""
    _refuse_when_disabled(delivery.endpoint)
    now = now or timezone.now()
    if delivery.status != DeliveryStatus.PENDING:
        delivery.status = DeliveryStatus.PENDING
        delivery.manual_retry = True
    delivery.next_attempt_at = now
    delivery.save(update_fields=["status", "manual_retry", "next_attempt_at"])
    _kick(tenant)
    return delivery
