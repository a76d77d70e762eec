"""Set-wise writes of the status pipeline, in plain SQL on the driver's cursor.

A burst of Meta callbacks applies thousands of statuses a second, and Django's ORM spent more
CPU on them than PostgreSQL did: a model instance per timeline row and per event, and
client-side binding that escapes every element of every array into the SQL text. Here each
write is one statement whose values travel as typed arrays (server-side binding), unnested by
PostgreSQL. Tables are qualified with the connection's schema, so these statements never
depend on the search path django-tenants last set. The callers hold the rules
(`apps.messaging.services`); these functions only read and write rows. Events go through
the outbox's own bulk form, `apps.webhooks.services.emit_events`.

The send path's record of an outbound message (`outbound_message_insert`) is here too: one
statement instead of the ORM's lock, insert-or-update and insert. It goes through Django's
cursor, since it writes one row per request, so that it is counted and logged like every
other statement of a request.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import psycopg
from django.db import connection
from django.utils import timezone

from apps.messaging.models import Conversation, Message, StatusEvent, UnmatchedStatus


def _cursor() -> psycopg.Cursor:
    connection.ensure_connection()
    return psycopg.Cursor(connection.connection)


def _table(model: Any) -> str:
    quote = connection.ops.quote_name
    return f"{quote(connection.schema_name)}.{quote(model._meta.db_table)}"


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value)


def status_events_seen(*, message_ids: Sequence[uuid.UUID]) -> set[tuple[uuid.UUID, str]]:
    """(message id, status) of every timeline row of these messages."""
    if not message_ids:
        return set()
    with _cursor() as cursor:
        cursor.execute(
            f"SELECT message_id, status FROM {_table(StatusEvent)} "  # noqa: S608
            "WHERE message_id = ANY(%b::uuid[])",
            [list(message_ids)],
        )
        return set(cursor.fetchall())


def status_events_insert(
    rows: Sequence[tuple[uuid.UUID, str, datetime, bool, str, dict[str, Any]]],
) -> None:
    """Timeline rows (message id, status, occurred_at, applied, error code, raw status); a
    row whose (message, status) exists already is skipped, as the unique constraint says."""
    if not rows:
        return
    with _cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {_table(StatusEvent)} "  # noqa: S608
            "(message_id, status, occurred_at, recorded_at, applied, error_code, raw) "
            "SELECT m, s, o, now(), a, e, r::jsonb FROM unnest("
            "%b::uuid[], %b::text[], %b::timestamptz[], %b::bool[], %b::text[], %b::text[]"
            ") AS v(m, s, o, a, e, r) ON CONFLICT DO NOTHING",
            [
                [row[0] for row in rows],
                [row[1] for row in rows],
                [row[2] for row in rows],
                [row[3] for row in rows],
                [row[4] for row in rows],
                [_json(row[5]) for row in rows],
            ],
        )


def messages_save_statuses(messages: Sequence[Message]) -> None:
    """Write the status fields of many messages in one UPDATE (Django's bulk_update builds a
    CASE per field and row, which costs more than the database work here)."""
    if not messages:
        return
    now = timezone.now()
    for message in messages:
        message.updated_at = now
    columns = {
        "id": ("uuid", [m.pk for m in messages]),
        "status": ("text", [m.status for m in messages]),
        "status_rank": ("smallint", [m.status_rank for m in messages]),
        "sent_at": ("timestamptz", [m.sent_at for m in messages]),
        "delivered_at": ("timestamptz", [m.delivered_at for m in messages]),
        "read_at": ("timestamptz", [m.read_at for m in messages]),
        "failed_at": ("timestamptz", [m.failed_at for m in messages]),
        "error_code": ("text", [m.error_code for m in messages]),
        "error_title": ("text", [m.error_title for m in messages]),
        "error_detail": ("text", [m.error_detail for m in messages]),
        "error_raw": ("text", [_json(m.error_raw) for m in messages]),
    }
    assignments = ", ".join(
        f"{name} = v.{name}" + ("::jsonb" if name == "error_raw" else "")
        for name in columns
        if name != "id"
    )
    arrays = ", ".join(f"%b::{kind}[]" for kind, _ in columns.values())
    with _cursor() as cursor:
        cursor.execute(
            f"UPDATE {_table(Message)} AS m SET {assignments}, updated_at = %b "  # noqa: S608
            f"FROM unnest({arrays}) AS v({', '.join(columns)}) WHERE m.id = v.id",
            [now, *(values for _, values in columns.values())],
        )


def _insert_columns(model: Any) -> list[Any]:
    return list(model._meta.concrete_fields)


def _prepared(instance: Any, fields: Sequence[Any]) -> list[Any]:
    """Column values as the ORM's INSERT would send them (defaults, auto_now, adapters)."""
    return [f.get_db_prep_save(f.pre_save(instance, True), connection) for f in fields]


_OUTBOUND_SQL: str | None = None


def _outbound_sql() -> str:
    global _OUTBOUND_SQL
    if _OUTBOUND_SQL is None:
        quote = connection.ops.quote_name
        conversation_columns = [f.column for f in _insert_columns(Conversation)]
        message_columns = [f.column for f in _insert_columns(Message)]
        values = ", ".join(
            "(SELECT id FROM c)" if column == "conversation_id" else "%s"
            for column in message_columns
        )
        newer = "c.last_message_at IS NULL OR EXCLUDED.last_message_at >= c.last_message_at"
        _OUTBOUND_SQL = (
            f"WITH c AS (INSERT INTO {quote(Conversation._meta.db_table)} AS c "  # noqa: S608
            f"({', '.join(map(quote, conversation_columns))}) "
            f"VALUES ({', '.join(['%s'] * len(conversation_columns))}) "
            "ON CONFLICT (phone) DO UPDATE SET "
            "contact_id = COALESCE(EXCLUDED.contact_id, c.contact_id), "
            f"last_message_at = CASE WHEN {newer} "
            "THEN EXCLUDED.last_message_at ELSE c.last_message_at END, "
            f"last_message_preview = CASE WHEN {newer} "
            "THEN EXCLUDED.last_message_preview ELSE c.last_message_preview END "
            "RETURNING c.id) "
            f"INSERT INTO {quote(Message._meta.db_table)} "
            f"({', '.join(map(quote, message_columns))}) VALUES ({values}) "
            "RETURNING conversation_id"
        )
    return _OUTBOUND_SQL


def outbound_message_insert(*, message: Message, preview: str) -> None:
    """Insert an outbound `message` (built, not saved) into the conversation with its phone,
    in one statement: the conversation is created, or updated under the row lock the upsert
    takes, as `services._conversation_for` and `_conversation_add` would (its contact set
    when the message has one; `last_message_at` and `preview` only move forward in time).
    Sets `message.conversation_id`."""
    conversation = Conversation(
        phone=message.phone,
        contact_id=message.contact_id,
        last_message_at=message.created_at,
        last_message_preview=preview,
    )
    message_fields = [f for f in _insert_columns(Message) if f.column != "conversation_id"]
    params = [
        *_prepared(conversation, _insert_columns(Conversation)),
        *_prepared(message, message_fields),
    ]
    with connection.cursor() as cursor:
        cursor.execute(_outbound_sql(), params)
        (message.conversation_id,) = cursor.fetchone()
    message._state.adding = False
    message._state.db = connection.alias


def message_accept_update(
    *, message_id: uuid.UUID, wamid: str, provider: str, status: str, rank: int, now: datetime
) -> tuple[str, int, bool] | None:
    """Give a message its wamid and provider, and `status` if it ranks above the message's
    own, in one UPDATE (its row lock is all the status rule needs). Returns the status and
    rank the message now has and whether statuses for that wamid are parked; None when no
    message has this id."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {quote(Message._meta.db_table)} SET wamid = %s, provider = %s, "  # noqa: S608
            "updated_at = %s, status = CASE WHEN status_rank < %s THEN %s ELSE status END, "
            "status_rank = GREATEST(status_rank, %s) WHERE id = %s "
            "RETURNING status, status_rank, EXISTS (SELECT 1 FROM "
            f"{quote(UnmatchedStatus._meta.db_table)} WHERE wamid = %s)",
            [wamid, provider, now, rank, status, rank, message_id, wamid],
        )
        return cursor.fetchone()
