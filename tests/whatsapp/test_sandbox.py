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


def test_a_send_writes_its_reports_in_one_statement_as_the_orm_would(
    sandbox_account, django_assert_num_queries
):
    provider = whatsapp_provider_get()
    before = timezone.now()
    # Inside a caller's transaction (this test's): the rows ride in it, no savepoint, and the
    # caller's commit keeps its durability.
    with django_assert_num_queries(1) as captured:
        result = provider.send_template(to="+14155550123", name="w", language="en")
    assert "synchronous_commit" not in captured.captured_queries[0]["sql"]

    reports = list(SandboxStatusReport.objects.filter(wamid=result.wamid))
    assert [(r.recipient, r.status, r.error_code) for r in reports] == [
        ("14155550123", "sent", None),
        ("14155550123", "delivered", None),
        ("14155550123", "read", None),
    ]
    assert [r.due_at - reports[0].due_at for r in reports] == [
        timedelta(0),
        timedelta(seconds=1),
        timedelta(seconds=3),
    ]
    second = timedelta(seconds=1)
    assert before + second <= reports[0].due_at <= timezone.now() + second
    assert all((r.reported_at, r.attempts, r.last_error) == (None, 0, "") for r in reports)


def test_a_send_outside_a_transaction_commits_its_reports_and_leaves_the_connection_as_it_was(
    sandbox_account, acme
):
    """The request path: autocommit. The reports commit on their own without waiting for the
    disk (the accept's durable commit flushes them); the setting lasts for that statement."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    provider = whatsapp_provider_get()
    seen = {}

    def work():
        from django.db import connection

        try:
            with CaptureQueriesContext(connection) as captured:
                seen["result"] = provider.send_template(to="14155550004", name="w", language="en")
            seen["sql"] = [query["sql"] for query in captured.captured_queries]
            with connection.cursor() as cursor:
                cursor.execute("SHOW synchronous_commit")
                seen["after"] = cursor.fetchone()[0]
        finally:
            connection.close()

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    wamid = seen["result"].wamid
    try:
        (insert,) = [sql for sql in seen["sql"] if not sql.startswith("SET search_path")]
        assert "synchronous_commit" in insert
        assert seen["after"] == "on"
        # Committed: this test's connection (another transaction) sees the rows.
        assert statuses(wamid) == [("sent", None), ("delivered", None)]
    finally:
        _delete_committed(schema_name=connection.schema_name, wamid=wamid)


def test_sends_of_one_second_ask_redis_once_per_process(monkeypatch):
    queued = []
    monkeypatch.setattr(
        sandbox_reports_deliver_task, "apply_async", lambda args, eta: queued.append((args, eta))
    )
    now = timezone.now().replace(microsecond=100_000) + timedelta(seconds=1)
    happy = [now + timedelta(seconds=delay) for delay in (1, 2, 4)]
    sandbox._schedule_delivery("memo-ws", happy)
    assert len(queued) == 3

    def no_redis():
        raise AssertionError("Redis asked again")

    monkeypatch.setattr(sandbox, "redis_client", no_redis)
    sandbox._schedule_delivery("memo-ws", [m + timedelta(microseconds=5) for m in happy])
    assert len(queued) == 3


def test_another_process_does_not_queue_a_second_already_queued(monkeypatch):
    queued = []
    monkeypatch.setattr(
        sandbox_reports_deliver_task, "apply_async", lambda args, eta: queued.append((args, eta))
    )
    now = timezone.now().replace(microsecond=300_000) + timedelta(seconds=1)
    happy = [now + timedelta(seconds=delay) for delay in (1, 2, 4)]
    sandbox._schedule_delivery("memo-other-ws", happy)
    # A fresh process knows nothing of its own: Redis tells it the runs are queued.
    monkeypatch.setattr(sandbox, "_QUEUED", set())
    sandbox._schedule_delivery("memo-other-ws", happy + [now + timedelta(seconds=7)])

    # The three seconds once, then only the second no process had queued.
    assert [round(eta.timestamp() - now.timestamp(), 1) for _, eta in queued] == [
        1.7,
        2.7,
        4.7,
        7.7,
    ]
