"""Campaign stats: counters moved by the dispatcher and by message status changes
(`_on_message_statuses`), never by counting recipients; `campaign_refresh_metrics` recounts.

Status changes arrive in batches (a drained batch of Meta callbacks hands all of its changes
at once): `campaign_recipient_statuses_apply` moves the recipients in one UPDATE and each
campaign's counters in one UPDATE, whatever the batch size. A single change goes through the
same function, so the rules live in one place.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from apps.campaigns import selectors
from apps.campaigns.models import RECIPIENT_RANK, Campaign, CampaignRecipient, RecipientStatus
from apps.messaging.hooks import StatusChange, status_batch_listener


def _funnel(status: str) -> tuple[int, int, int, int]:
    """(sent, delivered, read, failed) a recipient in `status` counts for. A failure after
    WhatsApp accepted the message moves the recipient from sent to failed, so that
    total = sent + failed + pending always holds (DESIGN.md, "stats is a funnel")."""
    delivered = status in (RecipientStatus.DELIVERED, RecipientStatus.READ)
    return (
        int(delivered or status == RecipientStatus.SENT),
        int(delivered),
        int(status == RecipientStatus.READ),
        int(status == RecipientStatus.FAILED),
    )


def counters_delta(changes: list[tuple[str, str]]) -> dict[str, Any]:
    """`F()` increments for recipients that moved (old status, new status)."""
    totals = [0, 0, 0, 0]
    for old, new in changes:
        before, after = _funnel(old), _funnel(new)
        for i in range(4):
            totals[i] += after[i] - before[i]
    names = ("sent_count", "delivered_count", "read_count", "failed_count")
    return {name: F(name) + n for name, n in zip(names, totals, strict=True) if n}


@transaction.atomic
def campaign_refresh_metrics(*, campaign: Campaign) -> Campaign:
    """Recompute the counters exactly from the recipient rows."""
    Campaign.objects.filter(pk=campaign.pk).update(
        updated_at=timezone.now(), **selectors.campaign_recount(campaign=campaign)
    )
    campaign.refresh_from_db()
    return campaign


MESSAGE_TO_RECIPIENT = {
    "accepted": RecipientStatus.SENT,
    "held_for_quality_assessment": RecipientStatus.SENT,
    "sent": RecipientStatus.SENT,
    "delivered": RecipientStatus.DELIVERED,
    "read": RecipientStatus.READ,
    "failed": RecipientStatus.FAILED,
}

# The timestamps a recipient reaching each status gets, when it has none yet (`read` implies
# delivered and sent).
_STAMPS = {
    RecipientStatus.SENT: ("sent_at",),
    RecipientStatus.DELIVERED: ("delivered_at", "sent_at"),
    RecipientStatus.READ: ("read_at", "delivered_at", "sent_at"),
    RecipientStatus.FAILED: ("failed_at",),
}
_COLUMNS = (
    "status",
    "sent_at",
    "delivered_at",
    "read_at",
    "failed_at",
    "error_code",
    "error_message",
)
_TYPES = ("text", "timestamptz", "timestamptz", "timestamptz", "timestamptz", "text", "text")


@dataclass(frozen=True)
class RecipientStatusChange:
    """A message status reported for a campaign recipient (`new_status` is the message's)."""

    recipient_id: Any
    new_status: str
    at: datetime | None = None
    error_code: str = ""
    error_message: str = ""


def campaign_recipient_status_apply(
    *,
    recipient_id: Any,
    new_status: str,
    error_code: str = "",
    error_message: str = "",
    at: datetime | None = None,
) -> bool:
    """One status change (see `campaign_recipient_statuses_apply`); True if it moved the
    recipient."""
    change = RecipientStatusChange(recipient_id, new_status, at, error_code, error_message)
    return campaign_recipient_statuses_apply(changes=[change]) == 1


def campaign_recipient_statuses_apply(*, changes: Sequence[RecipientStatusChange]) -> int:
    """Move recipients forward after status callbacks, in order, and adjust their campaigns'
    counters by the difference (no count over recipients). Out-of-order and duplicate
    callbacks converge: a status that is not further along than the recipient's changes
    nothing. Returns how many changes moved a recipient.

    Fixed number of queries: lock the recipients, replay the changes on them in memory, then
    one UPDATE of the recipients and one per campaign of its counters."""
    wanted = [
        (uuid.UUID(str(change.recipient_id)), target, change)
        for change in changes
        if (target := MESSAGE_TO_RECIPIENT.get(change.new_status)) is not None
    ]
    if not wanted:
        return 0
    now = timezone.now()
    with transaction.atomic():
        rows = _recipients_lock(sorted({recipient_id for recipient_id, _, _ in wanted}))
        moved: dict[Any, list[tuple[str, str]]] = {}
        changed: set[uuid.UUID] = set()
        for recipient_id, target, change in wanted:
            row = rows.get(recipient_id)
            if row is None or RECIPIENT_RANK[target] <= RECIPIENT_RANK[row["status"]]:
                continue
            moved.setdefault(row["campaign_id"], []).append((row["status"], target))
            row["status"] = target
            for name in _STAMPS[target]:
                if row[name] is None:
                    row[name] = change.at or now
            if target == RecipientStatus.FAILED:
                row["error_code"] = str(change.error_code or "")[:32]
                row["error_message"] = change.error_message
            changed.add(recipient_id)
        if not changed:
            return 0
        _recipients_save([rows[recipient_id] for recipient_id in sorted(changed)])
        # In id order, so that two batches touching the same campaigns never deadlock.
        for campaign_id in sorted(moved):
            delta = counters_delta(moved[campaign_id])
            if delta:
                Campaign.objects.filter(pk=campaign_id).update(**delta)
    return sum(len(pairs) for pairs in moved.values())


# Plain SQL over typed arrays (server-side binding), as in apps.messaging.bulk: a drained batch
# moves hundreds of recipients, and the ORM's per-row work cost more than PostgreSQL's.
def _cursor() -> psycopg.Cursor:
    connection.ensure_connection()
    return psycopg.Cursor(connection.connection)


def _recipients_table() -> str:
    quote = connection.ops.quote_name
    return f"{quote(connection.schema_name)}.{quote(CampaignRecipient._meta.db_table)}"


def _recipients_lock(ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
    """These recipients' rows, locked in id order (the order every batch takes them in)."""
    names = ("id", "campaign_id", *_COLUMNS)
    with _cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(names)} FROM {_recipients_table()} "  # noqa: S608
            "WHERE id = ANY(%b::uuid[]) ORDER BY id FOR UPDATE",
            [ids],
        )
        return {row[0]: dict(zip(names, row, strict=True)) for row in cursor.fetchall()}


def _recipients_save(rows: list[dict[str, Any]]) -> None:
    assignments = ", ".join(f"{name} = v.{name}" for name in _COLUMNS)
    arrays = ", ".join(f"%b::{kind}[]" for kind in ("uuid", *_TYPES))
    with _cursor() as cursor:
        cursor.execute(
            f"UPDATE {_recipients_table()} AS r SET {assignments} "  # noqa: S608
            f"FROM unnest({arrays}) AS v(id, {', '.join(_COLUMNS)}) WHERE r.id = v.id",
            [[row["id"] for row in rows], *([row[name] for row in rows] for name in _COLUMNS)],
        )


@status_batch_listener
def _on_message_statuses(*, changes: Sequence[StatusChange]) -> None:
    """The campaign messages' share of a batch of status changes. Each change's time and error
    are read from its message (as it stands after the whole batch)."""
    recipient_changes = []
    for message, _, new_status in changes:
        recipient_id = getattr(message, "campaign_recipient_id", None)
        if not recipient_id:
            continue
        at = {
            "delivered": message.delivered_at,
            "read": message.read_at,
            "failed": message.failed_at,
            "sent": message.sent_at,
        }.get(new_status)
        recipient_changes.append(
            RecipientStatusChange(
                recipient_id=recipient_id,
                new_status=new_status,
                at=at,
                error_code=message.error_code,
                error_message=message.error_detail or message.error_title,
            )
        )
    if recipient_changes:
        campaign_recipient_statuses_apply(changes=recipient_changes)
