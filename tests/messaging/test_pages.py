"""Inbox and messages log pages."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from apps.messaging.models import Conversation, Message
from apps.messaging.services import (
    WindowClosed,
    message_send_text,
    meta_webhook_ingest,
)
from tests.messaging.helpers import approved_template, envelope, inbound

pytestmark = pytest.mark.django_db


@pytest.fixture
def conversation(sandbox_account):
    meta_webhook_ingest(
        payload=envelope(
            sandbox_account.phone_number_id,
            messages=[inbound("wamid.P1", "919876543210", body="Hello there")],
            contacts=[{"profile": {"name": "Ravi"}, "wa_id": "919876543210"}],
        )
    )
    return Conversation.objects.get(phone="+919876543210")


def url(conversation, suffix=""):
    return f"/acme/inbox/{conversation.pk}/{suffix}"


def test_inbox_lists_conversations_with_unread_and_search(alice_client, conversation):
    page = alice_client.get("/acme/inbox/")
    assert page.status_code == 200
    assert b"Ravi" in page.content and b"Hello there" in page.content
    assert b'title="unread">1<' in page.content
    assert b"Ravi" not in alice_client.get("/acme/inbox/", {"q": "nobody"}).content


def test_opening_a_conversation_marks_it_read(alice_client, conversation):
    page = alice_client.get(url(conversation))
    assert page.status_code == 200 and b"Hello there" in page.content
    assert b"Free-form replies are allowed until" in page.content
    connection.set_tenant(conversation_tenant())
    assert Conversation.objects.get(pk=conversation.pk).unread_count == 0


def conversation_tenant():
    from apps.tenancy.models import Tenant

    return Tenant.objects.get(slug="acme")


def test_reply_inside_the_window(alice_client, conversation):
    response = alice_client.post(url(conversation, "reply/"), {"body": "On its way!"})
    assert response.status_code == 302
    connection.set_tenant(conversation_tenant())
    reply = Message.objects.get(direction="outbound")
    assert reply.body == "On its way!" and reply.wamid.startswith("wamid.SBX")


def test_window_allows_23h59_and_refuses_24h01(conversation):
    now = timezone.now()
    conversation.last_inbound_at = now - timedelta(hours=23, minutes=59)
    conversation.save()
    assert message_send_text(conversation=conversation, body="ok", at=now).wamid
    conversation.last_inbound_at = now - timedelta(hours=24, minutes=1)
    conversation.save()
    with pytest.raises(WindowClosed):
        message_send_text(conversation=conversation, body="too late", at=now)


def test_closed_window_offers_templates_with_preview(alice_client, conversation):
    Conversation.objects.filter(pk=conversation.pk).update(
        last_inbound_at=timezone.now() - timedelta(days=2)
    )
    template = approved_template()
    page = alice_client.get(url(conversation))
    assert b"The 24-hour window is closed" in page.content
    assert b"order_confirmation" in page.content
    preview = alice_client.post(
        url(conversation, "preview/"), {"template": str(template.pk), "body_1": "Ravi"}
    )
    assert b"Hi Ravi, your order" in preview.content
    sent = alice_client.post(
        url(conversation, "template/"),
        {"template": str(template.pk), "body_1": "Ravi", "body_2": "A-1"},
    )
    assert sent.status_code == 302
    connection.set_tenant(conversation_tenant())
    message = Message.objects.get(direction="outbound")
    assert message.template_name == "order_confirmation"
    assert message.body == "Hi Ravi, your order A-1 has shipped."


def test_free_text_is_refused_when_the_window_is_closed(alice_client, conversation):
    Conversation.objects.filter(pk=conversation.pk).update(
        last_inbound_at=timezone.now() - timedelta(days=2)
    )
    alice_client.post(url(conversation, "reply/"), {"body": "hi"})
    connection.set_tenant(conversation_tenant())
    assert not Message.objects.filter(direction="outbound").exists()


def test_thread_partial_polls(alice_client, conversation):
    part = alice_client.get(url(conversation, "thread/"), HTTP_HX_REQUEST="true")
    assert part.status_code == 200 and b'id="thread-messages"' in part.content
    assert b"<html" not in part.content


def test_viewer_cannot_write(bob_client, conversation):
    assert bob_client.get(url(conversation)).status_code == 200
    assert bob_client.post(url(conversation, "reply/"), {"body": "x"}).status_code == 403
    assert bob_client.post(url(conversation, "template/"), {}).status_code == 403
    connection.set_tenant(conversation_tenant())
    assert not Message.objects.filter(direction="outbound").exists()


def test_outsider_is_rejected(charlie_client, conversation):
    assert charlie_client.get("/acme/inbox/").status_code == 404
    assert charlie_client.get(url(conversation)).status_code == 404
    assert charlie_client.post(url(conversation, "reply/"), {"body": "x"}).status_code == 404
    assert charlie_client.get("/acme/messages/").status_code == 404


def test_messages_log_filters_and_detail(alice_client, conversation):
    log = alice_client.get("/acme/messages/", {"direction": "inbound"})
    assert log.status_code == 200 and b"Hello there" in log.content
    assert b"Hello there" not in alice_client.get("/acme/messages/", {"status": "failed"}).content
    bad = alice_client.get("/acme/messages/", {"after": "not-a-date"})
    assert bad.status_code == 200 and b"ISO 8601" in bad.content
    connection.set_tenant(conversation_tenant())
    message = Message.objects.get()
    detail = alice_client.get(f"/acme/messages/{message.pk}/")
    assert detail.status_code == 200 and b"wamid.P1" in detail.content
    assert alice_client.get("/acme/messages/nope/").status_code == 404
