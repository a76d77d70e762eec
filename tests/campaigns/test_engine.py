"""The campaign engine without WhatsApp: state machine, mapping, audience, materialisation,
stats."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.campaigns import selectors, services
from apps.campaigns.models import Campaign, CampaignRecipient, CampaignStatus, RecipientStatus
from apps.contacts.models import Contact
from apps.core.errors import ApplicationError, ValidationFailed
from apps.webhooks.models import Event
from tests.campaigns.conftest import MAPPING, make_contacts

pytestmark = pytest.mark.django_db


def create(template, **kwargs):
    kwargs.setdefault("name", "May launch")
    kwargs.setdefault("variable_mapping", MAPPING)
    return services.campaign_create(template=template, **kwargs)


def events(kind):
    return Event.objects.filter(type=kind).count()


# -- state machine -------------------------------------------------------------------------
def test_it_creates_a_draft_and_emits_created(template, group):
    campaign = create(template, groups=[group.id])
    assert campaign.status == CampaignStatus.DRAFT
    assert events("campaign.created") == 1
    assert events("campaign.scheduled") == 0


def test_it_creates_scheduled_when_given_a_time(template):
    campaign = create(template, scheduled_at=timezone.now() + timedelta(hours=1))
    assert campaign.status == CampaignStatus.SCHEDULED
    assert events("campaign.scheduled") == 1


def test_every_allowed_transition(template, customers, group):
    campaign = create(template, groups=[group.id])
    campaign = services.campaign_schedule(
        campaign=campaign, scheduled_at=timezone.now() + timedelta(hours=1)
    )
    assert campaign.status == CampaignStatus.SCHEDULED
    campaign = services.campaign_pause(campaign=campaign)
    assert campaign.status == CampaignStatus.PAUSED
    # Paused before it started, its time still ahead: back to SCHEDULED.
    campaign = services.campaign_resume(campaign=campaign)
    assert campaign.status == CampaignStatus.SCHEDULED
    campaign = services.campaign_send_now(campaign=campaign)
    assert campaign.status == CampaignStatus.RUNNING
    assert campaign.total_recipients == 5
    campaign = services.campaign_pause(campaign=campaign)
    campaign = services.campaign_resume(campaign=campaign)
    assert campaign.status == CampaignStatus.RUNNING
    campaign = services.campaign_stop(campaign=campaign)
    assert campaign.status == CampaignStatus.STOPPED
    for kind in ("scheduled", "started", "resumed", "stopped"):
        assert events(f"campaign.{kind}") >= 1
    assert events("campaign.paused") == 2
    assert events("campaign.started") == 1


def test_resume_of_a_campaign_paused_before_its_time_passed_starts_it(template, customers, group):
    campaign = create(template, groups=[group.id], scheduled_at=timezone.now() + timedelta(hours=1))
    campaign = services.campaign_pause(campaign=campaign)
    Campaign.objects.filter(pk=campaign.pk).update(
        scheduled_at=timezone.now() - timedelta(minutes=1)
    )
    campaign.refresh_from_db()
    campaign = services.campaign_resume(campaign=campaign)
    assert campaign.status == CampaignStatus.RUNNING
    assert campaign.total_recipients == 5


def test_it_completes_when_nobody_is_left(template, customers, group):
    campaign = services.campaign_send_now(campaign=create(template, groups=[group.id]))
    assert not services.campaign_complete_if_done(campaign=campaign)
    CampaignRecipient.objects.filter(campaign=campaign).update(status=RecipientStatus.SENT)
    assert services.campaign_complete_if_done(campaign=campaign)
    assert not services.campaign_complete_if_done(campaign=campaign)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.COMPLETED
    assert events("campaign.completed") == 1


def test_it_fails_with_the_reason(template, customers, group):
    campaign = services.campaign_send_now(campaign=create(template, groups=[group.id]))
    assert services.campaign_fail(campaign=campaign, code="190", reason="Token rejected.")
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.FAILED
    assert campaign.failure_reason == "Token rejected."
    assert events("campaign.failed") == 1
    # Remaining recipients stay pending.
    assert CampaignRecipient.objects.filter(campaign=campaign, status="pending").count() == 5


@pytest.mark.parametrize(
    "action",
    ["pause", "resume", "stop", "send_now"],
)
def test_it_refuses_transitions_from_a_terminal_campaign_with_400(
    template, customers, group, action
):
    campaign = services.campaign_send_now(campaign=create(template, groups=[group.id]))
    campaign = services.campaign_stop(campaign=campaign)
    with pytest.raises(ApplicationError) as caught:
        getattr(services, f"campaign_{action}")(campaign=campaign)
    assert caught.value.status == 400
    assert caught.value.code == "invalid_transition"


def test_it_refuses_resume_of_a_draft(template):
    with pytest.raises(ApplicationError) as caught:
        services.campaign_resume(campaign=create(template))
    assert caught.value.status == 400


def test_the_loser_of_a_race_gets_409_and_one_event_is_emitted(template, customers, group):
    campaign = services.campaign_send_now(campaign=create(template, groups=[group.id]))
    first = Campaign.objects.get(pk=campaign.pk)
    second = Campaign.objects.get(pk=campaign.pk)  # read before the first one's pause
    services.campaign_pause(campaign=first)
    with pytest.raises(ApplicationError) as caught:
        services.campaign_pause(campaign=second)
    assert caught.value.status == 409
    assert events("campaign.paused") == 1


def test_two_starts_race_and_only_one_materialises(template, customers, group):
    campaign = create(template, groups=[group.id])
    stale = Campaign.objects.get(pk=campaign.pk)
    services.campaign_send_now(campaign=campaign)
    with pytest.raises(ApplicationError) as caught:
        services.campaign_send_now(campaign=stale)
    assert caught.value.status == 409
    assert CampaignRecipient.objects.filter(campaign=campaign).count() == 5
    assert events("campaign.started") == 1


def test_send_now_without_audience_is_400(template):
    with pytest.raises(ApplicationError) as caught:
        services.campaign_send_now(campaign=create(template))
    assert caught.value.status == 400


def test_audience_can_be_set_only_while_draft_or_paused(template, customers, group):
    campaign = services.campaign_send_now(campaign=create(template, groups=[group.id]))
    with pytest.raises(ApplicationError) as caught:
        services.campaign_set_audience(campaign=campaign, groups=[group.id])
    assert caught.value.status == 400


def test_setting_the_audience_of_a_paused_campaign_keeps_who_was_sent(template, group, source):
    contacts = make_contacts(3, group=group)
    campaign = services.campaign_send_now(campaign=create(template, groups=[group.id]))
    CampaignRecipient.objects.filter(campaign=campaign, contact=contacts[0]).update(status="sent")
    campaign = services.campaign_pause(campaign=campaign)
    make_contacts(2, source=source, start=100)
    campaign = services.campaign_set_audience(campaign=campaign, sources=[source.id])
    phones = set(
        CampaignRecipient.objects.filter(campaign=campaign).values_list("phone", flat=True)
    )
    assert phones == {contacts[0].phone, "+15550000100", "+15550000101"}
    assert campaign.total_recipients == 3


def test_setting_a_paused_campaigns_audience_skips_phones_it_already_handled(
    template, group, source
):
    # Given a campaign of four paused with one recipient sent, one failed, one in flight
    sent, failed, sending, pending = make_contacts(4, group=group)
    campaign = services.campaign_send_now(campaign=create(template, groups=[group.id]))
    for contact, status in ((sent, "sent"), (failed, "failed"), (sending, "sending")):
        CampaignRecipient.objects.filter(campaign=campaign, contact=contact).update(status=status)
    services.campaign_refresh_metrics(campaign=campaign)
    campaign = services.campaign_pause(campaign=campaign)
    make_contacts(1, source=source, start=100)

    # When the new audience names the same group again, and a source
    campaign = services.campaign_set_audience(
        campaign=campaign, groups=[group.id], sources=[source.id]
    )

    # Then each phone already handled keeps its one row as it was, the others are pending,
    # and the totals count every phone once
    rows = dict(CampaignRecipient.objects.filter(campaign=campaign).values_list("phone", "status"))
    assert rows == {
        sent.phone: "sent",
        failed.phone: "failed",
        sending.phone: "sending",
        pending.phone: "pending",
        "+15550000100": "pending",
    }
    assert campaign.stats == {
        "total": 5,
        "sent": 1,
        "delivered": 0,
        "read": 0,
        "failed": 1,
        "pending": 3,
    }


def test_unknown_groups_are_bad_audience_input(template):
    import uuid

    with pytest.raises(ApplicationError) as caught:
        create(template, groups=[str(uuid.uuid4())])
    assert caught.value.status == 400


# -- variable mapping ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("mapping", "field"),
    [
        (None, "variable_mapping.body.1"),
        ({"body": {"1": {"field": "first_name"}}}, "variable_mapping.body.2"),
        (
            {"body": {"1": {"value": "x"}, "2": {"value": "y"}, "3": {"value": "z"}}},
            "variable_mapping.body.3",
        ),
        (
            {"body": {"1": {"field": "shoe_size"}, "2": {"value": "y"}}},
            "variable_mapping.body.1.field",
        ),
        (
            {"body": {"1": {"field": "first_name", "value": "x"}, "2": {"value": "y"}}},
            "variable_mapping.body.1",
        ),
        ({"body": {"1": "first_name", "2": {"value": "y"}}}, "variable_mapping.body.1"),
        ({"body": MAPPING["body"], "footer": {}}, "variable_mapping.footer"),
        ({"body": MAPPING["body"], "header": {"1": {"value": "x"}}}, "variable_mapping.header.1"),
    ],
)
def test_mapping_validation_names_the_exact_problem(template, mapping, field):
    with pytest.raises(ValidationFailed) as caught:
        create(template, variable_mapping=mapping)
    assert caught.value.status == 422
    assert field in [problem["field"] for problem in caught.value.details]


def test_a_template_without_variables_needs_no_mapping(welcome):
    campaign = create(welcome, variable_mapping=None)
    assert campaign.variable_mapping is None


def test_preview_renders_with_the_send_path_values(template, group):
    contact = make_contacts(1, group=group)[0]
    campaign = create(template, groups=[group.id])
    preview = services.campaign_preview(campaign=campaign, contact_id=contact.id)
    assert preview["resolved_components"] == [
        {"type": "BODY", "text": "Hi Person0, your order A-0 has shipped."}
    ]
    assert preview["sample_contact_id"] == str(contact.id)


def test_preview_uses_the_fallback_for_an_empty_field(template, group):
    contact = make_contacts(1, group=group, last_name="X")[0]
    contact.first_name = " "
    contact.save()
    campaign = create(template, groups=[group.id])
    preview = services.campaign_preview(campaign=campaign)
    assert preview["resolved_components"][0]["text"] == "Hi there, your order A-0 has shipped."


# -- audience ------------------------------------------------------------------------------
def test_audience_is_the_union_without_duplicates_and_exclusions(tenant, group, source):
    in_group = make_contacts(3, group=group)
    in_both = make_contacts(1, group=group, source=source, start=10)
    make_contacts(2, source=source, start=20)
    make_contacts(1, group=group, start=30, archived_at=timezone.now())
    make_contacts(1, group=group, start=40, opted_out_at=timezone.now())
    phoneless = make_contacts(1, group=group, start=50)[0]
    phoneless.phone = None
    phoneless.save()
    contacts = selectors.audience_contacts(groups=[group.id], sources=[source.id])
    preview = selectors.audience_preview(contacts=contacts)
    assert preview["total"] == 6
    assert {row["id"] for row in preview["sample"]} >= {c.id for c in in_group + in_both}


def test_field_coverage_counts_present_and_missing(tenant, group):
    make_contacts(3, group=group, email="a@acme.test")
    plain = make_contacts(1, group=group, start=10)[0]
    plain.custom_fields = {}
    plain.save()
    report = selectors.audience_field_coverage(
        contacts=selectors.audience_contacts(groups=[group.id], sources=[]),
        fields=["first_name", "email", "custom_fields.order_id"],
    )
    assert report == {
        "total_recipients": 4,
        "coverage": {
            "first_name": {"present": 4, "missing": 0},
            "email": {"present": 3, "missing": 1},
            "custom_fields.order_id": {"present": 3, "missing": 1},
        },
    }


def test_materialisation_inserts_one_row_per_phone_with_variables(template, group, source):
    make_contacts(4, group=group, source=source)
    campaign = create(template, groups=[group.id], sources=[source.id])
    campaign = services.campaign_send_now(campaign=campaign)
    assert campaign.total_recipients == 4
    row = CampaignRecipient.objects.get(campaign=campaign, phone="+15550000002")
    assert row.variables == {"body": {"1": "Person2", "2": "A-2"}}
    assert row.status == RecipientStatus.PENDING
    assert campaign.stats == {
        "total": 4,
        "sent": 0,
        "delivered": 0,
        "read": 0,
        "failed": 0,
        "pending": 4,
    }


def test_recipient_ids_are_unique_and_grow_from_one_start_to_the_next(template, group):
    # Given an audience of five
    make_contacts(5, group=group)

    # When two campaigns start one after the other
    first = services.campaign_send_now(campaign=create(template, groups=[group.id]))
    second = services.campaign_send_now(campaign=create(template, groups=[group.id]))

    # Then every recipient has its own id, and the later start's ids sort after the earlier
    # one's (they append to the primary key's index)
    first_ids = list(CampaignRecipient.objects.filter(campaign=first).values_list("id", flat=True))
    second_ids = list(
        CampaignRecipient.objects.filter(campaign=second).values_list("id", flat=True)
    )
    assert len(set(first_ids + second_ids)) == 10
    assert max(first_ids) < min(second_ids)


def test_deleting_a_campaign_through_the_orm_deletes_its_recipients(template, group):
    # Given two started campaigns (the database holds no foreign key from their recipients)
    make_contacts(3, group=group)
    doomed = services.campaign_send_now(campaign=create(template, groups=[group.id]))
    kept = services.campaign_send_now(campaign=create(template, groups=[group.id]))

    # When one is deleted through the ORM
    Campaign.objects.get(pk=doomed.pk).delete()

    # Then its recipients go with it, and only its
    assert not CampaignRecipient.objects.filter(campaign_id=doomed.pk).exists()
    assert CampaignRecipient.objects.filter(campaign=kept).count() == 3


def test_deleting_a_contact_through_the_orm_keeps_its_recipient_row(template, group):
    # Given a started campaign (the database holds no foreign key from its recipients)
    contact, other = make_contacts(2, group=group)
    campaign = services.campaign_send_now(campaign=create(template, groups=[group.id]))

    # When a contact is hard-deleted through the ORM (the app itself only archives)
    Contact.objects.get(pk=contact.pk).delete()

    # Then its recipient row stays, pointing at no contact, as on_delete says
    row = CampaignRecipient.objects.get(campaign=campaign, phone=contact.phone)
    assert row.contact_id is None
    assert CampaignRecipient.objects.get(campaign=campaign, phone=other.phone).contact_id == (
        other.pk
    )


# -- stats ---------------------------------------------------------------------------------
def test_stats_follow_out_of_order_callbacks_and_match_a_recount(template, group):
    make_contacts(3, group=group)
    campaign = services.campaign_send_now(campaign=create(template, groups=[group.id]))
    a, b, c = CampaignRecipient.objects.filter(campaign=campaign).order_by("phone")
    CampaignRecipient.objects.filter(pk__in=[a.pk, b.pk, c.pk]).update(status="sent", wamid="w")
    Campaign.objects.filter(pk=campaign.pk).update(sent_count=3)
    apply = services.campaign_recipient_status_apply
    apply(recipient_id=a.pk, new_status="read")  # read before delivered
    apply(recipient_id=a.pk, new_status="delivered")  # late: no change
    apply(recipient_id=a.pk, new_status="read")  # duplicate
    apply(recipient_id=b.pk, new_status="failed", error_code="131026")
    apply(recipient_id=b.pk, new_status="delivered")  # failed then delivered: delivered
    apply(recipient_id=c.pk, new_status="failed", error_code="131049")
    campaign.refresh_from_db()
    live = campaign.stats
    # c failed after WhatsApp accepted it: it left `sent`, so total = sent + failed + pending.
    assert live == {"total": 3, "sent": 2, "delivered": 2, "read": 1, "failed": 1, "pending": 0}
    campaign = services.campaign_refresh_metrics(campaign=campaign)
    assert campaign.stats == live


def test_errors_summary_and_drilldown(template, group):
    make_contacts(4, group=group)
    campaign = services.campaign_send_now(campaign=create(template, groups=[group.id]))
    rows = list(CampaignRecipient.objects.filter(campaign=campaign).order_by("phone"))
    for row, code in zip(rows, ["131056", "131056", "131026", None], strict=True):
        if code:
            CampaignRecipient.objects.filter(pk=row.pk).update(
                status="failed", error_code=code, error_message=f"Meta said {code}"
            )
    summary = selectors.campaign_errors_summary(campaign=campaign)
    assert summary["total_failed"] == 3
    first = summary["by_code"][0]
    assert (first["code"], first["count"], first["title"]) == (
        "131056",
        2,
        "Too many messages to one recipient",
    )
    assert first["fix"]
    assert first["sample_message"] == "Meta said 131056"
    drill = selectors.campaign_errors_drilldown(campaign=campaign, error_code="131056", limit=1)
    assert len(list(drill)) == 1


# -- follow-ups ----------------------------------------------------------------------------
def test_retry_failed_targets_only_retryable_failures(template, group):
    make_contacts(4, group=group)
    campaign = services.campaign_send_now(campaign=create(template, groups=[group.id]))
    rows = list(CampaignRecipient.objects.filter(campaign=campaign).order_by("phone"))
    for row, code in zip(rows, ["131049", "131026", None, None], strict=True):
        if code:
            CampaignRecipient.objects.filter(pk=row.pk).update(status="failed", error_code=code)
        else:
            CampaignRecipient.objects.filter(pk=row.pk).update(status="delivered")
    campaign = services.campaign_stop(campaign=Campaign.objects.get(pk=campaign.pk))
    retry = services.campaign_retry_failed(campaign=campaign)
    assert retry.status == CampaignStatus.DRAFT
    assert selectors.campaign_audience_contacts(campaign=retry).get().id == rows[0].contact_id
    retarget = services.campaign_retarget(campaign=campaign, segment="delivered_not_read")
    assert (
        selectors.audience_preview(
            contacts=selectors.campaign_audience_contacts(campaign=retarget)
        )["total"]
        == 2
    )


def test_follow_ups_need_a_finished_campaign(template, group):
    make_contacts(1, group=group)
    campaign = services.campaign_send_now(campaign=create(template, groups=[group.id]))
    with pytest.raises(ApplicationError) as caught:
        services.campaign_retarget(campaign=campaign, segment="failed")
    assert caught.value.status == 400
