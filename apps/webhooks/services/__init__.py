"""Events: the outbox every app writes to, and the envelope integrators receive.

Rules owned here: only catalogued event types are emitted; an event is written in the caller's
transaction (so a rolled-back change leaves no event); events belong to the current tenant
schema and are never written to the public schema.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import psycopg
from django.db import connection
from django_tenants.utils import get_public_schema_name

from apps.webhooks.events import EVENT_TYPES
from apps.webhooks.models import Event, new_event_id


def _check_emit(event_types: Sequence[str]) -> None:
    for event_type in event_types:
        if event_type not in EVENT_TYPES:
            raise ValueError(f"unknown event type {event_type!r}")
    if connection.schema_name == get_public_schema_name():
        raise RuntimeError("events belong to a workspace; none is active on this connection")


def emit_event(*, event_type: str, data: dict[str, Any]) -> Event:
    _check_emit([event_type])
    return Event.objects.create(type=event_type, data=data)


def emit_events(*, items: Sequence[tuple[str, dict[str, Any]]]) -> None:
    """Several events, (type, data) each, in one INSERT, for bursts (the status pipeline
    emits thousands a second; the ORM's instance per event cost more than PostgreSQL did).
    Same rules as `emit_event`. Each row takes the clock when it is written, so the events
    keep their order by `created_at` as separate writes would. The values travel as typed
    arrays on the driver's cursor (server-side binding), into the current schema's table."""
    if not items:
        return
    _check_emit([event_type for event_type, _ in items])
    quote = connection.ops.quote_name
    table = f"{quote(connection.schema_name)}.{quote(Event._meta.db_table)}"
    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(
            f"INSERT INTO {table} (id, type, data, created_at) "  # noqa: S608
            "SELECT i, t, d::jsonb, clock_timestamp() FROM unnest(%b::text[], %b::text[], "
            "%b::text[]) WITH ORDINALITY AS v(i, t, d, n) ORDER BY n",
            [
                [new_event_id() for _ in items],
                [event_type for event_type, _ in items],
                [json.dumps(data) for _, data in items],
            ],
        )


def event_envelope(*, event: Event, tenant_slug: str) -> dict[str, Any]:
    return {
        "id": event.id,
        "type": event.type,
        "created_at": event.created_at.isoformat().replace("+00:00", "Z"),
        "tenant": tenant_slug,
        "data": event.data,
    }
