import pytest
from django_tenants.utils import schema_context

from apps.contacts.models import Contact, Group, GroupMember, Note, Source
from apps.contacts.services import group_add_contacts, group_create, source_create
from apps.webhooks.models import Event
from tests.contacts.conftest import make_contact
from tests.factories import MembershipFactory


def acme_schema():
    return schema_context("acme")


@pytest.fixture
def contact(acme):
    with acme_schema():
        return make_contact(
            first_name="Anurag", last_name="Sharma", company="Acme Corp", tags=["india"]
        )


@pytest.fixture
def group(acme):
    with acme_schema():
        return group_create(name="VIP")


@pytest.fixture
def marketer_client(acme):
    from django.test import Client

    membership = MembershipFactory(tenant=acme, role="marketer")
    client = Client()
    client.force_login(membership.user, backend="django.contrib.auth.backends.ModelBackend")
    return client


# --- the list -----------------------------------------------------------------------------


def test_the_list_shows_contacts_with_counts(alice_client, contact):
    response = alice_client.get("/acme/contacts/")
    assert response.status_code == 200
    assert b"Anurag Sharma" in response.content
    assert b'<span class="stat-value">1</span>' in response.content


def test_search_as_you_type_answers_htmx_with_the_rows_only(alice_client, contact, acme):
    with acme_schema():
        make_contact(first_name="Lara")
    response = alice_client.get("/acme/contacts/?q=anur", HTTP_HX_REQUEST="true")
    assert response.content.lstrip().startswith(b'<div id="contact-rows">')
    assert b"Anurag" in response.content and b"Lara" not in response.content


def test_the_list_filters_by_tag_group_source_and_opt_out(alice_client, contact, group, acme):
    with acme_schema():
        other = make_contact(first_name="Zoe", tags=["usa"])
        group_add_contacts(group=group, contact_ids=[other.pk])
    assert b"Zoe" not in alice_client.get("/acme/contacts/?tag=india").content
    by_group = alice_client.get(f"/acme/contacts/?group={group.pk}").content
    assert b"Zoe" in by_group and b"Anurag" not in by_group
    assert b"Anurag" not in alice_client.get("/acme/contacts/?opted_out=yes").content
    assert b"No contact matches" in alice_client.get("/acme/contacts/?q=nobody").content
    # A malformed filter is an empty result, not an error.
    assert alice_client.get("/acme/contacts/?group=junk").status_code == 200


def test_the_list_sorts_by_name(alice_client, acme):
    with acme_schema():
        make_contact(first_name="Zed")
        make_contact(first_name="Abe")
    body = alice_client.get("/acme/contacts/?sort=first_name").content
    assert body.index(b"Abe") < body.index(b"Zed")
    body = alice_client.get("/acme/contacts/?sort=-first_name").content
    assert body.index(b"Zed") < body.index(b"Abe")


def test_the_list_paginates(alice_client, acme):
    with acme_schema():
        for n in range(30):
            make_contact(first_name=f"P{n}")
    assert b"Page 2 of 2" in alice_client.get("/acme/contacts/?page=2").content


def test_export_streams_the_filtered_list_as_csv(alice_client, contact, acme):
    with acme_schema():
        make_contact(first_name="Lara", tags=["usa"])
    response = alice_client.get("/acme/contacts/export.csv?tag=india")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    lines = body.strip().splitlines()
    assert lines[0].startswith("id,first_name,last_name,phone")
    assert len(lines) == 2 and "Anurag" in lines[1]


# --- create, edit, detail -----------------------------------------------------------------


def test_a_marketer_creates_a_contact(marketer_client, acme):
    response = marketer_client.post(
        "/acme/contacts/new/",
        {"first_name": "Lara", "phone": "+91 98765 43210", "tags": "a, b"},
    )
    assert response.status_code == 302
    with acme_schema():
        contact = Contact.objects.get(first_name="Lara")
        assert contact.phone == "+919876543210" and contact.tags == ["a", "b"]


def test_the_create_form_shows_errors_inline(alice_client, contact, acme):
    response = alice_client.post("/acme/contacts/new/", {"first_name": "X", "phone": "12"})
    assert response.status_code == 422
    assert b"phone is not a valid number" in response.content
    response = alice_client.post("/acme/contacts/new/", {"first_name": "X", "phone": contact.phone})
    assert response.status_code == 422
    assert b"already uses this phone number" in response.content


def test_editing_a_contact(alice_client, contact, acme):
    response = alice_client.post(
        f"/acme/contacts/{contact.pk}/edit/",
        {"first_name": "Anurag", "last_name": "", "company": "Globex", "tags": "india"},
    )
    assert response.status_code == 302
    with acme_schema():
        contact.refresh_from_db()
    assert contact.company == "Globex" and contact.last_name is None


def test_the_detail_page_shows_profile_groups_notes_and_history(alice_client, contact, group):
    with acme_schema():
        group_add_contacts(group=group, contact_ids=[contact.pk])
    response = alice_client.get(f"/acme/contacts/{contact.pk}/")
    assert response.status_code == 200
    for text in (b"Anurag Sharma", b"VIP", b"Notes", b"Communication history", b"No messages yet"):
        assert text in response.content


def test_tags_and_custom_fields_are_edited_in_place(alice_client, contact, acme):
    response = alice_client.post(
        f"/acme/contacts/{contact.pk}/tags/", {"tags": "india, vip"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert response.content.lstrip().startswith(b'<div id="tags">')
    response = alice_client.post(
        f"/acme/contacts/{contact.pk}/custom-fields/",
        {"custom_fields": "plan: starter\norder_id: 42"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    bad = alice_client.post(
        f"/acme/contacts/{contact.pk}/custom-fields/",
        {"custom_fields": "no colon here"},
        HTTP_HX_REQUEST="true",
    )
    assert bad.status_code == 422 and b"is not" in bad.content
    with acme_schema():
        contact.refresh_from_db()
    assert contact.tags == ["india", "vip"]
    assert contact.custom_fields == {"plan": "starter", "order_id": "42"}


def test_adding_a_note_emits_note_added(alice_client, contact, acme):
    response = alice_client.post(
        f"/acme/contacts/{contact.pk}/notes/", {"body": "Wants a demo"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200 and b"Wants a demo" in response.content
    with acme_schema():
        note = Note.objects.get(contact=contact)
        assert note.author_email == "alice@acme.test"
        assert Event.objects.filter(type="contact.note_added").exists()


def test_opt_out_and_back_in(alice_client, contact, acme):
    alice_client.post(f"/acme/contacts/{contact.pk}/opt-out/", {"reason": "STOP"})
    with acme_schema():
        contact.refresh_from_db()
        assert contact.opted_out_at is not None
    alice_client.post(f"/acme/contacts/{contact.pk}/opt-out/", {"opt_in": "1"})
    with acme_schema():
        contact.refresh_from_db()
        assert contact.opted_out_at is None


def test_archive_hides_the_contact(alice_client, contact, acme):
    response = alice_client.post(f"/acme/contacts/{contact.pk}/archive/")
    assert response.status_code == 302
    assert alice_client.get(f"/acme/contacts/{contact.pk}/").status_code == 404
    assert b"Anurag" not in alice_client.get("/acme/contacts/").content


def test_bulk_actions_from_the_list(alice_client, contact, group, acme):
    with acme_schema():
        other = make_contact(first_name="Zoe")
    ids = [str(contact.pk), str(other.pk)]
    alice_client.post(
        "/acme/contacts/bulk/", {"action": "add_to_group", "group_id": group.pk, "contact_ids": ids}
    )
    alice_client.post(
        "/acme/contacts/bulk/", {"action": "add_tag", "tag": "promo", "contact_ids": ids}
    )
    response = alice_client.post(
        "/acme/contacts/bulk/", {"action": "archive", "contact_ids": [str(other.pk)]}, follow=True
    )
    assert b"Done: archive for 1 contact(s)." in response.content
    with acme_schema():
        assert GroupMember.objects.filter(group=group).count() == 2
        contact.refresh_from_db()
        assert "promo" in contact.tags
        assert Contact.objects.get(pk=other.pk).archived_at is not None


# --- groups and sources -------------------------------------------------------------------


def test_groups_list_create_edit_members_and_delete(alice_client, contact, acme):
    response = alice_client.post("/acme/contacts/groups/new/", {"name": "VIP", "description": ""})
    assert response.status_code == 302
    with acme_schema():
        group = Group.objects.get(name="VIP")
    assert b"VIP" in alice_client.get("/acme/contacts/groups/").content
    duplicate = alice_client.post("/acme/contacts/groups/new/", {"name": "vip"})
    assert duplicate.status_code == 422 and b"already exists" in duplicate.content

    candidates = alice_client.get(
        f"/acme/contacts/groups/{group.pk}/?add=anur", HTTP_HX_REQUEST="true"
    )
    assert b"Anurag" in candidates.content
    alice_client.post(
        f"/acme/contacts/groups/{group.pk}/members/", {"contact_ids": [str(contact.pk)]}
    )
    page = alice_client.get(f"/acme/contacts/groups/{group.pk}/")
    assert b"1 contact" in page.content and b"Anurag" in page.content
    alice_client.post(
        f"/acme/contacts/groups/{group.pk}/members/",
        {"contact_ids": [str(contact.pk)], "remove": "1"},
    )
    alice_client.post(f"/acme/contacts/groups/{group.pk}/edit/", {"name": "VIPs"})
    with acme_schema():
        group.refresh_from_db()
        assert group.name == "VIPs" and not GroupMember.objects.filter(group=group).exists()
    alice_client.post(f"/acme/contacts/groups/{group.pk}/delete/")
    with acme_schema():
        assert not Group.objects.filter(pk=group.pk).exists()
        assert Contact.objects.filter(pk=contact.pk).exists()


def test_sources_list_with_counts_and_create(alice_client, acme):
    with acme_schema():
        source = source_create(name="Website", kind="form")
        make_contact(source_id=str(source.pk))
    page = alice_client.get("/acme/contacts/sources/")
    assert b"Website" in page.content and b"<td>1</td>" in page.content
    alice_client.post("/acme/contacts/sources/new/", {"name": "Trade show", "kind": "manual"})
    with acme_schema():
        assert Source.objects.filter(name="Trade show").exists()


# --- access -------------------------------------------------------------------------------


def page_urls(contact, group):
    return [
        "/acme/contacts/",
        "/acme/contacts/export.csv",
        f"/acme/contacts/{contact.pk}/",
        "/acme/contacts/groups/",
        f"/acme/contacts/groups/{group.pk}/",
        "/acme/contacts/sources/",
    ]


def write_urls(contact, group):
    return [
        ("/acme/contacts/new/", {"first_name": "X"}),
        (f"/acme/contacts/{contact.pk}/edit/", {"first_name": "X"}),
        (f"/acme/contacts/{contact.pk}/tags/", {"tags": "x"}),
        (f"/acme/contacts/{contact.pk}/custom-fields/", {"custom_fields": "a: b"}),
        (f"/acme/contacts/{contact.pk}/groups/", {"group_id": str(group.pk)}),
        (f"/acme/contacts/{contact.pk}/notes/", {"body": "x"}),
        (f"/acme/contacts/{contact.pk}/opt-out/", {}),
        (f"/acme/contacts/{contact.pk}/archive/", {}),
        ("/acme/contacts/bulk/", {"action": "archive", "contact_ids": [str(contact.pk)]}),
        ("/acme/contacts/groups/new/", {"name": "X"}),
        (f"/acme/contacts/groups/{group.pk}/edit/", {"name": "X"}),
        (f"/acme/contacts/groups/{group.pk}/delete/", {}),
        (f"/acme/contacts/groups/{group.pk}/members/", {"contact_ids": [str(contact.pk)]}),
        ("/acme/contacts/sources/new/", {"name": "X", "kind": "form"}),
    ]


def test_a_viewer_reads_every_page(bob_client, contact, group):
    for url in page_urls(contact, group):
        assert bob_client.get(url).status_code == 200, url


def test_a_viewer_cannot_write(bob_client, contact, group, acme):
    for url, data in write_urls(contact, group):
        assert bob_client.post(url, data).status_code == 403, url
    with acme_schema():
        contact.refresh_from_db()
        assert contact.archived_at is None and not Note.objects.exists()
        assert Group.objects.filter(pk=group.pk).exists()


def test_the_outsider_gets_404_everywhere(charlie_client, contact, group):
    for url in page_urls(contact, group):
        assert charlie_client.get(url).status_code == 404, url
    for url, data in write_urls(contact, group):
        assert charlie_client.post(url, data).status_code == 404, url


def test_another_workspaces_contact_is_404_in_mine(charlie_client, contact, globex):
    assert charlie_client.get(f"/globex/contacts/{contact.pk}/").status_code == 404
    assert charlie_client.post(f"/globex/contacts/{contact.pk}/archive/").status_code == 404


def test_anonymous_visitors_are_sent_to_login(client, acme):
    response = client.get("/acme/contacts/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
