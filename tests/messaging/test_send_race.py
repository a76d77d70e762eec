"""Concurrent first sends to one number: the conversation upsert of the send path lets each
of them record its message in the one conversation of that number."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from apps.contacts.models import Contact
from apps.messaging.models import Conversation, Message
from apps.messaging.services import message_outbound_record
from apps.webhooks.models import Event

PHONE = "+919999990777"


def _remove_what_the_sends_committed() -> None:
    messages = Message.objects.filter(phone=PHONE)
    ids = [str(pk) for pk in messages.values_list("pk", flat=True)]
    contacts = [str(pk) for pk in Contact.objects.filter(phone=PHONE).values_list("pk", flat=True)]
    Event.objects.filter(data__message_id__in=ids).delete()
    Event.objects.filter(type="contact.created", data__id__in=contacts).delete()
    messages.delete()
    Conversation.objects.filter(phone=PHONE).delete()
    Contact.objects.filter(phone=PHONE).delete()


@pytest.fixture
def committed(workspaces, django_db_blocker):
    """The sends commit on connections of their own, so this test runs outside a test
    transaction (not `transaction=True`, see tests/conftest.py) and removes what they
    committed, before (a run that died) and after."""
    django_db_blocker.unblock()
    acme = workspaces["acme"]
    connection.set_tenant(acme)
    _remove_what_the_sends_committed()
    yield acme
    connection.set_tenant(acme)
    _remove_what_the_sends_committed()
    connection.set_schema_to_public()
    django_db_blocker.restore()


def test_concurrent_first_sends_to_a_number_share_one_conversation(committed):
    acme, senders = committed, 4
    start = threading.Barrier(senders)
    results: list[Message | Exception | None] = [None] * senders

    def send(n: int) -> None:
        try:
            connection.set_tenant(acme)
            start.wait()
            results[n] = message_outbound_record(phone=PHONE, kind="text", body=f"Hi {n}")
        except Exception as error:  # noqa: BLE001  (the test looks at it)
            results[n] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(n,)) for n in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(isinstance(result, Message) for result in results), results
    connection.set_tenant(acme)
    (conversation,) = Conversation.objects.filter(phone=PHONE)
    messages = list(Message.objects.filter(phone=PHONE))
    assert len(messages) == senders
    assert {message.conversation_id for message in messages} == {conversation.pk}
    assert conversation.last_message_at == max(message.created_at for message in messages)
    assert Contact.objects.filter(phone=PHONE).count() == 1
