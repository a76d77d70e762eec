"""The campaign state machine: schedule, start, pause, resume, stop, complete, fail.

- DRAFT -> SCHEDULED -> RUNNING, DRAFT -> RUNNING, RUNNING|SCHEDULED -> PAUSED -> RUNNING (or
  back to SCHEDULED when paused before it started and its time is still ahead),
  RUNNING|PAUSED|SCHEDULED -> STOPPED, RUNNING -> COMPLETED, RUNNING|PAUSED -> FAILED.
- Each transition is one conditional `UPDATE ... WHERE status IN (...)`: a transition the
  current status does not allow is 400 `invalid_transition`; one that was allowed but lost a
  race (zero rows updated) is 409. Each emits its `campaign.*` event once, in the same
  transaction.
- Starting materialises the recipients (apps.campaigns.services.materialise) in the start's
  transaction, once, and queues dispatch after commit.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from apps.campaigns import events
from apps.campaigns.models import Campaign, CampaignRecipient, CampaignStatus, RecipientStatus
from apps.campaigns.services.materialise import _materialise
from apps.core.errors import ApplicationError, Conflict, NotFound, ValidationFailed
from apps.webhooks.services import emit_event

S = CampaignStatus


class InvalidTransition(ApplicationError):
    status = 400
    code = "invalid_transition"


class TransitionConflict(Conflict):
    code = "conflict"


def _emit(event_type: str, campaign: Campaign) -> None:
    emit_event(event_type=event_type, data=events.campaign_data(campaign))


def _future(scheduled_at: datetime) -> datetime:
    if timezone.is_naive(scheduled_at):
        raise ValidationFailed("scheduled_at needs a time zone (UTC).", field="scheduled_at")
    if scheduled_at <= timezone.now():
        raise ValidationFailed("scheduled_at must be in the future.", field="scheduled_at")
    return scheduled_at


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
