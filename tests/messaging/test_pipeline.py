"""The status pipeline: meta_webhook_ingest, statuses, inbound messages, opt-outs."""

import time

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from apps.contacts.models import Contact
from apps.messaging.hooks import status_batch_listener, status_batch_listener_remove
from apps.messaging.models import ConsentChange, Conversation, Message, StatusEvent
from apps.messaging.services import (
    message_accept,
    message_outbound_record,
    messaging_settings_update,
    meta_webhook_ingest,
)
from apps.webhooks.models import Event
from tests.messaging.helpers import envelope, inbound, status

pytestmark = pytest.mark.django_db


def events(kind):
    return list(Event.objects.filter(type=kind).order_by("created_at"))


@pytest.fixture
def sent_message(sandbox_account):
    message = message_outbound_record(phone="+919999999999", body="Hi")
    return message_accept(message=message, wamid="wamid.TEST1", provider="sandbox")


def feed(account, *items):
    return meta_webhook_ingest(payload=envelope(account.phone_number_id, statuses=list(items)))


def test_statuses_move_forward_and_emit_once(sandbox_account, sent_message):
    now = int(time.time())
    result = feed(sandbox_account, status("wamid.TEST1", "sent", at=now))
    assert result.statuses_applied == 1
    feed(sandbox_account, status("wamid.TEST1", "delivered", at=now + 1))
    feed(sandbox_account, status("wamid.TEST1", "read", at=now + 2))
    sent_message.refresh_from_db()
    assert sent_message.status == "read"
    assert [len(events(f"message.{s}")) for s in ("sent", "delivered", "read")] == [1, 1, 1]
    assert events("message.read")[0].data["message_id"] == "wamid.TEST1"


def test_duplicate_status_is_a_noop(sandbox_account, sent_message):
    feed(sandbox_account, status("wamid.TEST1", "delivered"))
    result = feed(sandbox_account, status("wamid.TEST1", "delivered"))
    assert result.statuses_applied == 0
    assert len(events("message.delivered")) == 1
    assert StatusEvent.objects.filter(message=sent_message, status="delivered").count() == 1


def test_late_delivered_after_read_keeps_read(sandbox_account, sent_message):
    now = int(time.time())
    feed(sandbox_account, status("wamid.TEST1", "read", at=now))
    feed(sandbox_account, status("wamid.TEST1", "delivered", at=now - 1))
    feed(sandbox_account, status("wamid.TEST1", "sent", at=now - 2))
    sent_message.refresh_from_db()
    assert sent_message.status == "read"
    assert sent_message.is_delivered
    assert sent_message.delivered_at is not None and sent_message.sent_at is not None
    assert events("message.delivered") == [] and events("message.sent") == []
    assert len(events("message.read")) == 1
    # The late statuses stay visible in the timeline, marked as not applied.
    late = StatusEvent.objects.get(message=sent_message, status="delivered")
    assert late.applied is False


def test_read_without_delivered_counts_as_delivered(sandbox_account, sent_message):
    feed(sandbox_account, status("wamid.TEST1", "read"))
    sent_message.refresh_from_db()
    assert sent_message.delivered_at == sent_message.read_at
    assert Message.objects.filter(status__in=["delivered", "read"]).count() == 1


def test_failed_keeps_meta_error(sandbox_account, sent_message):
    feed(sandbox_account, status("wamid.TEST1", "failed", code=131026))
    sent_message.refresh_from_db()
    assert sent_message.status == "failed"
    assert sent_message.error_code == "131026"
    assert sent_message.error_title == "Message undeliverable"
    assert "not on WhatsApp" in sent_message.error_detail
    (event,) = events("message.failed")
    assert event.data["error"]["code"] == 131026


def test_failed_after_read_changes_nothing(sandbox_account, sent_message):
    feed(sandbox_account, status("wamid.TEST1", "read"))
    feed(sandbox_account, status("wamid.TEST1", "failed", code=131026))
    sent_message.refresh_from_db()
    assert sent_message.status == "read" and events("message.failed") == []


def test_held_for_quality_assessment_then_sent(sandbox_account, sent_message):
    feed(sandbox_account, status("wamid.TEST1", "held_for_quality_assessment"))
    sent_message.refresh_from_db()
    assert sent_message.status == "held_for_quality_assessment"
    feed(sandbox_account, status("wamid.TEST1", "sent"))
    sent_message.refresh_from_db()
    assert sent_message.status == "sent"


def test_unknown_wamid_is_parked_then_applied(sandbox_account):
    result = feed(sandbox_account, status("wamid.EARLY", "delivered"))
    assert result.statuses_unmatched == 1
    message = message_outbound_record(phone="+919999999998")
    message = message_accept(message=message, wamid="wamid.EARLY", provider="sandbox")
    assert message.status == "delivered"
    assert len(events("message.delivered")) == 1


def test_listener_sees_each_change_once(sandbox_account, sent_message):
    seen = []

    def listener(*, changes):
        seen.extend((change.previous_status, change.new_status) for change in changes)

    status_batch_listener(listener)
    try:
        feed(sandbox_account, status("wamid.TEST1", "sent"), status("wamid.TEST1", "read"))
        feed(sandbox_account, status("wamid.TEST1", "read"))
    finally:
        status_batch_listener_remove(listener)
    assert seen == [("accepted", "sent"), ("sent", "read")]


def test_routing_by_phone_number_id(acme, globex, alice, charlie):
    from apps.whatsapp.services import whatsapp_account_connect_sandbox

    connection.set_tenant(globex)
    globex_account = whatsapp_account_connect_sandbox(tenant=globex, actor=charlie)
    connection.set_schema_to_public()  # as the worker runs: no workspace on the connection
    payload = envelope(
        globex_account.phone_number_id, messages=[inbound("wamid.IN-G", "919811112222")]
    )
    assert meta_webhook_ingest(payload=payload).messages_received == 1
    with schema_context(globex.schema_name):
        assert Message.objects.filter(wamid="wamid.IN-G").exists()
    with schema_context(acme.schema_name):
        assert not Message.objects.filter(wamid="wamid.IN-G").exists()
    unknown = envelope("999999", messages=[inbound("wamid.IN-X", "919811112222")])
    assert meta_webhook_ingest(payload=unknown).unrouted == 1


def test_inbound_text_creates_contact_conversation_and_event(sandbox_account):
    payload = envelope(
        sandbox_account.phone_number_id,
        messages=[inbound("wamid.IN1", "919876543210", body="Where is my order?")],
        contacts=[{"profile": {"name": "Anurag"}, "wa_id": "919876543210"}],
    )
    assert meta_webhook_ingest(payload=payload).messages_received == 1
    message = Message.objects.get(wamid="wamid.IN1")
    assert message.direction == "inbound" and message.body == "Where is my order?"
    assert message.contact.first_name == "Anurag" and message.contact.phone == "+919876543210"
    conversation = Conversation.objects.get(phone="+919876543210")
    assert conversation.window_open() and conversation.unread_count == 1
    assert events("message.received")[0].data["from"] == "+919876543210"
    assert events("contact.communication_added")[0].data["contact_id"] == str(message.contact_id)
    # Meta redelivers: the same message is not recorded twice.
    assert meta_webhook_ingest(payload=payload).messages_received == 0
    assert Conversation.objects.get(pk=conversation.pk).unread_count == 1


def test_inbound_media_and_button(sandbox_account):
    items = [
        inbound("wamid.IMG", "919876543210", "image", id="media-1", mime_type="image/jpeg",
                caption="the parcel"),
        inbound("wamid.BTN", "919876543210", "button", text="Track order", payload="TRACK"),
        inbound("wamid.RCT", "919876543210", "reaction", message_id="wamid.OUT", emoji="👍"),
    ]  # fmt: skip
    result = meta_webhook_ingest(payload=envelope(sandbox_account.phone_number_id, messages=items))
    assert result.messages_received == 3
    image = Message.objects.get(wamid="wamid.IMG")
    assert image.kind == "image" and image.media["id"] == "media-1" and image.body == "the parcel"
    button = Message.objects.get(wamid="wamid.BTN")
    assert button.kind == "button" and button.body == "Track order"
    assert button.media["payload"] == "TRACK"
    reaction = Message.objects.get(wamid="wamid.RCT")
    assert reaction.body == "👍" and reaction.context_wamid == "wamid.OUT"
    assert Contact.objects.filter(phone="+919876543210").count() == 1


def say(account, wamid, text):
    item = inbound(wamid, "919876543210", body=text)
    meta_webhook_ingest(payload=envelope(account.phone_number_id, messages=[item]))


@pytest.mark.parametrize("word", ["STOP", "stop", " Unsubscribe "])
def test_stop_opts_out_and_start_opts_back_in(sandbox_account, word):
    account = sandbox_account
    say(account, "wamid.S1", word)
    contact = Contact.objects.get(phone="+919876543210")
    assert contact.is_opted_out
    change = ConsentChange.objects.get(contact=contact)
    assert change.action == "opt_out" and change.source == "inbound_keyword"
    assert change.keyword == word.strip().upper() and change.created_at
    say(account, "wamid.S2", "start")
    contact.refresh_from_db()
    assert not contact.is_opted_out
    assert ConsentChange.objects.filter(contact=contact, action="opt_in").count() == 1


def test_opt_out_keywords_are_configurable(sandbox_account):
    messaging_settings_update(opt_out_keywords="BASTA, STOP", opt_in_keywords="VOLVER")
    account = sandbox_account
    say(account, "wamid.K1", "basta")
    assert Contact.objects.get(phone="+919876543210").is_opted_out
    say(account, "wamid.K2", "start")
    assert Contact.objects.get(phone="+919876543210").is_opted_out  # START is not configured


def test_template_status_update(sandbox_account):
    from tests.messaging.helpers import approved_template

    template = approved_template(status="PENDING", meta_id="5551")
    payload = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": sandbox_account.waba_id,
                "changes": [
                    {
                        "field": "message_template_status_update",
                        "value": {
                            "event": "APPROVED",
                            "message_template_id": 5551,
                            "message_template_name": template.name,
                            "message_template_language": template.language,
                            "reason": "NONE",
                        },
                    }
                ],
            }
        ],
    }
    connection.set_schema_to_public()
    assert meta_webhook_ingest(payload=payload).templates_updated == 1
    connection.set_tenant(sandbox_account_tenant())
    template.refresh_from_db()
    assert template.status == "APPROVED"
    assert len(events("template.approved")) == 1


def sandbox_account_tenant():
    from apps.tenancy.models import Tenant

    return Tenant.objects.get(slug="acme")


def test_sandbox_reports_reach_the_pipeline(sandbox_account):
    from datetime import timedelta

    from django.utils import timezone

    from apps.whatsapp.models import SandboxStatusReport
    from apps.whatsapp.sandbox import deliver_due_reports
    from apps.whatsapp.services import provider_for_account

    result = provider_for_account(account=sandbox_account).send_template(
        to="+919999990004", name="welcome", language="en_US"
    )
    message = message_outbound_record(phone="+919999990004")
    message_accept(message=message, wamid=result.wamid, provider="sandbox")
    SandboxStatusReport.objects.update(due_at=timezone.now() - timedelta(seconds=1))
    deliver_due_reports(
        waba_id=sandbox_account.waba_id, phone_number_id=sandbox_account.phone_number_id
    )
    message.refresh_from_db()
    assert message.status == "delivered"  # 0004: delivered, never read


def test_contact_history_lists_the_contacts_messages(sandbox_account):
    from apps.messaging.selectors import contact_messages

    say(sandbox_account, "wamid.H1", "Where is my parcel?")
    contact = Contact.objects.get(phone="+919876543210")
    outbound = message_outbound_record(phone="+919876543210", body="Hi")
    history = contact_messages(contact=contact)
    assert [m.pk for m in history][0] == outbound.pk and len(history) == 2
    assert "received text “Where is my parcel?”" in str(history[1])


def test_parked_status_whose_message_appeared_is_applied_by_the_sweep(sandbox_account, acme):
    from apps.messaging.models import UnmatchedStatus
    from apps.messaging.tasks import unmatched_statuses_retry_all

    feed(sandbox_account, status("wamid.RACE", "read"))
    message = message_outbound_record(phone="+919999999997")
    # The send recorded its wamid without seeing the parked status (the race).
    Message.objects.filter(pk=message.pk).update(wamid="wamid.RACE", status="accepted")
    assert unmatched_statuses_retry_all() == 1
    connection.set_tenant(acme)
    assert Message.objects.get(pk=message.pk).status == "read"
    assert not UnmatchedStatus.objects.exists()
