"""Creating a campaign and editing it before it starts: fields, mapping, audience.

- A campaign is edited only while DRAFT or SCHEDULED; its audience is set only while DRAFT or
  PAUSED. A paused campaign that already has recipients drops its pending ones and gains the
  new audience's, except the phones it has already handled (sent, failed or in flight): they
  keep the one row they have.
- The audience names groups, sources and contacts that must exist.
"""

from __future__ import annotations

import contextlib
import uuid
from datetime import datetime, time
from typing import Any

from django.db import transaction

from apps.campaigns import events, selectors
from apps.campaigns import mapping as mapping_rules
from apps.campaigns.models import (
    AudienceKind,
    Campaign,
    CampaignAudience,
    CampaignRecipient,
    RecipientStatus,
)
from apps.campaigns.services.lifecycle import InvalidTransition, S, _emit, _future
from apps.campaigns.services.materialise import _materialise
from apps.contacts.models import Contact, Group, Source
from apps.core.errors import ApplicationError, ValidationFailed
from apps.message_templates.models import MessageTemplate


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
        # The pending rows are gone; every row left is a phone already handled.
        _materialise(locked, skip_handled=True)
        Campaign.objects.filter(pk=locked.pk).update(**selectors.campaign_recount(campaign=locked))
    locked.refresh_from_db()
    return locked
