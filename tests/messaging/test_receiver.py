"""/webhooks/whatsapp: verification, signatures, raw storage, and the drain."""

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from apps.messaging import callbacks_drain
from apps.messaging.callbacks.models import MetaCallback
from apps.messaging.callbacks_drain import callbacks_drain as drain
from apps.messaging.models import Message
from apps.messaging.services import message_accept, message_outbound_record
from tests.messaging.helpers import dumps, envelope, sign, status

pytestmark = pytest.mark.django_db
SECRET = "test-app-secret"


@pytest.fixture(autouse=True)
def meta_settings(settings):
    settings.META_APP_SECRET = SECRET
    settings.META_VERIFY_TOKEN = "verify-me"


@pytest.fixture
def message(sandbox_account):
    message = message_outbound_record(phone="+919999999999")
    message = message_accept(message=message, wamid="wamid.R1", provider="sandbox")
    connection.set_schema_to_public()
    return message


def post(body: bytes, signature: str | None):
    headers = {"HTTP_X_HUB_SIGNATURE_256": signature} if signature is not None else {}
    return Client().post(
        "/webhooks/whatsapp", data=body, content_type="application/json", **headers
    )


def test_verification_handshake():
    ok = Client().get(
        "/webhooks/whatsapp",
        {"hub.mode": "subscribe", "hub.verify_token": "verify-me", "hub.challenge": "1158201444"},
    )
    assert ok.status_code == 200 and ok.content == b"1158201444"
    bad = Client().get(
        "/webhooks/whatsapp",
        {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1158201444"},
    )
    assert bad.status_code == 403 and b"1158201444" not in bad.content


def test_good_signature_is_stored_raw_and_processed_by_the_drain(message, acme):
    body = dumps(
        envelope("sandbox-" + acme.schema_name, statuses=[status("wamid.R1", "delivered")])
    )
    response = post(body, sign(body, SECRET))
    assert response.status_code == 200
    stored = MetaCallback.objects.get()
    assert bytes(stored.body) == body and stored.processed_at is None
    # Nothing is processed in the request: the worker does it.
    connection.set_tenant(acme)
    assert Message.objects.get(pk=message.pk).status == "accepted"
    connection.set_schema_to_public()
    assert drain() == 1
    connection.set_tenant(acme)
    assert Message.objects.get(pk=message.pk).status == "delivered"
    connection.set_schema_to_public()
    assert MetaCallback.objects.get().processed_at is not None


@pytest.mark.parametrize("signature", [None, "", "sha256=" + "0" * 64, "md5=abc"])
def test_bad_or_missing_signature_is_refused_and_stores_nothing(signature):
    body = dumps(envelope("123", statuses=[status("wamid.R1", "read")]))
    response = post(body, signature)
    assert response.status_code == 403
    assert MetaCallback.objects.count() == 0


def test_signature_of_another_body_is_refused():
    body = dumps(envelope("123", statuses=[status("wamid.R1", "read")]))
    response = post(body + b" ", sign(body, SECRET))
    assert response.status_code == 403
    assert MetaCallback.objects.count() == 0


def test_signature_with_another_secret_is_refused():
    body = dumps(envelope("123", statuses=[status("wamid.R1", "read")]))
    assert post(body, sign(body, "not-the-secret")).status_code == 403


def test_a_crash_between_storing_and_processing_loses_nothing(message, acme, monkeypatch):
    body = dumps(envelope("sandbox-" + acme.schema_name, statuses=[status("wamid.R1", "read")]))
    assert post(body, sign(body, SECRET)).status_code == 200
    calls = {"n": 0}
    real = callbacks_drain._process

    def crash_once(callback):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("worker died mid-way")
        real(callback)

    monkeypatch.setattr(callbacks_drain, "_process", crash_once)
    drain()
    stored = MetaCallback.objects.get()
    assert stored.processed_at is None and stored.attempts == 1
    assert "worker died" in stored.last_error
    connection.set_tenant(acme)
    assert Message.objects.get(pk=message.pk).status == "accepted"  # rolled back
    connection.set_schema_to_public()
    MetaCallback.objects.update(next_attempt_at=timezone.now())  # its retry is due
    drain()
    assert MetaCallback.objects.get().processed_at is not None
    connection.set_tenant(acme)
    assert Message.objects.get(pk=message.pk).status == "read"


def test_unparseable_body_is_given_up_after_max_attempts(monkeypatch):
    body = b"not json"
    assert post(body, sign(body, SECRET)).status_code == 200
    for _ in range(callbacks_drain.MAX_ATTEMPTS):
        MetaCallback.objects.update(next_attempt_at=timezone.now())
        drain()
    stored = MetaCallback.objects.get()
    assert stored.failed_at is not None and stored.processed_at is None
    assert stored.attempts == callbacks_drain.MAX_ATTEMPTS


def test_a_bad_callback_in_a_batch_does_not_hold_back_the_others(message, acme):
    good = [
        dumps(envelope("sandbox-" + acme.schema_name, statuses=[status("wamid.R1", name)]))
        for name in ("sent", "delivered")
    ]
    for body in [good[0], b"[broken", good[1]]:
        assert post(body, sign(body, SECRET)).status_code == 200
    drain()
    rows = list(MetaCallback.objects.order_by("id"))
    assert [r.processed_at is not None for r in rows] == [True, False, True]
    assert rows[1].attempts == 1
    connection.set_tenant(acme)
    assert Message.objects.get(pk=message.pk).status == "delivered"
    from apps.webhooks.models import Event

    assert Event.objects.filter(type="message.sent").count() == 1
    assert Event.objects.filter(type="message.delivered").count() == 1


def test_a_batch_applies_statuses_in_order_with_one_event_each(message, acme):
    bodies = [
        dumps(envelope("sandbox-" + acme.schema_name, statuses=[status("wamid.R1", name)]))
        for name in ("read", "delivered", "read", "sent")
    ]
    for body in bodies:
        post(body, sign(body, SECRET))
    drain()
    connection.set_tenant(acme)
    from apps.messaging.models import StatusEvent
    from apps.webhooks.models import Event

    assert Message.objects.get(pk=message.pk).status == "read"
    assert StatusEvent.objects.filter(message_id=message.pk).count() == 3
    assert list(
        Event.objects.filter(type__startswith="message.").values_list("type", flat=True)
    ) == ["message.read"]


def test_a_burst_of_callbacks_nudges_the_drain_once_per_quiet_period(monkeypatch):
    from apps.messaging import tasks

    calls = []
    monkeypatch.setattr(callbacks_drain, "_last_nudge", float("-inf"))
    monkeypatch.setattr(tasks.meta_callbacks_drain_task, "delay", lambda: calls.append("queued"))
    clock = iter([100.0, 100.01, 100.04, 100.06])
    monkeypatch.setattr(callbacks_drain, "_clock", lambda: next(clock))
    callbacks_drain._redis_client().delete(callbacks_drain.NUDGE_KEY)

    for _ in range(3):  # within 50 ms of the first: no Redis call, no task
        callbacks_drain.drain_nudge()
    assert calls == ["queued"]
    callbacks_drain.drain_nudge()  # 60 ms later: asks Redis again, the key says one is queued
    assert calls == ["queued"]
    assert callbacks_drain._redis_client().exists(callbacks_drain.NUDGE_KEY)


def test_a_drain_waits_the_quiet_period_before_its_last_look(monkeypatch):
    events = []
    monkeypatch.setattr(callbacks_drain.time, "sleep", lambda seconds: events.append(seconds))
    real_batch = callbacks_drain.callbacks_drain_batch

    def batch(**kwargs):
        events.append("look")
        return real_batch(**kwargs)

    monkeypatch.setattr(callbacks_drain, "callbacks_drain_batch", batch)
    drain()
    assert events == ["look", callbacks_drain.NUDGE_QUIET, "look"]


def test_a_drain_that_caught_up_gathers_before_its_next_batch(monkeypatch):
    events = []
    monkeypatch.setattr(callbacks_drain.time, "sleep", lambda seconds: events.append(seconds))
    claimed = iter([callbacks_drain.BATCH, 3, 0, 0])

    def batch(**kwargs):
        events.append("look")
        return next(claimed)

    monkeypatch.setattr(callbacks_drain, "callbacks_drain_batch", batch)
    assert drain() == callbacks_drain.BATCH + 3
    # A full batch: straight on. A partial one: wait for more. Nothing: the last look.
    assert events == [
        "look",
        "look",
        callbacks_drain.GATHER,
        "look",
        callbacks_drain.NUDGE_QUIET,
        "look",
    ]


def test_the_events_of_a_batch_keep_the_order_of_its_changes(message, acme):
    bodies = [
        dumps(envelope("sandbox-" + acme.schema_name, statuses=[status("wamid.R1", name)]))
        for name in ("sent", "delivered", "read")
    ]
    for body in bodies:
        post(body, sign(body, SECRET))
    drain()
    connection.set_tenant(acme)
    from apps.webhooks.models import Event

    events = Event.objects.filter(type__startswith="message.").order_by("created_at")
    assert [e.type for e in events] == ["message.sent", "message.delivered", "message.read"]
    assert len({e.created_at for e in events}) == 3
