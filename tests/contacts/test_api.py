import uuid

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from apps.contacts.models import Contact, GroupMember
from apps.contacts.services import group_add_contacts, group_create, source_create
from apps.webhooks.models import Event
from tests.contacts.conftest import make_contact

BASE = "/api/v1/public"


@pytest.fixture
def writer(acme, api_client):
    return api_client(acme, scopes=["contacts:read", "contacts:write"])


@pytest.fixture
def reader(acme, api_client):
    return api_client(acme, scopes=["contacts:read"])


@pytest.fixture
def outsider(globex, api_client):
    return api_client(globex, scopes=["contacts:read", "contacts:write"])


def in_acme():
    return schema_context("acme")


def error_of(response):
    return response.json()["error"]


# --- contacts: create ---------------------------------------------------------------------


def test_create_returns_the_contact_in_e164_and_emits_created(writer):
    response = writer.post(
        f"{BASE}/contacts",
        {
            "first_name": "Anurag",
            "last_name": "Sharma",
            "phone": "+91 99999 99999",
            "email": "anurag@acme.test",
            "tags": ["india", "saas"],
            "custom_fields": {"plan": "starter"},
        },
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert body["phone"] == "+919999999999"
    assert body["tags"] == ["india", "saas"]
    assert body["updated_at"] is None
    assert set(body) >= {
        "id", "first_name", "last_name", "phone", "email", "company", "job_title", "status",
        "tags", "custom_fields", "created_at", "updated_at", "source_id",
    }  # fmt: skip
    with in_acme():
        assert Event.objects.filter(type="contact.created", data__id=body["id"]).exists()


def test_create_without_first_name_is_400(writer):
    response = writer.post(f"{BASE}/contacts", {"last_name": "x"}, format="json")
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_request"


def test_create_with_malformed_json_is_400(writer):
    response = writer.post(f"{BASE}/contacts", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_request"


@pytest.mark.parametrize(
    "body, field",
    [
        ({"first_name": ""}, "first_name"),
        ({"first_name": "A", "phone": "12"}, "phone"),
        ({"first_name": "A", "email": "nope"}, "email"),
        ({"first_name": "A", "tags": "x" * 70}, "tags"),
        ({"first_name": "A", "custom_fields": [1]}, "custom_fields"),
        ({"first_name": "A", "source_id": str(uuid.uuid4())}, "source_id"),
        ({"first_name": "A", "favourite_colour": "red"}, "favourite_colour"),
    ],
)
def test_invalid_fields_are_422_with_field_details(writer, body, field):
    response = writer.post(f"{BASE}/contacts", body, format="json")
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "validation_error"
    assert error["details"][0]["field"] == field


def test_a_duplicate_phone_is_409_with_the_existing_id(writer, acme):
    with in_acme():
        existing = make_contact(phone="+919999999999")
    response = writer.post(
        f"{BASE}/contacts", {"first_name": "B", "phone": "919999999999"}, format="json"
    )
    assert response.status_code == 409
    assert error_of(response)["details"]["existing_id"] == str(existing.pk)


def test_api_created_contacts_record_the_api_source(writer):
    body = writer.post(f"{BASE}/contacts", {"first_name": "A"}, format="json").json()
    with in_acme():
        assert Contact.objects.get(pk=body["id"]).source.kind == "api"


# --- contacts: list, search ---------------------------------------------------------------


def test_list_paginates_with_the_documented_envelope(reader, acme):
    with in_acme():
        for n in range(25):
            make_contact(first_name=f"P{n}")
    response = reader.get(f"{BASE}/contacts?page=2&limit=20")
    assert response.status_code == 200
    body = response.json()
    assert len(body["data"]) == 5
    assert body["pagination"] == {
        "page": 2, "limit": 20, "total_items": 25, "total_pages": 2,
        "has_next": False, "has_prev": True,
    }  # fmt: skip


def test_list_searches_and_filters_by_status(reader, acme):
    with in_acme():
        anurag = make_contact(first_name="Anurag", company="Acme Corp", status="lead")
        make_contact(first_name="Lara", company="Acme Corp", status="customer")
        make_contact(first_name="Zed", company="Other")
    body = reader.get(f"{BASE}/contacts?search=acme&status=lead").json()
    assert [c["id"] for c in body["data"]] == [str(anurag.pk)]
    assert reader.get(f"{BASE}/contacts?search=acme").json()["pagination"]["total_items"] == 2


def test_structured_search_filters_by_tag_group_and_source(reader, acme):
    with in_acme():
        source = source_create(name="Form", kind="form")
        group = group_create(name="VIP")
        a = make_contact(first_name="Anurag", tags=["india"], source_id=str(source.pk))
        b = make_contact(first_name="Anil", tags=["india"])
        group_add_contacts(group=group, contact_ids=[b.pk])

    def ids(body):
        response = reader.post(f"{BASE}/contacts/search?limit=10", body, format="json")
        assert response.status_code == 200
        return {c["id"] for c in response.json()["data"]}

    assert ids({"search_term": "an", "tag": "india"}) == {str(a.pk), str(b.pk)}
    assert ids({"group_id": str(group.pk)}) == {str(b.pk)}
    assert ids({"source_id": str(source.pk)}) == {str(a.pk)}
    bad = reader.post(f"{BASE}/contacts/search", {"status": 5}, format="json")
    assert bad.status_code == 422


def test_a_bad_limit_is_422(reader):
    assert reader.get(f"{BASE}/contacts?limit=0").status_code == 422


# --- contacts: bulk -----------------------------------------------------------------------


def test_bulk_reports_failures_by_index_and_creates_the_rest(writer):
    response = writer.post(
        f"{BASE}/contacts/bulk",
        {
            "contacts": [
                {"first_name": "Anurag", "phone": "+919999999999"},
                {"first_name": "Lara", "email": "lara@acme.test"},
                {"first_name": ""},
            ]
        },
        format="json",
    )
    assert response.status_code == 201
    assert response.json() == {
        "total": 3,
        "created": 2,
        "failed": 1,
        "errors": [{"index": 2, "error": "first_name must be at least 1 character"}],
    }


def test_bulk_of_more_than_100_is_422(writer):
    response = writer.post(
        f"{BASE}/contacts/bulk", {"contacts": [{"first_name": "x"}] * 101}, format="json"
    )
    assert response.status_code == 422


def test_bulk_without_contacts_is_400(writer):
    assert writer.post(f"{BASE}/contacts/bulk", {}, format="json").status_code == 400


# --- contacts: get, patch, delete ---------------------------------------------------------


def test_get_patch_and_delete_a_contact(writer, acme):
    with in_acme():
        contact = make_contact(first_name="Anurag", company="Acme", status="lead")
    url = f"{BASE}/contacts/{contact.pk}"
    assert writer.get(url).json()["company"] == "Acme"

    patched = writer.patch(url, {"status": "customer", "company": None}, format="json")
    assert patched.status_code == 200
    assert patched.json()["status"] == "customer"
    assert patched.json()["company"] is None
    assert patched.json()["first_name"] == "Anurag"
    assert patched.json()["updated_at"] is not None

    deleted = writer.delete(url)
    assert deleted.status_code == 200 and deleted.json() == {"message": "Contact deleted"}
    assert writer.get(url).status_code == 404
    assert writer.delete(url).status_code == 404
    with in_acme():
        assert Contact.objects.filter(pk=contact.pk).exists()  # history kept
        types = set(Event.objects.filter(data__id=str(contact.pk)).values_list("type", flat=True))
    assert types == {"contact.created", "contact.updated", "contact.deleted"}


def test_patch_to_a_taken_phone_is_409(writer, acme):
    with in_acme():
        taken = make_contact()
        other = make_contact()
    response = writer.patch(f"{BASE}/contacts/{other.pk}", {"phone": taken.phone}, format="json")
    assert response.status_code == 409


def test_patch_clearing_first_name_is_422(writer, acme):
    with in_acme():
        contact = make_contact()
    response = writer.patch(f"{BASE}/contacts/{contact.pk}", {"first_name": None}, format="json")
    assert response.status_code == 422


@pytest.mark.parametrize("contact_id", ["not-a-uuid", "8d3c6f1e-2b4a-4c5d-9e7f-0a1b2c3d4e5f"])
def test_unknown_contact_ids_are_404(reader, contact_id):
    response = reader.get(f"{BASE}/contacts/{contact_id}")
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


# --- groups ------------------------------------------------------------------------------


def test_group_lifecycle_and_membership(writer, acme):
    with in_acme():
        a, b = make_contact(), make_contact()
    created = writer.post(f"{BASE}/groups", {"name": "VIP", "description": "Top"}, format="json")
    assert created.status_code == 201
    group = created.json()
    assert set(group) == {"id", "name", "description", "contact_count", "created_at", "updated_at"}
    url = f"{BASE}/groups/{group['id']}"

    stranger = str(uuid.uuid4())
    added = writer.post(
        f"{url}/contacts", {"contact_ids": [str(a.pk), str(b.pk), stranger]}, format="json"
    )
    assert added.json() == {"added": 2, "unchanged": 0, "unknown_ids": [stranger]}
    assert writer.get(url).json()["contact_count"] == 2
    members = writer.get(f"{url}/contacts").json()
    assert {c["id"] for c in members["data"]} == {str(a.pk), str(b.pk)}

    removed = writer.delete(f"{url}/contacts", {"contact_ids": [str(a.pk)]}, format="json")
    assert removed.json() == {"removed": 1, "unchanged": 0, "unknown_ids": []}

    renamed = writer.patch(url, {"name": "VIPs"}, format="json")
    assert renamed.json()["name"] == "VIPs"
    assert writer.get(f"{BASE}/groups").json()["pagination"]["total_items"] == 1
    assert writer.delete(url).json() == {"message": "Group deleted"}
    assert writer.get(url).status_code == 404
    with in_acme():
        assert Contact.objects.filter(pk=b.pk).exists()
        assert not GroupMember.objects.exists()


def test_group_errors(writer, acme):
    assert writer.post(f"{BASE}/groups", {}, format="json").status_code == 400
    assert writer.post(f"{BASE}/groups", {"name": " "}, format="json").status_code == 422
    writer.post(f"{BASE}/groups", {"name": "VIP"}, format="json")
    assert writer.post(f"{BASE}/groups", {"name": "vip"}, format="json").status_code == 409
    group_id = writer.get(f"{BASE}/groups").json()["data"][0]["id"]
    too_many = {"contact_ids": [str(uuid.uuid4()) for _ in range(1001)]}
    response = writer.post(f"{BASE}/groups/{group_id}/contacts", too_many, format="json")
    assert response.status_code == 422
    response = writer.post(f"{BASE}/groups/{group_id}/contacts", {}, format="json")
    assert response.status_code == 400


# --- sources -----------------------------------------------------------------------------


def test_sources_create_list_and_get(writer, acme):
    created = writer.post(f"{BASE}/sources", {"name": "Website", "kind": "form"}, format="json")
    assert created.status_code == 201
    source = created.json()
    assert set(source) == {"id", "name", "kind", "contact_count", "created_at"}
    writer.post(f"{BASE}/contacts", {"first_name": "A", "source_id": source["id"]}, format="json")
    assert writer.get(f"{BASE}/sources/{source['id']}").json()["contact_count"] == 1
    names = {s["name"] for s in writer.get(f"{BASE}/sources").json()["data"]}
    assert "Website" in names
    bad = writer.post(f"{BASE}/sources", {"name": "X", "kind": "carrier pigeon"}, format="json")
    assert bad.status_code == 422
    assert writer.get(f"{BASE}/sources/{uuid.uuid4()}").status_code == 404


# --- scopes and isolation ----------------------------------------------------------------


@pytest.mark.parametrize(
    "method, path",
    [
        ("post", "contacts"),
        ("post", "contacts/bulk"),
        ("patch", "contacts/{contact}"),
        ("delete", "contacts/{contact}"),
        ("post", "groups"),
        ("patch", "groups/{group}"),
        ("delete", "groups/{group}"),
        ("post", "groups/{group}/contacts"),
        ("delete", "groups/{group}/contacts"),
        ("post", "sources"),
    ],
)
def test_a_read_only_key_cannot_write(reader, acme, method, path):
    with in_acme():
        contact = make_contact()
        group = group_create(name="G")
    url = f"{BASE}/" + path.format(contact=contact.pk, group=group.pk)
    response = getattr(reader, method)(url, {"first_name": "x"}, format="json")
    assert response.status_code == 403
    assert error_of(response)["code"] == "insufficient_scope"


def test_a_key_without_contact_scopes_cannot_read(acme, api_client):
    client = api_client(acme, scopes=["templates:read"])
    assert client.get(f"{BASE}/contacts").status_code == 403
    assert client.post(f"{BASE}/contacts/search", {}, format="json").status_code == 403
    assert client.get(f"{BASE}/groups").status_code == 403
    assert client.get(f"{BASE}/sources").status_code == 403


def test_requests_without_a_key_are_401(db):
    from rest_framework.test import APIClient

    assert APIClient().get(f"{BASE}/contacts").status_code == 401


@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "contacts/{contact}"),
        ("patch", "contacts/{contact}"),
        ("delete", "contacts/{contact}"),
        ("get", "groups/{group}"),
        ("patch", "groups/{group}"),
        ("delete", "groups/{group}"),
        ("get", "groups/{group}/contacts"),
        ("post", "groups/{group}/contacts"),
        ("delete", "groups/{group}/contacts"),
        ("get", "sources/{source}"),
    ],
)
def test_another_workspaces_ids_are_404(outsider, acme, method, path):
    with in_acme():
        contact = make_contact()
        group = group_create(name="G")
        source = source_create(name="S")
    url = f"{BASE}/" + path.format(contact=contact.pk, group=group.pk, source=source.pk)
    response = getattr(outsider, method)(url, {"contact_ids": [str(contact.pk)]}, format="json")
    assert response.status_code == 404
    with in_acme():
        assert Contact.objects.get(pk=contact.pk).archived_at is None


def test_another_workspaces_contacts_never_appear_in_lists(outsider, acme):
    with in_acme():
        make_contact(first_name="Secret")
    assert outsider.get(f"{BASE}/contacts?search=secret").json()["data"] == []
    body = outsider.post(f"{BASE}/contacts/search", {"search_term": "secret"}, format="json")
    assert body.json()["data"] == []
    connection.set_schema_to_public()
