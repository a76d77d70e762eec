from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.whatsapp import sandbox
from apps.whatsapp.graph import GraphError
from apps.whatsapp.models import SandboxStatusReport
from apps.whatsapp.services import whatsapp_provider_get
from apps.whatsapp.tasks import sandbox_reports_deliver_task


def statuses(wamid: str) -> list[tuple[str, int | None]]:
    return [(r.status, r.error_code) for r in SandboxStatusReport.objects.filter(wamid=wamid)]


@pytest.mark.parametrize(
    ("to", "expected"),
    [
        ("14155550123", [("sent", None), ("delivered", None), ("read", None)]),
        ("+14155550001", [("failed", 131026)]),
        ("14155550002", [("failed", 131056)]),
        ("14155550003", [("failed", 131049)]),
        ("14155550004", [("sent", None), ("delivered", None)]),
    ],
)
def test_sends_are_accepted_and_statuses_planned_by_the_last_four_digits(
    sandbox_account, django_capture_on_commit_callbacks, to, expected
):
    provider = whatsapp_provider_get()
    with django_capture_on_commit_callbacks() as callbacks:
        result = provider.send_template(to=to, name="welcome", language="en_US")

    assert result.wamid.startswith("wamid.")
    assert statuses(result.wamid) == expected
    assert len(callbacks) == 1  # the delivery task is scheduled after commit


def test_statuses_fall_due_within_a_few_seconds(sandbox_account):
    before = timezone.now()
    result = whatsapp_provider_get().send_template(to="14155550123", name="w", language="en")
    dues = list(
        SandboxStatusReport.objects.filter(wamid=result.wamid).values_list("due_at", flat=True)
    )
    assert all(before < due <= before + timedelta(seconds=5) for due in dues)


def test_an_invalid_number_is_refused_like_meta_does(sandbox_account):
    with pytest.raises(GraphError) as caught:
        whatsapp_provider_get().send_template(to="12ab", name="welcome", language="en_US")
    assert caught.value.meta_code == 131009
    assert not SandboxStatusReport.objects.exists()


def test_the_async_send_records_reports_in_the_right_schema(sandbox_account):
    from apps.whatsapp.graph import run_async

    provider = whatsapp_provider_get()

    async def main():
        return await provider.send_template_async(to="14155550004", name="w", language="en")

    result = run_async(main)
    try:
        assert statuses(result.wamid) == [("sent", None), ("delivered", None)]
    finally:
        # The async path wrote (and committed) on another thread's connection, outside this
        # test's transaction: remove the rows the same way.
        _delete_committed(schema_name=sandbox_account_schema(), wamid=result.wamid)


def sandbox_account_schema() -> str:
    from django.db import connection

    return connection.schema_name


def _delete_committed(*, schema_name: str, wamid: str) -> None:
    def work():
        from django.db import connection
        from django_tenants.utils import schema_context

        try:
            with schema_context(schema_name):
                SandboxStatusReport.objects.filter(wamid=wamid).delete()
        finally:
            connection.close()

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()


def _make_due():
    SandboxStatusReport.objects.update(due_at=timezone.now() - timedelta(seconds=1))


def test_without_the_status_pipeline_reports_stay_pending_with_the_reason(
    sandbox_account, monkeypatch, acme
):
    monkeypatch.setattr(sandbox, "STATUS_PIPELINE", "apps.not_installed.services.ingest")
    result = whatsapp_provider_get().send_template(to="14155550001", name="w", language="en")
    _make_due()

    delivered = sandbox_reports_deliver_task(acme.schema_name)

    report = SandboxStatusReport.objects.get(wamid=result.wamid)
    assert delivered == 0
    assert report.reported_at is None
    assert report.attempts == 1
    assert "not installed" in report.last_error


def test_due_reports_are_fed_to_the_status_pipeline_once(sandbox_account, monkeypatch, acme):
    received = []
    monkeypatch.setattr(
        sandbox, "status_pipeline", lambda: lambda *, payload: received.append(payload)
    )
    result = whatsapp_provider_get().send_template(to="14155550001", name="w", language="en")
    _make_due()

    assert sandbox_reports_deliver_task(acme.schema_name) == 1
    assert sandbox_reports_deliver_task(acme.schema_name) == 0

    (payload,) = received
    value = payload["entry"][0]["changes"][0]["value"]
    assert payload["object"] == "whatsapp_business_account"
    assert value["metadata"]["phone_number_id"] == sandbox_account.phone_number_id
    (status,) = value["statuses"]
    assert status["id"] == result.wamid
    assert status["status"] == "failed"
    assert status["recipient_id"] == "14155550001"
    assert status["errors"][0]["code"] == 131026


def test_due_reports_go_to_the_pipeline_in_one_body_in_order(sandbox_account, monkeypatch, acme):
    received = []
    monkeypatch.setattr(
        sandbox, "status_pipeline", lambda: lambda *, payload: received.append(payload)
    )
    sent = whatsapp_provider_get().send_template(to="14155550123", name="w", language="en")
    failed = whatsapp_provider_get().send_template(to="14155550001", name="w", language="en")
    _make_due()

    assert sandbox_reports_deliver_task(acme.schema_name) == 4

    (payload,) = received
    statuses = payload["entry"][0]["changes"][0]["value"]["statuses"]
    assert [(s["id"], s["status"]) for s in statuses] == [
        (sent.wamid, "sent"),
        (sent.wamid, "delivered"),
        (sent.wamid, "read"),
        (failed.wamid, "failed"),
    ]
    assert not SandboxStatusReport.objects.filter(reported_at__isnull=True).exists()


def test_reports_not_yet_due_wait(sandbox_account, monkeypatch, acme):
    received = []
    monkeypatch.setattr(
        sandbox, "status_pipeline", lambda: lambda *, payload: received.append(payload)
    )
    whatsapp_provider_get().send_template(to="14155550123", name="w", language="en")

    assert sandbox_reports_deliver_task(acme.schema_name) == 0
    assert received == []


def test_sandbox_template_review_rules():
    assert sandbox.review_decision("spring_sale") == ("APPROVED", "")
    status, reason = sandbox.review_decision("please_reject_me")
    assert status == "REJECTED" and reason


def test_sends_in_the_same_second_share_their_delivery_runs(monkeypatch):
    queued = []
    monkeypatch.setattr(
        sandbox_reports_deliver_task, "apply_async", lambda args, eta: queued.append((args, eta))
    )
    now = timezone.now().replace(microsecond=200_000)
    happy = [now + timedelta(seconds=delay) for delay in (1, 2, 4)]
    sandbox._schedule_delivery("dedupe-ws", happy)
    sandbox._schedule_delivery(
        "dedupe-ws", [moment + timedelta(microseconds=1) for moment in happy]
    )
    sandbox._schedule_delivery("another-ws", happy)

    assert len(queued) == 6  # three seconds for each workspace, not three per send
    for _, eta in queued:
        # Each run is due at the end of its second, when all of that second's statuses are.
        assert eta.microsecond == 0 and any(
            timedelta(0) <= eta - m < timedelta(seconds=1) for m in happy
        )
    assert sorted(args[0] for args, _ in queued) == ["another-ws"] * 3 + ["dedupe-ws"] * 3
