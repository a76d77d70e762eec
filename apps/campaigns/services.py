"""Campaign rules: creation, audience, the state machine, materialisation and stats.

- The state machine is the Campaigns page's: DRAFT -> SCHEDULED -> RUNNING, DRAFT -> RUNNING,
  RUNNING|SCHEDULED -> PAUSED -> RUNNING (or back to SCHEDULED when paused before it started
  and its time is still ahead), RUNNING|PAUSED|SCHEDULED -> STOPPED, RUNNING -> COMPLETED,
  RUNNING|PAUSED -> FAILED. Each transition is one conditional `UPDATE ... WHERE status IN
  (...)`: a transition the current status does not allow is 400 `invalid_transition`; one
  that was allowed but lost a race (zero rows updated) is 409. Each emits its `campaign.*`
  event once, in the same transaction.
- Recipients are materialised when the campaign starts, by one `INSERT ... SELECT` that also
  resolves every variable in SQL (apps.campaigns.mapping.values_sql).
- Stats are counters moved by the dispatcher and by message status changes
  (`_on_message_status`), never by counting recipients; `campaign_refresh_metrics` recounts.
- A test send (dashboard only) goes through messaging's one send service with the mapping
  rendered for a sample contact; it is a Message, never a campaign recipient.
- An audience CSV (dashboard only) becomes a new group: each row's phone links the live
  contact that has it or creates one through the contacts services (named after the row, or
  after the number when the file has no names, as messaging does for unknown numbers).
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import io
import uuid
from datetime import datetime, time
from typing import Any

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from apps.campaigns import events, selectors
from apps.campaigns import mapping as mapping_rules
from apps.campaigns.models import (
    RECIPIENT_RANK,
    AudienceKind,
    Campaign,
    CampaignAudience,
    CampaignRecipient,
    CampaignStatus,
    RecipientStatus,
)
from apps.contacts.models import Contact, Group, Source
from apps.core.errors import ApplicationError, Conflict, NotFound, ValidationFailed
from apps.message_templates.models import MessageTemplate
from apps.messaging.hooks import status_listener
from apps.webhooks.services import emit_event

S = CampaignStatus


class InvalidTransition(ApplicationError):
    status = 400
    code = "invalid_transition"


class TransitionConflict(Conflict):
    code = "conflict"


def _emit(event_type: str, campaign: Campaign) -> None:
    emit_event(event_type=event_type, data=events.campaign_data(campaign))


# ------------------------------------------------------------------------------------------
# Creation and edits
# ------------------------------------------------------------------------------------------
def template_resolve(*, template_id: Any) -> MessageTemplate:
    """Our template UUID or Meta's template id."""
    value = str(template_id or "").strip()
    template = None
    with contextlib.suppress(ValueError):
        template = MessageTemplate.objects.filter(pk=uuid.UUID(value)).first()
    if template is None and value:
        template = MessageTemplate.objects.filter(meta_id=value).first()
    if template is None:
        raise ValidationFailed("No template with this id.", field="template_id")
    return template


def _uuid_list(values: Any, field: str) -> list[uuid.UUID]:
    if values is None:
        return []
    if not isinstance(values, list | tuple):
        raise ApplicationError(f"{field} must be a list of ids.", field=field)
    try:
        return list(dict.fromkeys(uuid.UUID(str(v)) for v in values))
    except ValueError:
        raise ApplicationError(f"{field} holds an id that is not a UUID.", field=field) from None


def _audience_check(
    *, groups: list[uuid.UUID], sources: list[uuid.UUID], contacts: list[uuid.UUID]
) -> None:
    problems = []
    for field, model, ids in (
        ("groups", Group, groups),
        ("sources", Source, sources),
        ("contacts", Contact, contacts),
    ):
        known = set(model.objects.filter(pk__in=ids).values_list("pk", flat=True))
        unknown = [str(i) for i in ids if i not in known]
        if unknown:
            problems.append(
                {"field": f"audience.{field}", "message": f"Unknown: {', '.join(unknown)}"}
            )
    if problems:
        raise ApplicationError(
            "The audience names groups or sources that do not exist.",
            field=problems[0]["field"],
            details=problems,
        )


def _audience_replace(*, campaign: Campaign, groups: list, sources: list, contacts: list) -> None:
    CampaignAudience.objects.filter(campaign=campaign).delete()
    CampaignAudience.objects.bulk_create(
        [CampaignAudience(campaign=campaign, kind=AudienceKind.GROUP, group_id=g) for g in groups]
        + [
            CampaignAudience(campaign=campaign, kind=AudienceKind.SOURCE, source_id=s)
            for s in sources
        ]
        + [
            CampaignAudience(campaign=campaign, kind=AudienceKind.CONTACT, contact_id=c)
            for c in contacts
        ],
        batch_size=1000,
    )


def _check_fields(*, name: str, description: str | None, batch_size: int) -> None:
    name = (name or "").strip()
    if not 1 <= len(name) <= 120:
        raise ValidationFailed("Name must be 1 to 120 characters.", field="name")
    if description is not None and len(description) > 500:
        raise ValidationFailed("Description must be at most 500 characters.", field="description")
    if not isinstance(batch_size, int) or not 1 <= batch_size <= 1000:
        raise ValidationFailed("batch_size must be between 1 and 1000.", field="batch_size")


def _check_window(start: time | None, end: time | None) -> None:
    if (start is None) != (end is None):
        raise ValidationFailed(
            "Give both ends of the send window, or neither.", field="send_window"
        )
    if start is not None and start == end:
        raise ValidationFailed("The send window must not be empty.", field="send_window")


def _future(scheduled_at: datetime) -> datetime:
    if timezone.is_naive(scheduled_at):
        raise ValidationFailed("scheduled_at needs a time zone (UTC).", field="scheduled_at")
    if scheduled_at <= timezone.now():
        raise ValidationFailed("scheduled_at must be in the future.", field="scheduled_at")
    return scheduled_at


@transaction.atomic
def campaign_create(
    *,
    name: str,
    template: MessageTemplate,
    description: str | None = None,
    batch_size: int = 50,
    variable_mapping: Any = None,
    groups: Any = None,
    sources: Any = None,
    contacts: Any = None,
    scheduled_at: datetime | None = None,
    send_window_start: time | None = None,
    send_window_end: time | None = None,
    send_mode: str = "live",
    created_by_email: str = "",
) -> Campaign:
    _check_fields(name=name, description=description, batch_size=batch_size)
    _check_window(send_window_start, send_window_end)
    mapping = mapping_rules.mapping_validate(template=template, mapping=variable_mapping)
    group_ids = _uuid_list(groups, "audience.groups")
    source_ids = _uuid_list(sources, "audience.sources")
    contact_ids = _uuid_list(contacts, "audience.contacts")
    _audience_check(groups=group_ids, sources=source_ids, contacts=contact_ids)
    if scheduled_at is not None:
        _future(scheduled_at)
    campaign = Campaign.objects.create(
        name=name.strip(),
        description=description,
        template=template,
        batch_size=batch_size,
        variable_mapping=mapping,
        scheduled_at=scheduled_at,
        status=S.SCHEDULED if scheduled_at else S.DRAFT,
        send_window_start=send_window_start,
        send_window_end=send_window_end,
        send_mode=send_mode,
        created_by_email=created_by_email,
    )
    _audience_replace(campaign=campaign, groups=group_ids, sources=source_ids, contacts=contact_ids)
    _emit(events.CREATED, campaign)
    if scheduled_at:
        _emit(events.SCHEDULED, campaign)
    return campaign


@transaction.atomic
def campaign_update(
    *,
    campaign: Campaign,
    name: str | None = None,
    description: str | None = None,
    template: MessageTemplate | None = None,
    batch_size: int | None = None,
    variable_mapping: Any = ...,
    send_window_start: time | None = ...,  # type: ignore[assignment]
    send_window_end: time | None = ...,  # type: ignore[assignment]
) -> Campaign:
    """Edit a campaign that has not started (DRAFT or SCHEDULED)."""
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.status not in (S.DRAFT, S.SCHEDULED):
        raise InvalidTransition(f"A {campaign.status} campaign can no longer be edited.")
    campaign.name = campaign.name if name is None else name.strip()
    if description is not None:
        campaign.description = description or None
    campaign.batch_size = campaign.batch_size if batch_size is None else batch_size
    _check_fields(
        name=campaign.name, description=campaign.description, batch_size=campaign.batch_size
    )
    if template is not None:
        campaign.template = template
    if variable_mapping is not ...:
        campaign.variable_mapping = variable_mapping
    campaign.variable_mapping = mapping_rules.mapping_validate(
        template=campaign.template, mapping=campaign.variable_mapping
    )
    if send_window_start is not ...:
        campaign.send_window_start = send_window_start
    if send_window_end is not ...:
        campaign.send_window_end = send_window_end
    _check_window(campaign.send_window_start, campaign.send_window_end)
    campaign.save()
    return campaign


@transaction.atomic
def campaign_set_audience(
    *, campaign: Campaign, groups: Any = None, sources: Any = None, contacts: Any = None
) -> Campaign:
    """Replace the audience; only while DRAFT or PAUSED. A paused campaign that already has
    recipients drops its pending ones and gains the new audience's (never a second row for a
    phone it already has)."""
    group_ids = _uuid_list(groups, "groups")
    source_ids = _uuid_list(sources, "sources")
    contact_ids = _uuid_list(contacts, "contacts")
    _audience_check(groups=group_ids, sources=source_ids, contacts=contact_ids)
    locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if locked.status not in (S.DRAFT, S.PAUSED):
        raise InvalidTransition(
            f"The audience can be set only while DRAFT or PAUSED (this one is {locked.status})."
        )
    _audience_replace(campaign=locked, groups=group_ids, sources=source_ids, contacts=contact_ids)
    if locked.materialised_at:
        CampaignRecipient.objects.filter(campaign=locked, status=RecipientStatus.PENDING).delete()
        _materialise(locked)
        Campaign.objects.filter(pk=locked.pk).update(**selectors.campaign_recount(campaign=locked))
    locked.refresh_from_db()
    return locked


# ------------------------------------------------------------------------------------------
# The state machine
# ------------------------------------------------------------------------------------------
def _transition(
    *,
    campaign: Campaign,
    allowed: tuple[str, ...],
    target: str,
    verb: str,
    **fields: Any,
) -> Campaign:
    """One conditional UPDATE. Not allowed from the status the caller saw: 400; allowed but
    the row had moved on by the time of the update: 409."""
    if campaign.status not in allowed:
        raise InvalidTransition(
            f"Cannot {verb} a {campaign.status} campaign.",
            details={"status": campaign.status, "allowed_from": list(allowed)},
        )
    updated = Campaign.objects.filter(pk=campaign.pk, status__in=allowed).update(
        status=target, updated_at=timezone.now(), **fields
    )
    if not updated:
        current = Campaign.objects.filter(pk=campaign.pk).values_list("status", flat=True).first()
        if current is None:
            raise NotFound("Campaign not found.")
        raise TransitionConflict(
            f"The campaign changed to {current} while it was being {verb}d; read it again.",
            details={"status": current},
        )
    campaign.refresh_from_db()
    return campaign


def _enqueue_dispatch(campaign: Campaign) -> None:
    from apps.campaigns.tasks import campaign_dispatch_task

    schema, campaign_id = connection.schema_name, str(campaign.pk)
    transaction.on_commit(lambda: campaign_dispatch_task.delay(schema, campaign_id=campaign_id))


@transaction.atomic
def campaign_schedule(*, campaign: Campaign, scheduled_at: datetime) -> Campaign:
    _future(scheduled_at)
    campaign = _transition(
        campaign=campaign,
        allowed=(S.DRAFT, S.SCHEDULED),
        target=S.SCHEDULED,
        verb="schedule",
        scheduled_at=scheduled_at,
    )
    _emit(events.SCHEDULED, campaign)
    return campaign


def _start(campaign: Campaign, *, allowed: tuple[str, ...], verb: str, **fields: Any) -> Campaign:
    now = timezone.now()
    campaign = _transition(
        campaign=campaign,
        allowed=allowed,
        target=S.RUNNING,
        verb=verb,
        started_at=now,
        last_dispatch_at=now,
        **fields,
    )
    if not campaign.materialised_at:
        total = _materialise(campaign)
        Campaign.objects.filter(pk=campaign.pk).update(total_recipients=total, materialised_at=now)
        campaign.refresh_from_db()
    _emit(events.STARTED, campaign)
    _enqueue_dispatch(campaign)
    return campaign


@transaction.atomic
def campaign_send_now(*, campaign: Campaign, send_mode: str | None = None) -> Campaign:
    """DRAFT or SCHEDULED -> RUNNING: materialise the audience and start dispatch."""
    if campaign.status in (S.DRAFT, S.SCHEDULED) and not campaign.audiences.exists():
        raise ApplicationError("The campaign has no audience yet.", field="audience")
    fields = {"send_mode": send_mode} if send_mode else {}
    return _start(campaign, allowed=(S.DRAFT, S.SCHEDULED), verb="start", **fields)


@transaction.atomic
def campaign_pause(*, campaign: Campaign) -> Campaign:
    """Stop claiming new batches; in-flight sends drain on their own."""
    campaign = _transition(
        campaign=campaign, allowed=(S.RUNNING, S.SCHEDULED), target=S.PAUSED, verb="pause"
    )
    _emit(events.PAUSED, campaign)
    return campaign


@transaction.atomic
def campaign_resume(*, campaign: Campaign) -> Campaign:
    """PAUSED -> RUNNING; a campaign paused before it started goes back to SCHEDULED while
    its time is ahead, and starts otherwise."""
    if campaign.status == S.PAUSED and campaign.started_at is None:
        if campaign.scheduled_at and campaign.scheduled_at > timezone.now():
            campaign = _transition(
                campaign=campaign, allowed=(S.PAUSED,), target=S.SCHEDULED, verb="resume"
            )
            _emit(events.RESUMED, campaign)
            return campaign
        campaign = _start(campaign, allowed=(S.PAUSED,), verb="resume")
        _emit(events.RESUMED, campaign)
        return campaign
    campaign = _transition(campaign=campaign, allowed=(S.PAUSED,), target=S.RUNNING, verb="resume")
    _emit(events.RESUMED, campaign)
    _enqueue_dispatch(campaign)
    return campaign


@transaction.atomic
def campaign_stop(*, campaign: Campaign) -> Campaign:
    """Terminal. Recipients not yet attempted stay pending (and queryable)."""
    campaign = _transition(
        campaign=campaign,
        allowed=(S.RUNNING, S.PAUSED, S.SCHEDULED),
        target=S.STOPPED,
        verb="stop",
        completed_at=timezone.now(),
        waiting_reason="",
    )
    _emit(events.STOPPED, campaign)
    return campaign


@transaction.atomic
def campaign_complete_if_done(*, campaign: Campaign) -> bool:
    """RUNNING -> COMPLETED once no recipient is pending or sending (exactly once)."""
    busy = CampaignRecipient.objects.filter(
        campaign=campaign, status__in=[RecipientStatus.PENDING, RecipientStatus.SENDING]
    ).exists()
    if busy:
        return False
    updated = Campaign.objects.filter(pk=campaign.pk, status=S.RUNNING).update(
        status=S.COMPLETED,
        completed_at=timezone.now(),
        updated_at=timezone.now(),
        waiting_reason="",
    )
    if updated:
        campaign.refresh_from_db()
        _emit(events.COMPLETED, campaign)
    return bool(updated)


@transaction.atomic
def campaign_fail(*, campaign: Campaign, code: str, reason: str) -> bool:
    """RUNNING|PAUSED -> FAILED with the reason; remaining recipients stay pending."""
    updated = Campaign.objects.filter(pk=campaign.pk, status__in=[S.RUNNING, S.PAUSED]).update(
        status=S.FAILED,
        completed_at=timezone.now(),
        updated_at=timezone.now(),
        failure_code=str(code)[:32],
        failure_reason=reason,
        waiting_reason="",
    )
    if updated:
        campaign.refresh_from_db()
        _emit(events.FAILED, campaign)
    return bool(updated)


def campaigns_start_due(*, now: datetime | None = None, limit: int = 100) -> list[str]:
    """Start the due SCHEDULED campaigns of the current workspace. Each start is the same
    conditional UPDATE as a manual one, so two beat processes (or a slow run overlapping the
    next) start each campaign once: the loser's update matches no row and is skipped."""
    now = now or timezone.now()
    started = []
    due = list(
        Campaign.objects.filter(status=S.SCHEDULED, scheduled_at__lte=now)
        .order_by("scheduled_at")
        .values_list("pk", flat=True)[:limit]
    )
    for campaign_id in due:
        campaign = Campaign.objects.get(pk=campaign_id)
        if campaign.status != S.SCHEDULED:
            continue
        try:
            with transaction.atomic():
                _start(campaign, allowed=(S.SCHEDULED,), verb="start")
        except TransitionConflict:
            continue
        started.append(str(campaign_id))
    return started


# ------------------------------------------------------------------------------------------
# Materialisation
# ------------------------------------------------------------------------------------------
# A recipient id that grows with time (microseconds, then 64 random bits): a million rows
# inserted in one statement append to the primary key's index instead of landing on random
# pages of it, as random UUIDs do (a quarter of materialisation's time at 1M recipients).
TIME_ORDERED_UUID_SQL = (
    "(lpad(to_hex((extract(epoch FROM clock_timestamp()) * 1000000)::bigint), 16, '0')"
    " || substr(md5(random()::text), 1, 16))::uuid"
)


def _materialise(campaign: Campaign) -> int:
    """Insert one pending recipient per audience contact, variables resolved in SQL. One
    statement whatever the audience size; returns the rows inserted. Runs inside the start
    transition's transaction: a failure leaves the campaign as it was."""
    audience = selectors.campaign_audience_contacts(campaign=campaign)
    if audience.query.is_empty():
        return 0
    # The audience's own SELECT (every contact column) as the derived table `c` the mapping's
    # SQL refers to; PostgreSQL folds it into the INSERT's scan. No ON CONFLICT: a phone
    # belongs to one live contact (a unique index), so the audience has each phone once, and
    # the (campaign, phone) constraint still refuses the impossible duplicate.
    audience_sql, audience_params = audience.order_by().query.sql_with_params()
    values_expr, values_params = mapping_rules.values_sql(campaign.variable_mapping)
    with connection.cursor() as cursor:
        # Room to hash a million group members in memory rather than in batches on disk.
        cursor.execute("SET LOCAL work_mem = '64MB'")
        cursor.execute(
            "INSERT INTO campaigns_campaignrecipient "  # noqa: S608
            "(id, campaign_id, contact_id, phone, variables, status, attempts, error_code,"
            " error_message, created_at) "
            f"SELECT {TIME_ORDERED_UUID_SQL}, %s, c.id, c.phone, {values_expr}, 'pending', 0,"
            f" '', '', now() FROM ({audience_sql}) c",
            [campaign.pk, *values_params, *audience_params],
        )
        return cursor.rowcount


# ------------------------------------------------------------------------------------------
# Stats
# ------------------------------------------------------------------------------------------
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


def campaign_recipient_status_apply(
    *,
    recipient_id: Any,
    new_status: str,
    error_code: str = "",
    error_message: str = "",
    at: datetime | None = None,
) -> bool:
    """Move a recipient forward after a status callback and adjust its campaign's counters
    by the difference (no count over recipients). Out-of-order and duplicate callbacks
    converge: a status that is not further along changes nothing."""
    target = MESSAGE_TO_RECIPIENT.get(new_status)
    if target is None:
        return False
    at = at or timezone.now()
    with transaction.atomic():
        recipient = CampaignRecipient.objects.select_for_update().filter(pk=recipient_id).first()
        if recipient is None or RECIPIENT_RANK[target] <= RECIPIENT_RANK[recipient.status]:
            return False
        old = recipient.status
        fields: dict[str, Any] = {"status": target}
        stamps = {
            RecipientStatus.SENT: ["sent_at"],
            RecipientStatus.DELIVERED: ["delivered_at", "sent_at"],
            RecipientStatus.READ: ["read_at", "delivered_at", "sent_at"],
            RecipientStatus.FAILED: ["failed_at"],
        }[target]
        for name in stamps:
            if getattr(recipient, name) is None:
                fields[name] = at
        if target == RecipientStatus.FAILED:
            fields["error_code"] = str(error_code or "")[:32]
            fields["error_message"] = error_message
        CampaignRecipient.objects.filter(pk=recipient.pk).update(**fields)
        delta = counters_delta([(old, target)])
        if delta:
            Campaign.objects.filter(pk=recipient.campaign_id).update(**delta)
    return True


@status_listener
def _on_message_status(*, message: Any, previous_status: str, new_status: str) -> None:
    recipient_id = getattr(message, "campaign_recipient_id", None)
    if not recipient_id:
        return
    at = {
        "delivered": message.delivered_at,
        "read": message.read_at,
        "failed": message.failed_at,
        "sent": message.sent_at,
    }.get(new_status)
    campaign_recipient_status_apply(
        recipient_id=recipient_id,
        new_status=new_status,
        error_code=message.error_code,
        error_message=message.error_detail or message.error_title,
        at=at,
    )


# ------------------------------------------------------------------------------------------
# Preview
# ------------------------------------------------------------------------------------------
def campaign_preview(*, campaign: Campaign, contact_id: Any = None) -> dict[str, Any]:
    """The template as one contact would receive it: values resolved by the SQL that
    materialisation uses, text by the renderer sends use. Without a contact, the audience's
    first one."""
    from apps.message_templates.rendering import template_render

    if contact_id is None:
        first = (
            selectors.campaign_audience_contacts(campaign=campaign)
            .order_by("created_at", "id")
            .values_list("id", flat=True)
            .first()
        )
        if first is None:
            raise ApplicationError("The audience is empty: there is no contact to preview.")
        contact_id = first
    else:
        try:
            contact_id = uuid.UUID(str(contact_id))
        except ValueError:
            raise NotFound("Contact not found.") from None
    values = selectors.contact_values(mapping=campaign.variable_mapping, contact_id=contact_id)
    missing = [
        f"{part}.{name}"
        for part in ("header", "body")
        for name, value in (values.get(part) or {}).items()
        if value is None
    ]
    rendered = template_render(
        components=campaign.template.components,
        values={k: v for k, v in values.items() if k != "header" or isinstance(v, dict)},
        strict=False,
    )
    resolved: list[dict[str, Any]] = []
    if rendered.header_format == "TEXT":
        resolved.append({"type": "HEADER", "format": "TEXT", "text": rendered.header_text})
    elif rendered.header_format:
        resolved.append({"type": "HEADER", "format": rendered.header_format})
    if rendered.body:
        resolved.append({"type": "BODY", "text": rendered.body})
    if rendered.footer:
        resolved.append({"type": "FOOTER", "text": rendered.footer})
    if rendered.buttons:
        resolved.append({"type": "BUTTONS", "buttons": rendered.buttons})
    return {
        "campaign_id": str(campaign.pk),
        "sample_contact_id": str(contact_id),
        "resolved_components": resolved,
        "missing_variables": missing,
    }


# ------------------------------------------------------------------------------------------
# Follow-ups: retry failed, retarget by status
# ------------------------------------------------------------------------------------------
RETARGET_STATUSES = {
    "pending": [RecipientStatus.PENDING],
    "failed": [RecipientStatus.FAILED],
    "sent_not_delivered": [RecipientStatus.SENT],
    "delivered_not_read": [RecipientStatus.DELIVERED],
    "read": [RecipientStatus.READ],
}


@transaction.atomic
def _follow_up(
    *, campaign: Campaign, name: str, recipients: Any, created_by_email: str
) -> Campaign:
    if campaign.status not in (S.COMPLETED, S.STOPPED, S.FAILED):
        raise InvalidTransition("Follow-up campaigns start from a finished campaign.")
    follow_up = Campaign.objects.create(
        name=name[:120],
        description=campaign.description,
        template=campaign.template,
        batch_size=campaign.batch_size,
        variable_mapping=campaign.variable_mapping,
        send_window_start=campaign.send_window_start,
        send_window_end=campaign.send_window_end,
        send_mode=campaign.send_mode,
        created_by_email=created_by_email,
    )
    sql, params = (
        recipients.filter(contact__isnull=False).values("contact_id").query.sql_with_params()
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO campaigns_campaignaudience (campaign_id, kind, contact_id) "  # noqa: S608
            f"SELECT DISTINCT %s, 'contact', sub.contact_id FROM ({sql}) sub",
            [follow_up.pk, *params],
        )
    _emit(events.CREATED, follow_up)
    return follow_up


def campaign_retry_failed(*, campaign: Campaign, created_by_email: str = "") -> Campaign:
    """A draft for the recipients whose failure may succeed if tried again (the catalogue's
    per-code `retryable` flag)."""
    from apps.whatsapp.errors import error_info

    codes = set(
        CampaignRecipient.objects.filter(campaign=campaign, status=RecipientStatus.FAILED)
        .values_list("error_code", flat=True)
        .distinct()
    )
    retryable = [code for code in codes if error_info(code).retryable]
    if not retryable:
        raise ApplicationError("No recipient failed with an error worth retrying.")
    recipients = CampaignRecipient.objects.filter(
        campaign=campaign, status=RecipientStatus.FAILED, error_code__in=retryable
    )
    return _follow_up(
        campaign=campaign,
        name=f"{campaign.name} (retry failed)",
        recipients=recipients,
        created_by_email=created_by_email,
    )


def campaign_retarget(*, campaign: Campaign, segment: str, created_by_email: str = "") -> Campaign:
    """A draft for the recipients in one state, e.g. delivered but not read."""
    if segment not in RETARGET_STATUSES:
        raise ValidationFailed(f"Unknown segment {segment!r}.", field="segment")
    recipients = CampaignRecipient.objects.filter(
        campaign=campaign, status__in=RETARGET_STATUSES[segment]
    )
    return _follow_up(
        campaign=campaign,
        name=f"{campaign.name} ({segment.replace('_', ' ')})",
        recipients=recipients,
        created_by_email=created_by_email,
    )


# ------------------------------------------------------------------------------------------
# Builder helpers (dashboard only): test send, audience CSV
# ------------------------------------------------------------------------------------------
def header_media_param(mapping: dict | None) -> dict | None:
    """The send parameter of a media header (`{"id": <Meta media id>}`), when the mapping
    names uploaded media that WhatsApp knows."""
    header = (mapping or {}).get("header")
    if not isinstance(header, dict) or "media_id" not in header:
        return None
    from apps.media.models import Media

    media = Media.objects.filter(pk=header["media_id"]).first()
    if media is None or not media.meta_media_id:
        return None
    return {"id": media.meta_media_id}


def campaign_test_send(
    *,
    template: MessageTemplate,
    variable_mapping: Any,
    to: str,
    sample_contact_id: Any = None,
    mode: str = "live",
) -> Any:
    """Send the template, filled by the mapping for a sample contact, to one number through
    messaging's send service. It records a Message (origin `campaign_test`) and nothing of a
    campaign: the number is not a recipient and no counter moves."""
    from apps.contacts.services import phone_normalize
    from apps.message_templates.rendering import template_send_components
    from apps.messaging.services import message_send_template

    try:
        phone = phone_normalize(to)
    except ApplicationError:
        phone = None
    if not phone:
        raise ValidationFailed(
            "Enter the WhatsApp number with its country code, e.g. +14155550123.",
            field="test_phone",
        )
    mapping = mapping_rules.mapping_validate(template=template, mapping=variable_mapping)
    contact_id = None
    if sample_contact_id not in (None, ""):
        try:
            contact_id = uuid.UUID(str(sample_contact_id))
        except ValueError:
            raise ValidationFailed(
                "Pick the sample contact again.", field="sample_contact"
            ) from None
    elif mapping_rules.mapped_fields(mapping):
        raise ValidationFailed(
            "The variables come from contact fields: choose an audience so there is a sample "
            "contact to fill them from.",
            field="sample_contact",
        )
    values = selectors.contact_values(mapping=mapping, contact_id=contact_id)
    media = header_media_param(mapping)
    if media:
        values["header"] = media
    try:
        components = template_send_components(components=template.components, values=values)
    except ValidationFailed as error:
        raise ValidationFailed(
            f"The sample contact leaves a variable empty: {error.message}", field="sample_contact"
        ) from None
    return message_send_template(
        to=phone,
        template_name=template.name,
        language=template.language,
        components=components,
        mode=mode,
        origin="campaign_test",
    )


# An audience CSV is a QA-sized list typed or exported by a person; bigger lists go through
# Contacts → Import CSV (streamed, batched) and are picked here as a group.
AUDIENCE_CSV_MAX_ROWS = 5_000
AUDIENCE_CSV_MAX_BYTES = 1024 * 1024


@dataclasses.dataclass
class AudienceUpload:
    group: Group
    created: int = 0
    linked: int = 0
    failures: list[tuple[int, str]] = dataclasses.field(default_factory=list)  # (line, why)

    @property
    def total(self) -> int:
        return self.created + self.linked


def _csv_refuse(message: str) -> ValidationFailed:
    return ValidationFailed(message, field="audience_csv")


def _csv_rows(uploaded_file) -> tuple[list[list[str]], str]:
    if uploaded_file is None:
        raise _csv_refuse("Choose a CSV file of phone numbers first.")
    if (uploaded_file.size or 0) > AUDIENCE_CSV_MAX_BYTES:
        raise _csv_refuse(
            f"The file is larger than {AUDIENCE_CSV_MAX_BYTES // 1024} KB. Import big lists "
            "under Contacts → Import CSV, then pick their group here."
        )
    from apps.contacts.services.imports import csv_delimiter, csv_text

    text = csv_text(uploaded_file.read(), _csv_refuse)
    lines = text.splitlines()
    if not any(line.strip() for line in lines):
        raise _csv_refuse("The file is empty.")
    first = next(line for line in lines if line.strip())
    rows = list(csv.reader(io.StringIO(text), delimiter=csv_delimiter(first)))
    return rows, (uploaded_file.name or "audience.csv")


def _csv_columns(header: list[str]) -> tuple[int | None, int | None, int | None, bool]:
    """(phone, first name, last name) column indexes and whether the first row is a header.
    A first row whose cell is a phone number is data: then column 1 is the phone and column 2
    the name."""
    from apps.contacts.services import phone_normalize
    from apps.contacts.services.imports import auto_mapping

    for cell in header:
        with contextlib.suppress(ApplicationError):
            if any(ch.isdigit() for ch in cell) and phone_normalize(cell):
                return 0, (1 if len(header) > 1 else None), None, False
    targets = {target: int(index) for index, target in auto_mapping(header).items() if target}
    return targets.get("phone"), targets.get("first_name"), targets.get("last_name"), True


@transaction.atomic
def campaign_audience_upload(*, uploaded_file) -> AudienceUpload:
    """Turn a CSV of phone numbers (optionally names) into a new group for the audience. A
    row with a bad number is reported with its line and never stops the others."""
    from apps.contacts.models import SourceKind
    from apps.contacts.services import (
        contact_create,
        group_add_contacts,
        group_create,
        phone_normalize,
        source_create,
    )

    rows, file_name = _csv_rows(uploaded_file)
    header = next(row for row in rows if any(cell.strip() for cell in row))
    phone_col, first_col, last_col, has_header = _csv_columns([c.strip() for c in header])
    if phone_col is None:
        raise _csv_refuse(
            "No phone column: name the column “phone” (or mobile, whatsapp), or upload one "
            "number per line."
        )
    start = rows.index(header) + (1 if has_header else 0)
    data = [(number + 1, row) for number, row in enumerate(rows) if number >= start]
    data = [(number, row) for number, row in data if any(cell.strip() for cell in row)]
    if len(data) > AUDIENCE_CSV_MAX_ROWS:
        raise _csv_refuse(
            f"The file has {len(data):,} rows; at most {AUDIENCE_CSV_MAX_ROWS:,} can be uploaded "
            "here. Import it under Contacts → Import CSV, then pick its group."
        )

    def cell(row: list[str], index: int | None) -> str:
        return row[index].strip() if index is not None and index < len(row) else ""

    failures: list[tuple[int, str]] = []
    # phone -> (line, first name, last name); a number repeated in the file counts once.
    people: dict[str, tuple[int, str, str]] = {}
    for number, row in data:
        try:
            phone = phone_normalize(cell(row, phone_col))
        except ApplicationError as error:
            failures.append((number, f"{cell(row, phone_col)!r}: {error.message}"))
            continue
        if not phone:
            failures.append((number, "The phone is empty."))
            continue
        people.setdefault(phone, (number, cell(row, first_col), cell(row, last_col)))
    if not people:
        reasons = "; ".join(f"line {n}: {reason}" for n, reason in failures[:3])
        raise _csv_refuse(f"No row has a valid phone number ({reasons}).")

    existing = dict(
        Contact.objects.filter(phone__in=list(people), archived_at__isnull=True).values_list(
            "phone", "id"
        )
    )
    stamp = timezone.localtime().strftime("%Y-%m-%d %H:%M:%S")
    label = f"Campaign upload: {file_name}"[:200]
    source = source_create(name=f"{label} ({stamp})", kind=SourceKind.IMPORT)
    result = AudienceUpload(group=group_create(name=f"{label} ({stamp})"))
    ids = []
    for phone, (number, first_name, last_name) in people.items():
        if phone in existing:
            ids.append(existing[phone])
            result.linked += 1
            continue
        try:
            with transaction.atomic():
                contact = contact_create(
                    data={
                        "first_name": (first_name or phone)[:255],
                        "last_name": last_name or None,
                        "phone": phone,
                    },
                    source=source,
                )
        except ApplicationError:
            # A name too long, or another request took the number meanwhile: link it if so.
            holder = Contact.objects.filter(phone=phone, archived_at__isnull=True).first()
            if holder is None:
                failures.append((number, f"{phone}: the contact could not be created."))
                continue
            ids.append(holder.id)
            result.linked += 1
            continue
        ids.append(contact.id)
        result.created += 1
    group_add_contacts(group=result.group, contact_ids=ids)
    result.failures = sorted(failures)
    return result
