"""The dispatch engine: sends a RUNNING campaign's recipients, batch by batch.

Rules it keeps (DESIGN.md, "Engine rules that must hold"):
- At most once. A batch is claimed with `FOR UPDATE SKIP LOCKED`, marked `sending` and its
  Message rows recorded, and that transaction commits *before* any call to WhatsApp. A
  recipient left in `sending` (the worker died mid-batch) is never sent again: after
  `STALE_SENDING` it is failed with `lk_outcome_unknown` (`campaign_reconcile_stale`).
- Several workers may dispatch one campaign: SKIP LOCKED gives each its own rows, and the
  claim only matches while the campaign is RUNNING, so pause and stop take effect between
  batches while in-flight sends finish.
- Throughput: every send takes a slot from the account's Redis limiter (shared by all
  workers). Meta's throughput refusals (130429, 80007, 4) and 131056 put the recipient back
  to pending and push the shared schedule out, instead of failing it.
- Meta's messaging limit (people reached per rolling 24 h, the account's tier): a batch
  claims no more recipients than the window has room for, under a lock, so workers together
  never exceed it; recipients beyond it stay pending, the campaign shows "held by messaging
  limit until HH:MM", and dispatch continues when the window allows
  (`apps.messaging.selectors.messaging_limit_usage` is the rule).
- Fatal conditions (token rejected, template paused/disabled/missing, account locked or gone)
  fail the campaign with the reason; recipients not sent stay pending.

Sends run concurrently on the Graph client's background event loop (one pooled session per
process) while this thread records the previous batch and claims the next one.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
import re
import time
import zoneinfo
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from apps.campaigns import services
from apps.campaigns.limiter import ThroughputLimiter
from apps.campaigns.models import Campaign, CampaignRecipient, CampaignStatus, RecipientStatus
from apps.core.errors import ValidationFailed
from apps.message_templates.models import Status as TemplateStatus
from apps.message_templates.rendering import template_send_components
from apps.messaging.models import STATUS_RANK, Message, MessageStatus, UnmatchedStatus
from apps.messaging.selectors import messaging_limit_usage
from apps.whatsapp.bulk import BulkOutcome
from apps.whatsapp.errors import error_info
from apps.whatsapp.graph import GraphError, GraphTimeout, GraphUnreachable, run_sync
from apps.whatsapp.models import WhatsAppAccount
from apps.whatsapp.providers import WhatsAppProvider
from apps.whatsapp.selectors import whatsapp_account_active

logger = logging.getLogger(__name__)

# Sends in flight at once per worker; below the Graph client's pool of 256 connections.
CONCURRENCY = 200
# A task dispatches this long, then hands over to a fresh task (so one campaign never holds
# a worker for hours and a redelivered task resumes where the last one stopped).
TIME_BUDGET = 60.0
# A recipient still `sending` after this long belongs to a worker that died mid-send.
STALE_SENDING = timedelta(minutes=5)
# Throughput refusals requeue a recipient at most this many times, then it fails.
MAX_ATTEMPTS = 5
THROTTLE_CODES = {4, 80007, 130429, 131056}
THROTTLE_BACKOFF = 1.0  # seconds every worker waits after a throughput refusal
FATAL_CODES = {0, 190, 131031, 132001, 132015, 132016, 133010, 131045}
E164 = re.compile(r"^\+[1-9]\d{7,14}$")


@dataclass
class DispatchResult:
    sent: int = 0
    failed: int = 0
    requeued: int = 0
    batches: int = 0
    finished: bool = False  # the campaign needs no more dispatch (terminal or not RUNNING)
    retry_in: float | None = None  # call again after this many seconds
    reason: str = ""


@dataclass
class Claimed:
    id: Any
    phone: str
    contact_id: Any
    variables: dict
    message_id: Any
    attempts: int
    opted_out: bool
    components: list[dict[str, Any]] | None = None
    error: tuple[str, str] | None = None  # decided before sending: (code, message)


@dataclass
class Batch:
    items: list[Claimed]
    future: concurrent.futures.Future | None = None
    outcomes: list[BulkOutcome] = field(default_factory=list)


# ------------------------------------------------------------------------------------------
# Claiming and recording
# ------------------------------------------------------------------------------------------
_CLAIM_SQL = """
WITH claimed AS (
    SELECT r.id FROM campaigns_campaignrecipient r
    WHERE r.campaign_id = %(campaign)s AND r.status = 'pending'
      AND EXISTS (SELECT 1 FROM campaigns_campaign c
                  WHERE c.id = %(campaign)s AND c.status = 'RUNNING')
    LIMIT %(limit)s
    FOR UPDATE OF r SKIP LOCKED
)
UPDATE campaigns_campaignrecipient r
SET status = 'sending', claimed_at = now(), message_id = gen_random_uuid()
FROM claimed
WHERE r.id = claimed.id
RETURNING r.id, r.phone, r.contact_id, r.variables, r.message_id, r.attempts,
    EXISTS (SELECT 1 FROM contacts_contact k WHERE k.id = r.contact_id
            AND k.opted_out_at IS NOT NULL)
"""


def _decode(value: Any) -> dict:
    if isinstance(value, str):
        return json.loads(value)
    return value or {}


def _messaging_limit_room(account: WhatsAppAccount | None) -> int | None:
    """How many more people the messaging limit lets in now (None: no limit). Takes a
    transaction-scoped lock per workspace first, so claims that count and then record their
    Messages run one at a time and two workers never both spend the same room."""
    if account is None or account.messaging_limit is None:
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtext(%s))",
            [f"campaigns:messaging-limit:{connection.schema_name}"],
        )
    return messaging_limit_usage(account=account).remaining


def batch_claim(
    *,
    campaign: Campaign,
    limit: int,
    header_media: dict | None = None,
    account: WhatsAppAccount | None = None,
) -> list[Claimed]:
    """Claim up to `limit` pending recipients (fewer when `account`'s messaging limit has
    less room), decide the ones that cannot be sent, record a pending Message for each of the
    others, and commit: after this, nothing in the batch is ever claimed again."""
    components_source = campaign.template.components
    with transaction.atomic():
        room = _messaging_limit_room(account)
        if room is not None:
            limit = min(limit, room)
            if limit <= 0:
                return []
        with connection.cursor() as cursor:
            cursor.execute(_CLAIM_SQL, {"campaign": campaign.pk, "limit": limit})
            items = [
                Claimed(
                    id=row[0],
                    phone=row[1],
                    contact_id=row[2],
                    variables=_decode(row[3]),
                    message_id=row[4],
                    attempts=row[5],
                    opted_out=row[6],
                )
                for row in cursor.fetchall()
            ]
        if not items:
            return []
        for item in items:
            if item.opted_out:
                item.error = ("lk_opted_out", "The contact opted out after the campaign started.")
            elif not E164.match(item.phone or ""):
                item.error = ("lk_invalid_phone", f"{item.phone!r} is not an E.164 number.")
            else:
                values = dict(item.variables)
                if header_media:
                    values["header"] = header_media
                try:
                    item.components = template_send_components(
                        components=components_source, values=values
                    )
                except ValidationFailed as error:
                    code = error.code if error.code.startswith("lk_") else "lk_missing_variable"
                    item.error = (code, error.message)
        _messages_insert(campaign, [item for item in items if item.error is None])
    return items


_MESSAGES_SQL = """
INSERT INTO messaging_message (id, direction, phone, contact_id, kind, template_name,
    template_language, components, body, media, context_wamid, status, status_rank,
    error_code, error_title, error_detail, provider, origin, campaign_id,
    campaign_recipient_id, created_at, updated_at)
SELECT v.id, 'outbound', v.phone, v.contact_id, 'template', %(name)s, %(language)s,
    v.components::jsonb, '', '{}'::jsonb, '', 'pending', 0, '', '', '', '', 'campaign',
    %(campaign)s, v.recipient_id, now(), now()
FROM unnest(%(ids)s::uuid[], %(phones)s::text[], %(contacts)s::uuid[], %(components)s::text[],
            %(recipients)s::uuid[]) AS v(id, phone, contact_id, components, recipient_id)
"""


def _pg_array(values: list[Any]) -> str | None:
    """A PostgreSQL array literal (one parameter to quote instead of one per element: psycopg's
    client-side quoting of long lists costs more than the statement itself)."""
    if not values:
        return "{}"
    parts = []
    for value in values:
        if value is None:
            parts.append("NULL")
        else:
            text = str(value).replace("\\", "\\\\").replace('"', '\\"')
            parts.append(f'"{text}"')
    return "{" + ",".join(parts) + "}"


def _messages_insert(campaign: Campaign, items: list[Claimed]) -> None:
    """Record one pending Message per send, in one statement (a model bulk_create of a few
    hundred rows costs about a second in Python alone)."""
    if not items:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            _MESSAGES_SQL,
            {
                "name": campaign.template.name,
                "language": campaign.template.language,
                "campaign": campaign.pk,
                "ids": _pg_array([item.message_id for item in items]),
                "phones": _pg_array([item.phone for item in items]),
                "contacts": _pg_array([item.contact_id for item in items]),
                "components": _pg_array([json.dumps(item.components) for item in items]),
                "recipients": _pg_array([item.id for item in items]),
            },
        )


def _unnest_update(sql: str, columns: list[Any]) -> None:
    if columns:
        params = [_pg_array(c) if isinstance(c, list) else c for c in columns]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)


def batch_record(*, campaign: Campaign, batch: Batch, provider_name: str) -> dict[str, Any]:
    """Write every outcome of a batch in one transaction: recipients, their messages and the
    campaign's counters. Returns what the dispatcher must react to."""
    now = timezone.now()
    outcomes = {o.key: o for o in batch.outcomes}
    sent_ids, sent_wamids, sent_msgs = [], [], []
    failed_ids, failed_codes, failed_texts = [], [], []
    failed_msg_rows: list[tuple[Any, str, str]] = []  # (message id, code, text)
    requeue_ids, requeue_msgs = [], []
    throttled = False
    fatal: tuple[str, str] | None = None
    for item in batch.items:
        if item.error is not None:
            failed_ids.append(item.id)
            failed_codes.append(item.error[0])
            failed_texts.append(item.error[1])
            continue
        outcome = outcomes.get(item.id)
        if outcome is None or outcome.error is None and outcome.result is None:
            # Never attempted (the batch was abandoned): it was not sent.
            requeue_ids.append(item.id)
            requeue_msgs.append(item.message_id)
            continue
        if outcome.ok:
            sent_ids.append(item.id)
            sent_wamids.append(outcome.result.wamid)
            sent_msgs.append(item.message_id)
            continue
        error = outcome.error
        code = error.meta_code
        retry_later = code in THROTTLE_CODES and item.attempts + 1 < MAX_ATTEMPTS
        if isinstance(error, GraphUnreachable) or retry_later:
            requeue_ids.append(item.id)
            requeue_msgs.append(item.message_id)
            throttled = True
        elif code in FATAL_CODES:
            requeue_ids.append(item.id)
            requeue_msgs.append(item.message_id)
            fatal = fatal or (str(code), error.message)
        else:
            if isinstance(error, GraphTimeout):
                failed_code = "lk_outcome_unknown"
            else:
                failed_code = str(code) if code is not None else "upstream_error"
            text = error.meta_message or error.message
            failed_ids.append(item.id)
            failed_codes.append(failed_code)
            failed_texts.append(text)
            failed_msg_rows.append((item.message_id, failed_code, text))
    with transaction.atomic():
        _unnest_update(
            "UPDATE campaigns_campaignrecipient r SET status = 'sent', wamid = v.wamid,"
            " sent_at = %s FROM unnest(%s::uuid[], %s::text[]) AS v(id, wamid)"
            " WHERE r.id = v.id AND r.status = 'sending'",
            [now, sent_ids, sent_wamids] if sent_ids else [],
        )
        _unnest_update(
            "UPDATE messaging_message m SET status = 'accepted', status_rank = %s,"
            " wamid = v.wamid, provider = %s, updated_at = %s"
            " FROM unnest(%s::uuid[], %s::text[]) AS v(id, wamid) WHERE m.id = v.id",
            [STATUS_RANK[MessageStatus.ACCEPTED], provider_name, now, sent_msgs, sent_wamids]
            if sent_msgs
            else [],
        )
        _unnest_update(
            "UPDATE campaigns_campaignrecipient r SET status = 'failed', failed_at = %s,"
            " error_code = v.code, error_message = v.text"
            " FROM unnest(%s::uuid[], %s::text[], %s::text[]) AS v(id, code, text)"
            " WHERE r.id = v.id AND r.status = 'sending'",
            [now, failed_ids, failed_codes, failed_texts] if failed_ids else [],
        )
        if failed_msg_rows:
            rows = failed_msg_rows
            _unnest_update(
                "UPDATE messaging_message m SET status = 'failed', status_rank = %s,"
                " failed_at = %s, updated_at = %s, provider = %s, error_code = v.code,"
                " error_title = v.title, error_detail = v.text"
                " FROM unnest(%s::uuid[], %s::text[], %s::text[], %s::text[])"
                " AS v(id, code, title, text) WHERE m.id = v.id",
                [
                    STATUS_RANK[MessageStatus.FAILED],
                    now,
                    now,
                    provider_name,
                    [r[0] for r in rows],
                    [r[1] for r in rows],
                    [error_info(r[1]).title[:255] for r in rows],
                    [r[2] for r in rows],
                ],
            )
        if requeue_ids:
            # Never sent (Meta refused or the call never left): back to pending, and the
            # Message recorded for the attempt goes, so a later send records its own.
            CampaignRecipient.objects.filter(
                pk__in=requeue_ids, status=RecipientStatus.SENDING
            ).update(
                status=RecipientStatus.PENDING,
                attempts=F("attempts") + 1,
                message_id=None,
                claimed_at=None,
            )
            Message.objects.filter(pk__in=requeue_msgs, wamid__isnull=True).delete()
        Campaign.objects.filter(pk=campaign.pk).update(
            sent_count=F("sent_count") + len(sent_ids),
            failed_count=F("failed_count") + len(failed_ids),
            last_dispatch_at=now,
        )
    # Statuses Meta reported before the send's answer was recorded wait for their wamid.
    if sent_wamids:
        _apply_parked(sent_wamids)
    return {
        "sent": len(sent_ids),
        "failed": len(failed_ids),
        "requeued": len(requeue_ids),
        "throttled": throttled,
        "fatal": fatal,
    }


def _apply_parked(wamids: list[str]) -> None:
    from apps.messaging.services import message_status_apply

    parked = list(UnmatchedStatus.objects.filter(wamid__in=wamids).order_by("id"))
    for row in parked:
        with transaction.atomic():
            message_status_apply(status=row.payload)
            UnmatchedStatus.objects.filter(pk=row.pk).delete()


# ------------------------------------------------------------------------------------------
# Sending
# ------------------------------------------------------------------------------------------
async def _send_batch(
    *,
    provider: WhatsAppProvider,
    template_name: str,
    language: str,
    items: list[Claimed],
    starts: list[float],
) -> list[BulkOutcome]:
    """Send each item no earlier than its slot (a `time.monotonic()` value)."""
    semaphore = asyncio.Semaphore(CONCURRENCY)

    async def one(item: Claimed, start: float) -> BulkOutcome:
        delay = start - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        async with semaphore:
            try:
                result = await provider.send_template_async(
                    to=item.phone, name=template_name, language=language, components=item.components
                )
            except GraphError as error:
                return BulkOutcome(key=item.id, error=error)
            except Exception as error:  # noqa: BLE001  (one broken send must not lose the batch)
                logger.exception("campaign send crashed")
                return BulkOutcome(key=item.id, error=GraphTimeout(f"Send crashed: {error}"))
            return BulkOutcome(key=item.id, result=result)

    return list(await asyncio.gather(*(one(i, s) for i, s in zip(items, starts, strict=True))))


# ------------------------------------------------------------------------------------------
# The loop
# ------------------------------------------------------------------------------------------
def _workspace_timezone() -> zoneinfo.ZoneInfo:
    from apps.tenancy.models import Tenant

    name = (
        Tenant.objects.filter(schema_name=connection.schema_name)
        .values_list("timezone", flat=True)
        .first()
    )
    try:
        return zoneinfo.ZoneInfo(name or "UTC")
    except zoneinfo.ZoneInfoNotFoundError:
        return zoneinfo.ZoneInfo("UTC")


def seconds_until_window(campaign: Campaign, *, now: datetime | None = None) -> float:
    """0 inside the campaign's send window (or without one), else seconds until it opens."""
    start, end = campaign.send_window_start, campaign.send_window_end
    if start is None or end is None:
        return 0.0
    local = (now or timezone.now()).astimezone(_workspace_timezone())
    current = local.time()
    inside = start <= current < end if start < end else (current >= start or current < end)
    if inside:
        return 0.0
    opens = local.replace(hour=start.hour, minute=start.minute, second=0, microsecond=0)
    if opens <= local:
        opens += timedelta(days=1)
    return (opens - local).total_seconds()


def _header_media(campaign: Campaign) -> dict | None:
    return services.header_media_param(campaign.variable_mapping)


# A waiting campaign (send window, messaging limit) looks again at least this often, so a
# tier raised in the settings applies soon; below the beat's QUIET_DISPATCH (90 s), so the
# beat never starts a second dispatcher for a campaign that is only waiting.
WAIT_RECHECK = 60.0


def _hold_for_messaging_limit(campaign: Campaign, account: WhatsAppAccount) -> float | None:
    """With the messaging limit reached: say so on the campaign and return the seconds until
    the window lets someone in (capped at WAIT_RECHECK). None when there is room."""
    if account.messaging_limit is None:
        return None
    usage = messaging_limit_usage(account=account)
    if usage.remaining or usage.frees_at is None:
        return None
    local = usage.frees_at.astimezone(_workspace_timezone())
    _mark_waiting(
        campaign,
        f"Held by messaging limit until {local:%H:%M} (workspace time): "
        f"{usage.used:,} of {usage.limit:,} people reached in the last 24 h.",
    )
    wait = (usage.frees_at - timezone.now()).total_seconds()
    return min(max(wait, 1.0), WAIT_RECHECK)


def _set_waiting(campaign: Campaign, reason: str) -> None:
    if campaign.waiting_reason != reason:
        Campaign.objects.filter(pk=campaign.pk).update(waiting_reason=reason)
        campaign.waiting_reason = reason


def _mark_waiting(campaign: Campaign, reason: str) -> None:
    """Show why the campaign waits, and count the check as dispatch activity (the beat
    revives only dispatchers that went quiet)."""
    now = timezone.now()
    Campaign.objects.filter(pk=campaign.pk).update(waiting_reason=reason, last_dispatch_at=now)
    campaign.waiting_reason, campaign.last_dispatch_at = reason, now


def campaign_dispatch(
    *, campaign_id: Any, time_budget: float = TIME_BUDGET, provider: WhatsAppProvider | None = None
) -> DispatchResult:
    """Dispatch a RUNNING campaign for up to `time_budget` seconds. Safe to run in several
    workers at once and to run again after a crash."""
    from apps.whatsapp.services import provider_for_account

    result = DispatchResult()
    campaign = Campaign.objects.select_related("template").filter(pk=campaign_id).first()
    if campaign is None or campaign.status != CampaignStatus.RUNNING:
        result.finished = True
        return result
    campaign_reconcile_stale(campaign=campaign)
    if campaign.template.status in (TemplateStatus.PAUSED, TemplateStatus.DISABLED):
        code = "132015" if campaign.template.status == TemplateStatus.PAUSED else "132016"
        services.campaign_fail(
            campaign=campaign,
            code=code,
            reason=f"Template {campaign.template.name} is {campaign.template.status.lower()}.",
        )
        result.finished, result.reason = True, "template"
        return result
    account = whatsapp_account_active()
    if account is None:
        services.campaign_fail(
            campaign=campaign, code="no_active_waba", reason="The WhatsApp account is disconnected."
        )
        result.finished, result.reason = True, "account"
        return result
    wait = seconds_until_window(campaign)
    if wait:
        start, end = campaign.send_window_start, campaign.send_window_end
        _mark_waiting(
            campaign,
            f"Waiting for the send window ({start:%H:%M}-{end:%H:%M}, workspace time).",
        )
        result.retry_in = min(wait, WAIT_RECHECK)
        return result
    _set_waiting(campaign, "")
    provider = provider or provider_for_account(account=account, mode=campaign.send_mode)
    limiter = ThroughputLimiter(
        account_id=str(account.pk), per_second=account.throughput_per_second
    )
    header_media = _header_media(campaign)
    deadline = time.monotonic() + time_budget
    in_flight: Batch | None = None
    stop_claiming = False
    requeued_last = False

    def submit(batch: Batch) -> None:
        sendable = [item for item in batch.items if item.error is None]
        reservation = limiter.reserve(len(sendable))
        base = time.monotonic()
        starts = [base + reservation.offset(i) for i in range(len(sendable))]
        batch.future = _submit(
            _send_batch(
                provider=provider,
                template_name=campaign.template.name,
                language=campaign.template.language,
                items=sendable,
                starts=starts,
            )
        )

    def finish(batch: Batch) -> dict[str, Any]:
        batch.outcomes = batch.future.result() if batch.future is not None else []
        outcome = batch_record(campaign=campaign, batch=batch, provider_name=provider.name)
        result.sent += outcome["sent"]
        result.failed += outcome["failed"]
        result.requeued += outcome["requeued"]
        result.batches += 1
        if outcome["throttled"]:
            limiter.backoff(THROTTLE_BACKOFF)
        return outcome

    while True:
        batch = None
        if not stop_claiming and time.monotonic() < deadline:
            items = batch_claim(
                campaign=campaign,
                limit=campaign.batch_size,
                header_media=header_media,
                account=account,
            )
            if items:
                batch = Batch(items=items)
                submit(batch)
        if in_flight is not None:
            outcome = finish(in_flight)
            requeued_last = requeued_last or outcome["requeued"] > 0
            if outcome["fatal"]:
                code, reason = outcome["fatal"]
                stop_claiming = True
                services.campaign_fail(campaign=campaign, code=code, reason=reason)
                result.reason = "fatal"
        in_flight = batch
        if in_flight is None:
            # Requeued sends (throttled) are claimable again: go on while the budget lasts.
            if requeued_last and not stop_claiming and time.monotonic() < deadline:
                requeued_last = False
                continue
            break
    campaign.refresh_from_db()
    if campaign.status != CampaignStatus.RUNNING:
        result.finished = True
        return result
    if services.campaign_complete_if_done(campaign=campaign):
        result.finished = True
        return result
    pending = CampaignRecipient.objects.filter(
        campaign=campaign, status=RecipientStatus.PENDING
    ).exists()
    if pending and not stop_claiming:
        held_for = _hold_for_messaging_limit(campaign, account)
        if held_for is not None:
            result.retry_in, result.reason = held_for, "messaging_limit"
            return result
    # More to send (budget spent or throttled): come back at once; only recipients other
    # workers are sending: look again shortly (the stale sweep may finish them).
    result.retry_in = 0.0 if pending else 5.0
    return result


def _submit(coro: Any) -> concurrent.futures.Future:
    """Start a coroutine on the Graph client's shared background loop."""
    from apps.whatsapp import graph

    if graph._background is None:  # first use in this process: let run_sync create it
        run_sync(asyncio.sleep(0))
    return asyncio.run_coroutine_threadsafe(coro, graph._background.loop)


def campaign_reconcile_stale(*, campaign: Campaign, older_than: timedelta = STALE_SENDING) -> int:
    """Recipients left `sending` by a worker that died: never resent. A status callback may
    already have moved their message on (then they follow it); the rest fail with
    `lk_outcome_unknown`, which the error report explains."""
    cutoff = timezone.now() - older_than
    info = error_info("lk_outcome_unknown")
    with transaction.atomic():
        stale = list(
            CampaignRecipient.objects.select_for_update(skip_locked=True)
            .filter(campaign=campaign, status=RecipientStatus.SENDING, claimed_at__lt=cutoff)
            .values_list("id", "message_id")
        )
        if not stale:
            return 0
        ids = [row[0] for row in stale]
        known = {
            m["campaign_recipient_id"]: m
            for m in Message.objects.filter(
                campaign_recipient_id__in=ids, wamid__isnull=False
            ).values("campaign_recipient_id", "wamid", "status")
        }
        unknown = [i for i in ids if i not in known]
        for recipient_id, message in known.items():
            CampaignRecipient.objects.filter(pk=recipient_id).update(
                status=RecipientStatus.SENT, wamid=message["wamid"], sent_at=timezone.now()
            )
        now = timezone.now()
        CampaignRecipient.objects.filter(pk__in=unknown).update(
            status=RecipientStatus.FAILED,
            failed_at=now,
            error_code="lk_outcome_unknown",
            error_message=info.fix,
        )
        Message.objects.filter(campaign_recipient_id__in=unknown, wamid__isnull=True).update(
            status=MessageStatus.FAILED,
            status_rank=STATUS_RANK[MessageStatus.FAILED],
            error_code="lk_outcome_unknown",
            error_title=info.title,
            error_detail=info.fix,
            failed_at=now,
        )
        Campaign.objects.filter(pk=campaign.pk).update(
            sent_count=F("sent_count") + len(known), failed_count=F("failed_count") + len(unknown)
        )
    return len(stale)
