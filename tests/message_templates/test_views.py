from __future__ import annotations

import pytest
from django.db import connection

from apps.message_templates.models import MessageTemplate, Status
from apps.tenancy.models import Role
from tests.conftest import logged_in_client
from tests.factories import MembershipFactory

BASE = "/acme/templates/"
BUILDER = {
    "name": "order_confirmation",
    "language": "en_US",
    "category": "UTILITY",
    "header_format": "",
    "body": "Hi {{1}}, your order {{2}} has shipped.",
    "body_examples": "Ana\nA-1001",
    "footer": "Acme",
    "button_0_type": "URL",
    "button_0_text": "Track",
    "button_0_value": "https://acme.test/t/{{1}}",
    "button_0_example": "A-1001",
}


def rows(acme):
    connection.set_tenant(acme)
    return MessageTemplate.objects.all()


def make(acme, name="alpha", status=Status.APPROVED, **fields) -> MessageTemplate:
    connection.set_tenant(acme)
    values = {
        "name": name,
        "language": "en_US",
        "category": "MARKETING",
        "components": [
            {"type": "BODY", "text": "Hello {{1}}!", "example": {"body_text": [["Ana"]]}},
            {"type": "FOOTER", "text": "Acme footer"},
        ],
        "status": status,
        "meta_id": f"m-{name}",
    }
    values.update(fields)
    return MessageTemplate.objects.create(**values)


def test_the_list_shows_status_badges_and_filters(alice_client, acme):
    make(acme, "alpha")
    make(acme, "beta", status=Status.REJECTED)

    page = alice_client.get(BASE)
    assert b"status-approved" in page.content and b"status-rejected" in page.content

    filtered = alice_client.get(BASE, {"status": "REJECTED"}, HTTP_HX_REQUEST="true")
    assert b"beta" in filtered.content and b"alpha" not in filtered.content
    assert b"<html" not in filtered.content  # only the rows partial


def test_the_builder_submits_a_template(alice_client, acme, cloud_account, fake_graph):
    response = alice_client.post(f"{BASE}new/", BUILDER)

    assert response.status_code == 302
    template = rows(acme).get()
    assert template.status == Status.PENDING
    assert [c["type"] for c in template.components] == ["BODY", "FOOTER", "BUTTONS"]
    assert template.components[0]["example"] == {"body_text": [["Ana", "A-1001"]]}
    assert template.components[2]["buttons"][0]["example"] == ["A-1001"]
    assert fake_graph.counts["templates_create"] == 1


def test_the_builder_maps_rule_errors_to_its_fields(alice_client, acme, cloud_account):
    response = alice_client.post(f"{BASE}new/", {**BUILDER, "body_examples": "Ana"})
    assert response.status_code == 422
    assert b"give an example value for every placeholder" in response.content
    assert not rows(acme).exists()


def test_the_builder_page_has_the_live_preview(alice_client, acme):
    page = alice_client.get(f"{BASE}new/")
    assert b'data-preview="body"' in page.content
    assert b"js/template_builder.js" in page.content


def test_the_detail_shows_the_preview_with_examples(bob_client, acme):
    template = make(acme)
    page = bob_client.get(f"{BASE}{template.id}/")
    assert page.status_code == 200
    assert b"Hello Ana!" in page.content and b"Acme footer" in page.content
    assert b"&quot;type&quot;: &quot;FOOTER&quot;" in page.content  # the components, as JSON


def test_the_preview_applies_whatsapp_markup_safely(bob_client, acme):
    template = make(
        acme,
        components=[
            {"type": "BODY", "text": "Hi *{{1}}* <b>x</b>", "example": {"body_text": [["Ana"]]}}
        ],
    )
    page = bob_client.get(f"{BASE}{template.id}/")
    assert b"Hi <strong>Ana</strong> &lt;b&gt;x&lt;/b&gt;" in page.content


def test_delete(alice_client, acme, cloud_account, fake_graph):
    alice_client.post(f"{BASE}new/", BUILDER)
    template = rows(acme).get()
    response = alice_client.post(f"{BASE}{template.id}/delete/")
    assert response.status_code == 302
    connection.set_tenant(acme)
    assert not MessageTemplate.objects.exists()


def test_sync(alice_client, acme, cloud_account, fake_graph):
    fake_graph.templates["102290129340398"] = [
        {"id": "77", "name": "from_meta", "language": "en", "category": "UTILITY",
         "status": "APPROVED", "components": [{"type": "BODY", "text": "Hi"}]}
    ]  # fmt: skip
    response = alice_client.post(f"{BASE}sync/", follow=True)
    assert b"1 new" in response.content
    connection.set_tenant(acme)
    assert MessageTemplate.objects.get().name == "from_meta"


def test_sync_without_an_account_says_so(alice_client, acme):
    response = alice_client.post(f"{BASE}sync/", follow=True)
    assert b"No active WABA account" in response.content


def test_it_rejects_the_outsider(charlie_client, acme):
    template = make(acme)
    assert charlie_client.get(BASE).status_code == 404
    assert charlie_client.get(f"{BASE}{template.id}/").status_code == 404
    assert charlie_client.post(f"{BASE}{template.id}/delete/").status_code == 404
    connection.set_tenant(acme)
    assert MessageTemplate.objects.filter(pk=template.pk).exists()


@pytest.mark.parametrize("path", ["new/", "sync/", "{id}/delete/"])
def test_a_viewer_cannot_write(bob_client, acme, path):
    template = make(acme)
    response = bob_client.post(BASE + path.format(id=template.id), BUILDER)
    assert response.status_code == 403
    connection.set_tenant(acme)
    assert MessageTemplate.objects.filter(pk=template.pk).exists()


def test_a_marketer_can_build(acme, cloud_account, fake_graph):
    marketer = MembershipFactory(tenant=acme, role=Role.MARKETER).user
    response = logged_in_client(marketer).post(f"{BASE}new/", BUILDER)
    assert response.status_code == 302
