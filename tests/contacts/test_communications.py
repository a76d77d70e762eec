from django_tenants.utils import schema_context

from apps.contacts.models import Contact
from apps.messaging.models import Message


def test_the_contact_page_lists_the_messages_exchanged_with_the_contact(acme, alice_client):
    with schema_context(acme.schema_name):
        contact = Contact.objects.create(first_name="Maya", phone="+14155550142")
        message = Message.objects.create(
            direction="outbound", phone=contact.phone, contact=contact,
            template_name="order_confirmation", wamid="wamid.history-1",
        )  # fmt: skip
        Message.objects.create(direction="outbound", phone="+14155550999", wamid="wamid.other")

    response = alice_client.get(f"/acme/contacts/{contact.pk}/")

    history = response.content.decode().split('id="communications"')[1]
    assert "template order_confirmation" in history
    assert f"/acme/messages/{message.pk}/" in history
    assert "No messages yet" not in history
    assert history.count("<li>") == 1
