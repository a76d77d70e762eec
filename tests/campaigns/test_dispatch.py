"""Dispatch end to end against the fake Graph API on loopback (the real client), with
injected failures, pause/stop mid-flight, a worker killed mid-batch, two workers, and the
beat."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.campaigns import dispatch, services, tasks
from apps.campaigns.models import Campaign, CampaignRecipient, CampaignStatus
from apps.messaging.models import Message
from tests.campaigns.conftest import MAPPING, make_contacts

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def unthrottled(cloud_account):
    # The limiter is exercised by its own test; here sends go as fast as they can.
    cloud_account.throughput_per_second = 100_000
    cloud_account.save()
    return cloud_account


def start(template, group, n=0, **kwargs):
    if n:
        make_contacts(n, group=group)
    kwargs.setdefault("batch_size", 10)
    campaign = services.campaign_create(
        name="Launch", template=template, variable_mapping=MAPPING, groups=[group.id], **kwargs
    )
    return services.campaign_send_now(campaign=campaign)


def dispatched(template, group, n):
    """A campaign of n recipients sent through the fake Graph API, and their wamids by phone."""
    campaign = start(template, group, n)
    dispatch.campaign_dispatch(campaign_id=campaign.pk)
    wamids = list(
        CampaignRecipient.objects.filter(campaign=campaign)
        .order_by("phone")
        .values_list("wamid", flat=True)
    )
    return campaign, wamids


def sent_to(fake_graph):
    return Counter(body["to"] for body in fake_graph.sent)


def test_it_sends_everyone_once_and_completes(template, group, fake_graph):
    campaign = start(template, group, 25)
    result = dispatch.campaign_dispatch(campaign_id=campaign.pk)
    assert result.finished and result.sent == 25
    assert max(sent_to(fake_graph).values()) == 1 and len(sent_to(fake_graph)) == 25
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.COMPLETED
    assert campaign.stats == {
        "total": 25,
        "sent": 25,
        "delivered": 0,
        "read": 0,
        "failed": 0,
        "pending": 0,
    }
    body = fake_graph.sent[0]
    assert body["template"]["components"][0]["parameters"][0]["text"].startswith("Person")
    # Every send is a messaging Message linked to its recipient, with Meta's wamid.
    recipient = CampaignRecipient.objects.filter(campaign=campaign).first()
    message = Message.objects.get(pk=recipient.message_id)
    assert message.wamid == recipient.wamid and message.campaign_id == campaign.pk
    assert message.status == "accepted"


def test_failures_are_recorded_by_code_and_others_still_go(template, group, fake_graph):
    make_contacts(6, group=group)
    fake_graph.config.failures_by_number["15550000001"] = (400, 131026)
    empty = make_contacts(1, group=group, start=50)[0]
    empty.custom_fields = {}
    empty.save()
    campaign = start(template, group)
    dispatch.campaign_dispatch(campaign_id=campaign.pk)
    campaign.refresh_from_db()
    assert campaign.stats["sent"] == 5 and campaign.stats["failed"] == 2
    failed = dict(
        CampaignRecipient.objects.filter(campaign=campaign, status="failed").values_list(
            "phone", "error_code"
        )
    )
    assert failed == {"+15550000001": "131026", "+15550000050": "lk_missing_variable"}
    # Nobody is ever sent a blank.
    assert "+15550000050" not in sent_to(fake_graph)


def test_throughput_refusals_slow_down_instead_of_failing(template, group, fake_graph):
    campaign = start(template, group, 5, batch_size=5)
    fake_graph.config.fail_next.extend([{"status": 400, "code": 130429}] * 2)
    dispatch.campaign_dispatch(campaign_id=campaign.pk)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.COMPLETED
    assert campaign.stats["sent"] == 5 and campaign.stats["failed"] == 0
    assert len(sent_to(fake_graph)) == 5


def test_a_rejected_token_fails_the_campaign_and_leaves_recipients_pending(
    template, group, fake_graph
):
    campaign = start(template, group, 5)
    fake_graph.config.expired_tokens.add("EAAG-test-access-token-0123456789abcdef")
    result = dispatch.campaign_dispatch(campaign_id=campaign.pk)
    assert result.finished
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.FAILED
    assert campaign.failure_code == "190"
    assert CampaignRecipient.objects.filter(campaign=campaign, status="pending").count() == 5


def test_a_template_disabled_mid_flight_fails_the_campaign(template, group, fake_graph):
    campaign = start(template, group, 3)
    template.status = "DISABLED"
    template.save()
    dispatch.campaign_dispatch(campaign_id=campaign.pk)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.FAILED and "disabled" in campaign.failure_reason
    assert fake_graph.sent == type(fake_graph.sent)(maxlen=fake_graph.sent.maxlen)


def test_pause_takes_effect_between_batches_and_resume_continues(template, group, fake_graph):
    campaign = start(template, group, 30, batch_size=10)
    # Worker 1 claims a batch; the campaign is paused while it is in flight.
    in_flight = dispatch.batch_claim(campaign=campaign, limit=10)
    services.campaign_pause(campaign=Campaign.objects.get(pk=campaign.pk))
    assert dispatch.batch_claim(campaign=campaign, limit=10) == []
    result = dispatch.campaign_dispatch(campaign_id=campaign.pk)
    assert result.finished and result.sent == 0
    # The in-flight batch drains.
    outcome = dispatch.batch_record(
        campaign=campaign,
        batch=dispatch.Batch(items=in_flight, outcomes=_ok(in_flight)),
        provider_name="cloud",
    )
    assert outcome["sent"] == 10
    services.campaign_resume(campaign=Campaign.objects.get(pk=campaign.pk))
    dispatch.campaign_dispatch(campaign_id=campaign.pk)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.COMPLETED
    assert campaign.stats["sent"] == 30
    assert len(sent_to(fake_graph)) == 20  # the other ten went through `_ok` above


def _ok(items):
    from apps.whatsapp.bulk import BulkOutcome
    from apps.whatsapp.providers import SendResult

    return [BulkOutcome(key=i.id, result=SendResult(wamid=f"wamid.{i.id}")) for i in items]


def test_stop_leaves_the_rest_pending_and_queryable(template, group, fake_graph):
    campaign = start(template, group, 20, batch_size=10)
    in_flight = dispatch.batch_claim(campaign=campaign, limit=10)
    services.campaign_stop(campaign=Campaign.objects.get(pk=campaign.pk))
    dispatch.batch_record(
        campaign=campaign,
        batch=dispatch.Batch(items=in_flight, outcomes=_ok(in_flight)),
        provider_name="cloud",
    )
    assert dispatch.campaign_dispatch(campaign_id=campaign.pk).finished
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.STOPPED
    assert campaign.stats["pending"] == 10
    assert CampaignRecipient.objects.filter(campaign=campaign, status="pending").count() == 10


def test_a_worker_killed_mid_batch_sends_nobody_twice_and_loses_nobody(template, group, fake_graph):
    campaign = start(template, group, 25, batch_size=10)
    # The worker commits its claim, then dies before recording anything.
    lost = dispatch.batch_claim(campaign=campaign, limit=10)
    # Another worker resumes: it sends the rest, never the lost batch.
    dispatch.campaign_dispatch(campaign_id=campaign.pk)
    assert len(sent_to(fake_graph)) == 15
    assert not {item.phone for item in lost} & set(sent_to(fake_graph))
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.RUNNING  # ten are still `sending`
    # After the timeout they are failed as "outcome unknown", never resent.
    CampaignRecipient.objects.filter(campaign=campaign, status="sending").update(
        claimed_at=timezone.now() - timedelta(hours=1)
    )
    tasks.campaigns_tick_schema("acme")
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.COMPLETED
    assert campaign.stats == {
        "total": 25,
        "sent": 15,
        "delivered": 0,
        "read": 0,
        "failed": 10,
        "pending": 0,
    }
    assert set(
        CampaignRecipient.objects.filter(campaign=campaign, status="failed").values_list(
            "error_code", flat=True
        )
    ) == {"lk_outcome_unknown"}
    assert max(sent_to(fake_graph).values()) == 1


def test_two_workers_share_a_campaign_without_overlap(template, group, fake_graph):
    campaign = start(template, group, 40, batch_size=10)
    worker_one = dispatch.batch_claim(campaign=campaign, limit=10)
    worker_two = dispatch.batch_claim(campaign=campaign, limit=10)
    assert not {i.id for i in worker_one} & {i.id for i in worker_two}
    dispatch.campaign_dispatch(campaign_id=campaign.pk)
    for batch in (worker_one, worker_two):
        dispatch.batch_record(
            campaign=campaign,
            batch=dispatch.Batch(items=batch, outcomes=_ok(batch)),
            provider_name="cloud",
        )
    services.campaign_complete_if_done(campaign=campaign)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.COMPLETED and campaign.stats["sent"] == 40
    assert len(sent_to(fake_graph)) == 20


def test_beat_starts_a_due_campaign_once_even_twice_over(template, group, fake_graph):
    make_contacts(3, group=group)
    campaign = services.campaign_create(
        name="Later",
        template=template,
        variable_mapping=MAPPING,
        groups=[group.id],
        scheduled_at=timezone.now() + timedelta(minutes=5),
    )
    assert tasks.campaigns_tick_schema("acme")["started"] == 0
    Campaign.objects.filter(pk=campaign.pk).update(
        scheduled_at=timezone.now() - timedelta(seconds=1)
    )
    # Two beat processes read the same due campaign before either starts it.
    stale = Campaign.objects.get(pk=campaign.pk)
    assert tasks.campaigns_tick_schema("acme")["started"] == 1
    assert services.campaigns_start_due() == []
    with pytest.raises(Exception) as caught:
        services._start(stale, allowed=(CampaignStatus.SCHEDULED,), verb="start")
    assert caught.value.status == 409
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.RUNNING and campaign.total_recipients == 3
    from apps.webhooks.models import Event

    assert Event.objects.filter(type="campaign.started").count() == 1


def test_status_callbacks_move_recipients_and_stats(template, group, fake_graph):
    from apps.messaging.services import message_status_apply

    campaign, wamids = dispatched(template, group, 3)
    ts = str(int(timezone.now().timestamp()))
    for wamid, status in [(wamids[0], "read"), (wamids[0], "delivered"), (wamids[1], "delivered")]:
        message_status_apply(status={"id": wamid, "status": status, "timestamp": ts})
    message_status_apply(
        status={
            "id": wamids[2],
            "status": "failed",
            "timestamp": ts,
            "errors": [{"code": 131049, "title": "cap"}],
        }
    )
    campaign.refresh_from_db()
    stats = campaign.stats
    assert stats["total"] == stats["sent"] + stats["failed"] + stats["pending"]
    assert stats == {
        "total": 3,
        "sent": 2,
        "delivered": 2,
        "read": 1,
        "failed": 1,
        "pending": 0,
    }
    assert services.campaign_refresh_metrics(campaign=campaign).stats == campaign.stats


def test_a_drained_batch_of_callbacks_moves_recipients_and_stats(template, group, fake_graph):
    from apps.messaging.services import meta_webhook_ingest_many

    # Given three recipients sent to
    campaign, wamids = dispatched(template, group, 3)
    ts = int(timezone.now().timestamp())
    failure = {"errors": [{"code": 131049, "title": "cap"}]}

    def payload(wamid, status, offset, **extra):
        value = {"statuses": [{"id": wamid, "status": status, "timestamp": str(ts + offset)}]}
        value["statuses"][0].update(extra)
        return {"entry": [{"changes": [{"field": "messages", "value": value}]}]}

    # When the drain applies their callbacks as one batch: out of order, with duplicates
    meta_webhook_ingest_many(
        payloads=[
            payload(wamids[0], "read", 2),
            payload(wamids[1], "sent", 0),
            payload(wamids[2], "failed", 3, **failure),
            payload(wamids[0], "delivered", 1),
            payload(wamids[1], "delivered", 1),
            payload(wamids[0], "read", 2),
            payload(wamids[2], "failed", 3, **failure),
        ]
    )

    # Then recipients and stats are as after the same callbacks one by one
    campaign.refresh_from_db()
    assert campaign.stats == {
        "total": 3,
        "sent": 2,
        "delivered": 2,
        "read": 1,
        "failed": 1,
        "pending": 0,
    }
    assert services.campaign_refresh_metrics(campaign=campaign).stats == campaign.stats
    rows = {r.wamid: r for r in CampaignRecipient.objects.filter(campaign=campaign)}
    read_at = Message.objects.get(wamid=wamids[0]).read_at
    assert rows[wamids[0]].status == "read"
    assert rows[wamids[0]].read_at == rows[wamids[0]].delivered_at == read_at
    assert rows[wamids[1]].status == "delivered"
    assert (rows[wamids[2]].status, rows[wamids[2]].error_code) == ("failed", "131049")


def test_outside_the_send_window_it_waits_visibly(template, group, fake_graph):
    from datetime import time

    now = timezone.now()
    opens = (now + timedelta(hours=2)).time().replace(second=0, microsecond=0)
    closes = (now + timedelta(hours=3)).time().replace(second=0, microsecond=0)
    campaign = start(template, group, 2, send_window_start=opens, send_window_end=closes)
    result = dispatch.campaign_dispatch(campaign_id=campaign.pk)
    assert result.sent == 0 and 0 < result.retry_in <= 300
    campaign.refresh_from_db()
    assert campaign.waiting_reason.startswith("Waiting for the send window")
    assert not fake_graph.sent
    assert time(0, 0) <= opens


def test_the_limiter_spaces_sends_across_workers(tenant):
    from apps.campaigns.limiter import ThroughputLimiter

    one = ThroughputLimiter(account_id="limiter-test", per_second=10)
    two = ThroughputLimiter(account_id="limiter-test", per_second=10)
    first = one.reserve(5)
    second = two.reserve(5)
    assert first.interval == pytest.approx(0.1)
    # The second worker's slots begin where the first's end.
    assert second.wait == pytest.approx(first.wait + 0.5, abs=0.05)
