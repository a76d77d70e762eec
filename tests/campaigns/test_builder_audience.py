"""The builder's audience step beyond groups and sources: an uploaded CSV of phone numbers
(it becomes a group of new or linked contacts) and contacts picked one by one, with the live
recipient count following both."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import schema_context

from apps.campaigns import services
from apps.campaigns.models import AudienceKind, Campaign
from apps.campaigns.services import audience_upload
from apps.contacts.models import Contact, Group, GroupMember
from apps.core.errors import ApplicationError
from apps.webhooks.models import Event
from tests.campaigns.conftest import make_contacts
from tests.campaigns.test_views import form
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db

URL = "/acme/campaigns/new/"


def csv_file(text: str, name: str = "vip.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


def upload(client, data, text, name="vip.csv", **headers):
    return client.post(
        URL, {**data, "action": "upload", "audience_csv": csv_file(text, name)}, **headers
    )


def live_count(client, data) -> int:
    body = client.post(URL, data, HTTP_HX_REQUEST="true").content.decode()
    return int(re.search(r"<h2>(\d+) recipients?</h2>", body).group(1))


# --- CSV upload -------------------------------------------------------------------------------
def test_an_uploaded_csv_becomes_a_checked_group_of_new_and_linked_contacts(
    alice_client, template, group
):
    # Given a known contact and a CSV with her number, two new ones, a repeat and a bad row
    with schema_context("acme"):
        known = ContactFactory(first_name="Asha", phone="+919812340001")
    text = (
        "first_name,phone\n"
        "Asha V,+91 98123 40001\n"
        "Ben,+91 98123 40012\n"
        "Chloe,0091 98123 40023\n"
        "Ben again,+919812340012\n"
        "Nobody,12\n"
    )
    data = {**form(template, group), "groups": []}

    # When it is uploaded (htmx swaps the audience step)
    response = upload(alice_client, data, text, HTTP_HX_REQUEST="true")

    # Then a group holds the three people, the known contact linked and untouched
    assert response.status_code == 200
    assert response["HX-Trigger"] == "audienceChanged"
    body = response.content.decode()
    assert "2 new contacts, 1 already known, 1 row refused" in body
    assert "Line 6:" in body
    with schema_context("acme"):
        created = Group.objects.get(name__startswith="Campaign upload: vip.csv")
        members = set(
            GroupMember.objects.filter(group=created).values_list("contact__phone", flat=True)
        )
        assert members == {"+919812340001", "+919812340012", "+919812340023"}
        known.refresh_from_db()
        assert known.first_name == "Asha"
        ben = Contact.objects.get(phone="+919812340012")
        assert ben.first_name == "Ben" and ben.source.kind == "import"
        # contacts were made by the contacts service: each announced once
        assert Event.objects.filter(type="contact.created").count() == 2
    # and the group comes back checked in the audience step
    assert re.search(rf'value="{created.id}" checked', body)
    # so the live count includes it
    assert live_count(alice_client, {**data, "groups": [str(created.id)]}) == 3


def test_a_csv_of_bare_numbers_names_new_contacts_after_their_number(alice_client, template, group):
    response = upload(alice_client, form(template, group), "+91 98123 40045\n+91 98123 40056\n")

    assert "2 new contacts" in response.content.decode()
    with schema_context("acme"):
        assert Contact.objects.get(phone="+919812340045").first_name == "+919812340045"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Choose a CSV file"),
        ("   \n\n", "The file is empty."),
        ("first_name,email\nAsha,asha@acme.test\n", "No phone column"),
        ("phone\n12\nabc\n", "No row has a valid phone number"),
    ],
)
def test_a_bad_csv_is_refused_inline_and_nothing_typed_is_lost(
    alice_client, template, group, text, message
):
    make_contacts(2, group=group)
    data = {**form(template, group), "description": "May VIPs"}

    if text:
        response = upload(alice_client, data, text)
    else:
        response = alice_client.post(URL, {**data, "action": "upload"})

    body = response.content.decode()
    assert 'id="audience-csv-error"' in body and message in body
    assert 'value="Built in the page"' in body and "May VIPs</textarea>" in body
    assert re.search(rf'value="{group.id}" checked', body)
    with schema_context("acme"):
        assert not Group.objects.filter(name__startswith="Campaign upload").exists()
        assert not Campaign.objects.exists()


def test_a_file_that_is_not_utf8_text_is_refused(template):
    with pytest.raises(ApplicationError, match="not UTF-8"):
        services.campaign_audience_upload(
            uploaded_file=SimpleUploadedFile(
                "x.csv", "phone,first_name\n+91 98123 40001,Zoé\n".encode("latin-1")
            )
        )


def test_too_many_rows_are_refused_with_the_way_out(template, monkeypatch):
    monkeypatch.setattr(audience_upload, "AUDIENCE_CSV_MAX_ROWS", 2)
    text = "phone\n+919812340001\n+919812340012\n+919812340023\n"

    with pytest.raises(ApplicationError, match="Contacts → Import CSV"):
        services.campaign_audience_upload(uploaded_file=csv_file(text))


# --- picked contacts --------------------------------------------------------------------------
def test_the_picker_finds_contacts_and_picked_ones_join_the_count(alice_client, template, group):
    # Given a group of three and two contacts outside it
    make_contacts(3, group=group)
    with schema_context("acme"):
        zoe = ContactFactory(first_name="Zoe", phone="+15559990001")
        ContactFactory(first_name="Zoltan", phone="+15559990002")
    data = form(template, group)

    # When the marketer searches
    response = alice_client.post(
        URL, {**data, "action": "search", "contact_search": "zo"}, HTTP_HX_REQUEST="true"
    )

    # Then both are offered, unpicked
    body = response.content.decode()
    assert body.count('name="contacts"') == 2 and "Zoe" in body and "Zoltan" in body
    assert "checked" not in body

    # When Zoe is picked, the live count includes her
    assert live_count(alice_client, {**data, "contacts": [str(zoe.id)]}) == 4

    # and a new search keeps her picked while showing other matches
    response = alice_client.post(
        URL,
        {**data, "contacts": [str(zoe.id)], "action": "search", "contact_search": "zoltan"},
        HTTP_HX_REQUEST="true",
    )
    body = response.content.decode()
    assert re.search(rf'value="{zoe.id}" checked', body) and "Zoltan" in body


def test_a_search_without_matches_says_so(alice_client, template, group):
    response = alice_client.post(
        URL,
        {**form(template, group), "action": "search", "contact_search": "nobody-like-this"},
        HTTP_HX_REQUEST="true",
    )

    assert "No contact matches" in response.content.decode()


def test_a_campaign_saved_with_picked_contacts_sends_to_them(alice_client, template, group):
    make_contacts(2, group=group)
    with schema_context("acme"):
        zoe = ContactFactory(first_name="Zoe", phone="+15559990001")

    response = alice_client.post(URL, {**form(template, group), "contacts": [str(zoe.id)]})

    assert response.status_code == 302
    with schema_context("acme"):
        campaign = Campaign.objects.get(name="Built in the page")
        assert campaign.audiences.filter(kind=AudienceKind.CONTACT, contact=zoe).exists()
        services.campaign_send_now(campaign=campaign)
        campaign.refresh_from_db()
        assert campaign.total_recipients == 3


def test_an_unknown_picked_contact_is_refused_and_nothing_is_lost(alice_client, template, group):
    response = alice_client.post(
        URL,
        {
            **form(template, group),
            "contacts": ["00000000-0000-4000-8000-000000000000"],
            "description": "Kept",
        },
    )

    assert response.status_code == 200
    body = response.content.decode()
    assert "audience.contacts" in body and "Kept</textarea>" in body
    with schema_context("acme"):
        assert not Campaign.objects.exists()
