"""POST /contacts writes the contact with one INSERT that skips a taken live phone (no
savepoint) and finds the API source in the same statement (issue #9's load)."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context
from rest_framework.renderers import JSONRenderer

from apps.contacts.api.serializers import ContactSerializer
from apps.contacts.events import contact_data
from apps.contacts.models import Contact, Source, SourceKind
from apps.contacts.services import contact_archive, contact_create, source_create
from apps.core.errors import Conflict
from apps.webhooks.models import Event
from tests.contacts.conftest import make_contact, unique_phone

BASE = "/api/v1/public"


@pytest.fixture
def writer(acme, api_client):
    return api_client(acme, scopes=["contacts:read", "contacts:write"])


FULL = {
    "first_name": "Zoë",
    "last_name": "Ñúñez",
    "email": "Zoe@ACME.test",
    "company": "Acme",
    "job_title": "CTO",
    "status": "lead",
    "tags": ["vip", " ünï ", "vip"],
    "custom_fields": {"plan": "pro", "nested": {"b": [1, 2.5, None], "a": True}},
}


@pytest.mark.parametrize("body", [{"first_name": "Bare"}, FULL], ids=["bare", "full"])
def test_the_created_contact_is_what_the_database_holds(writer, acme, body):
    response = writer.post(f"{BASE}/contacts", {**body, "phone": unique_phone()}, format="json")
    assert response.status_code == 201
    with schema_context("acme"):
        stored = Contact.objects.get(pk=response.json()["id"])
        event = Event.objects.get(type="contact.created", data__id=str(stored.pk))
        # The body is the contact as written (custom fields in the order sent, as before).
        assert response.json() == json.loads(JSONRenderer().render(ContactSerializer(stored).data))
        assert event.data == contact_data(stored)
        assert stored.source.kind == SourceKind.API


def test_the_api_source_is_created_once_and_then_found_by_the_insert(writer, acme):
    with schema_context("acme"):
        assert not Source.objects.filter(kind=SourceKind.API).exists()
    first = writer.post(f"{BASE}/contacts", {"first_name": "A"}, format="json").json()
    second = writer.post(f"{BASE}/contacts", {"first_name": "B"}, format="json").json()
    with schema_context("acme"):
        source = Source.objects.get(kind=SourceKind.API)
        assert first["source_id"] == second["source_id"] == str(source.pk)
        assert Contact.objects.get(pk=first["id"]).source_id == source.pk
        events = Event.objects.filter(type="contact.created")
        assert {e.data["source_id"] for e in events} == {str(source.pk)}


def test_a_named_source_is_kept_over_the_api_source(writer, acme):
    with schema_context("acme"):
        source = source_create(name="Fair", kind="form")
    body = writer.post(
        f"{BASE}/contacts", {"first_name": "A", "source_id": str(source.pk)}, format="json"
    ).json()
    assert body["source_id"] == str(source.pk)


def test_a_create_is_one_insert_and_its_event(writer, acme, django_assert_max_num_queries):
    writer.post(f"{BASE}/contacts", {"first_name": "A"}, format="json")  # the API source
    with CaptureQueriesContext(connection) as queries:
        response = writer.post(f"{BASE}/contacts", {**FULL, "phone": unique_phone()}, format="json")
    assert response.status_code == 201
    writes = [q["sql"] for q in queries if q["sql"].startswith(("INSERT", "SELECT", "UPDATE"))]
    assert len(writes) == 2, writes
    assert writes[0].startswith('INSERT INTO "contacts_contact"')
    assert writes[1].startswith('INSERT INTO "webhooks_event"')
    # BEGIN and COMMIT are the test transaction's savepoint and its release here.
    assert len(queries) <= 4, [q["sql"] for q in queries]


def test_a_taken_phone_is_a_conflict_without_a_row_or_event(in_acme):
    taken = make_contact()
    before = Event.objects.count()
    with CaptureQueriesContext(connection) as queries, pytest.raises(Conflict) as raised:
        contact_create(data={"first_name": "Dup", "phone": taken.phone}, from_api=True)
    assert raised.value.details == {"field": "phone", "existing_id": str(taken.pk)}
    # contact_create's own atomic block (a savepoint inside the test's transaction), and no
    # second one around the INSERT.
    assert sum(q["sql"].startswith("SAVEPOINT") for q in queries) == 1
    assert Contact.objects.filter(phone=taken.phone).count() == 1
    assert Event.objects.count() == before
    # An archived contact's phone is free again.
    contact_archive(contact=taken)
    again = contact_create(data={"first_name": "Again", "phone": taken.phone})
    assert again.phone == taken.phone


def test_a_created_contact_behaves_as_a_saved_instance(in_acme):
    contact = contact_create(data={"first_name": "Saved", "phone": unique_phone()})
    assert not contact._state.adding
    contact.first_name = "Renamed"
    contact.save(update_fields=["first_name"])
    assert Contact.objects.get(pk=contact.pk).first_name == "Renamed"
    assert Contact.objects.filter(first_name="Renamed").count() == 1
