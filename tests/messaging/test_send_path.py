"""The send path's record and accept: one statement each, keeping the rules the ORM's lock,
insert-or-update and save kept (conversation linking, never backwards), and the statements a
send costs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from apps.contacts.models import Contact
from apps.messaging.models import Conversation, Message, StatusEvent
from apps.messaging.selectors import send_reads
from apps.messaging.services import (
    message_accept,
    message_outbound_record,
    message_send_failed,
    meta_webhook_ingest,
)
from apps.webhooks.models import Event
from tests.messaging.helpers import approved_template, body_components, envelope, status

pytestmark = pytest.mark.django_db
URL = "/api/v1/public/messages/template"


def test_the_record_is_the_row_the_model_describes(sandbox_account):
    template = approved_template()
    message = message_outbound_record(
        phone="+919999999999",
        template=template,
        components=body_components("Ana", "A1"),
        body="Hi Ana, your order A1 has shipped.",
        origin="api",
    )
    stored = Message.objects.get(pk=message.pk)
    for field in Message._meta.concrete_fields:
        assert getattr(stored, field.attname) == getattr(message, field.attname), field.name
    assert stored.status == "pending" and stored.status_rank == 0 and stored.wamid is None
    assert stored.media == {} and stored.components == body_components("Ana", "A1")
    assert stored.template_name == "order_confirmation" and stored.template_language == "en_US"
    contact = Contact.objects.get(phone="+919999999999")
    assert stored.contact_id == contact.pk and message.contact == contact
    conversation = Conversation.objects.get(phone="+919999999999")
    assert stored.conversation_id == conversation.pk
    assert conversation.contact_id == contact.pk
    assert conversation.last_message_at == stored.created_at
    assert conversation.last_message_preview == "Hi Ana, your order A1 has shipped."
    assert conversation.unread_count == 0 and conversation.last_inbound_at is None
    (event,) = Event.objects.filter(type="contact.communication_added")
    assert event.data["message_id"] == str(message.pk)


def test_a_send_joins_the_conversation_and_leaves_its_inbound_side_alone(sandbox_account):
    inbound_at = timezone.now() - timedelta(hours=1)
    conversation = Conversation.objects.create(
        phone="+919999999999",
        profile_name="Ana",
        last_message_at=inbound_at,
        last_message_preview="hello",
        last_inbound_at=inbound_at,
        unread_count=2,
    )
    message = message_outbound_record(phone="+919999999999", kind="text", body="Hi there")
    conversation.refresh_from_db()
    assert message.conversation_id == conversation.pk
    assert Conversation.objects.count() == 1
    assert conversation.contact_id == message.contact_id is not None
    assert conversation.last_message_at == message.created_at
    assert conversation.last_message_preview == "Hi there"
    assert conversation.last_inbound_at == inbound_at
    assert conversation.unread_count == 2 and conversation.profile_name == "Ana"


def test_a_send_older_than_the_conversations_last_message_keeps_its_preview(sandbox_account):
    later = timezone.now() + timedelta(minutes=5)
    conversation = Conversation.objects.create(
        phone="+919999999999", last_message_at=later, last_message_preview="newer"
    )
    message = message_outbound_record(phone="+919999999999", kind="text", body="older")
    conversation.refresh_from_db()
    assert message.conversation_id == conversation.pk
    assert conversation.last_message_at == later
    assert conversation.last_message_preview == "newer"


def test_a_send_to_another_live_contact_relinks_the_conversation(sandbox_account):
    old = Contact.objects.create(
        first_name="Old", phone="+919999999999", archived_at=timezone.now()
    )
    conversation = Conversation.objects.create(phone="+919999999999", contact=old)
    new = Contact.objects.create(first_name="New", phone="+919999999999")
    message_outbound_record(phone="+919999999999", kind="text", body="Hi")
    conversation.refresh_from_db()
    assert conversation.contact_id == new.pk


def test_a_send_without_a_contact_keeps_the_conversations_contact(sandbox_account):
    # +999... is E.164 in shape but no country's number: the contacts app refuses it.
    kept = Contact.objects.create(first_name="Kept", phone="+919999999998")
    conversation = Conversation.objects.create(phone="+99912345678", contact=kept)
    message = message_outbound_record(phone="+99912345678", kind="text", body="Hi")
    conversation.refresh_from_db()
    assert message.contact_id is None
    assert conversation.contact_id == kept.pk
    assert not Event.objects.filter(type="contact.communication_added").exists()


def test_accept_gives_the_wamid_and_moves_pending_to_accepted(sandbox_account):
    message = message_outbound_record(phone="+919999999999", body="Hi")
    accepted = message_accept(message=message, wamid="wamid.A1", provider="sandbox")
    stored = Message.objects.get(pk=message.pk)
    assert (stored.wamid, stored.provider, stored.status, stored.status_rank) == (
        "wamid.A1", "sandbox", "accepted", 1,
    )  # fmt: skip
    assert (accepted.wamid, accepted.status, accepted.status_rank) == ("wamid.A1", "accepted", 1)
    assert stored.updated_at == accepted.updated_at


def test_accept_of_a_held_answer_records_held(sandbox_account):
    message = message_outbound_record(phone="+919999999999", body="Hi")
    raw = {"messages": [{"id": "wamid.H1", "message_status": "held_for_quality_assessment"}]}
    message_accept(message=message, wamid="wamid.H1", provider="cloud", raw=raw)
    assert Message.objects.get(pk=message.pk).status == "held_for_quality_assessment"


def test_accept_never_moves_a_message_back(sandbox_account):
    # What a status written between the send and its answer leaves behind: the UPDATE
    # compares with the row as it stands when it runs, not with what the caller holds.
    message = message_outbound_record(phone="+919999999999", body="Hi")
    message_send_failed(message=message, code="131026", title="Undeliverable", emit=False)
    accepted = message_accept(message=message, wamid="wamid.F1", provider="sandbox")
    stored = Message.objects.get(pk=message.pk)
    assert stored.wamid == "wamid.F1"
    assert (stored.status, stored.status_rank) == ("failed", 4)
    assert (accepted.status, accepted.status_rank) == ("failed", 4)


def test_accept_applies_statuses_parked_for_its_wamid(sandbox_account):
    meta_webhook_ingest(
        payload=envelope(
            sandbox_account.phone_number_id,
            statuses=[status("wamid.P1", "sent"), status("wamid.P1", "read")],
        )
    )
    message = message_outbound_record(phone="+919999999999", body="Hi")
    accepted = message_accept(message=message, wamid="wamid.P1", provider="sandbox")
    assert accepted.status == "read" and accepted.read_at is not None
    assert set(StatusEvent.objects.values_list("status", flat=True)) == {"sent", "read"}
    assert Event.objects.filter(type="message.read").count() == 1


def test_accept_of_an_unknown_message_raises(sandbox_account):
    message = Message(phone="+919999999999", direction="outbound")
    with pytest.raises(Message.DoesNotExist):
        message_accept(message=message, wamid="wamid.X1", provider="sandbox")


def test_the_send_read_is_the_orms_three_reads(sandbox_account):
    from apps.message_templates.models import MessageTemplate
    from apps.whatsapp.models import WhatsAppAccount
    from apps.whatsapp.selectors import whatsapp_account_active

    approved_template()
    approved_template(language="hi", status="PAUSED")
    approved_template(name="other")
    Contact.objects.create(first_name="Gone", phone="+919999999999", archived_at=timezone.now())
    live = Contact.objects.create(first_name="Live", phone="+919999999999", tags=["a"])
    reads = send_reads(phone="+919999999999", template_name="order_confirmation")
    account = whatsapp_account_active()
    for field in WhatsAppAccount._meta.concrete_fields:
        assert getattr(reads.account, field.attname) == getattr(account, field.attname)
    assert reads.account.access_token == account.access_token
    expected = {t.language: t for t in MessageTemplate.objects.filter(name="order_confirmation")}
    assert set(reads.templates) == {"en_US", "hi"}
    for language, template in expected.items():
        for field in MessageTemplate._meta.concrete_fields:
            got = getattr(reads.templates[language], field.attname)
            assert got == getattr(template, field.attname), field.name
    assert reads.contact.pk == live.pk
    for field in Contact._meta.concrete_fields:
        assert getattr(reads.contact, field.attname) == getattr(
            Contact.objects.get(pk=live.pk), field.attname
        ), field.name


def test_the_send_read_without_account_template_or_contact(acme):
    connection.set_tenant(acme)
    reads = send_reads(phone="+919999999999", template_name="nothing")
    assert (reads.account, reads.templates, reads.contact) == (None, {}, None)


def test_a_send_costs_a_fixed_number_of_statements(
    api_client, acme, sandbox_account, django_assert_max_num_queries
):
    approved_template()
    client = api_client(acme, scopes=["messages:send"], mode="test")
    payload = {"template_name": "order_confirmation", "language": "en_US",
               "components": body_components("Ana", "A1")}  # fmt: skip
    assert client.post(URL, {**payload, "to": "+919999999001"}, format="json").status_code == 200
    connection.set_tenant(acme)
    Contact.objects.create(first_name="Ana", phone="+919999999002")
    # Account, template and contact in one read; the record (message and conversation in one
    # statement) and its event; the sandbox's reports; the accept (one UPDATE). The record's
    # transaction is a savepoint pair inside the test's. It was 20 before the reads, the
    # record, the accept and the sandbox's reports became one statement each.
    with django_assert_max_num_queries(7):
        response = client.post(URL, {**payload, "to": "+919999999002"}, format="json")
    assert response.status_code == 200
