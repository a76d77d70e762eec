"""Events: the outbox every app writes to, and the envelope integrators receive.

Rules owned here: only catalogued event types are emitted; an event is written in the caller's
transaction (so a rolled-back change leaves no event); events belong to the current tenant
schema and are never written to the public schema.
"""

from __future__ import annotations

from typing import Any

from django.db import connection
from django_tenants.utils import get_public_schema_name

from apps.webhooks.events import EVENT_TYPES
from apps.webhooks.models import Event


def emit_event(*, event_type: str, data: dict[str, Any]) -> Event:
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    if connection.schema_name == get_public_schema_name():
        raise RuntimeError("events belong to a workspace; none is active on this connection")
    return Event.objects.create(type=event_type, data=data)


def event_envelope(*, event: Event, tenant_slug: str) -> dict[str, Any]:
    return {
        "id": event.id,
        "type": event.type,
        "created_at": event.created_at.isoformat().replace("+00:00", "Z"),
        "tenant": tenant_slug,
        "data": event.data,
    }
