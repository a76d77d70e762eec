from __future__ import annotations

import pytest
from django.db import connection

from apps.whatsapp.models import WhatsAppAccount
from tests.whatsapp.fixtures import CLOUD_TOKEN

BASE = "/acme/settings/whatsapp/"
CLOUD = {
    "waba_id": "102290129340398",
    "phone_number_id": "106540352242922",
    "display_phone_number": "+1 555 010 2922",
    "access_token": CLOUD_TOKEN,
    "throughput_per_second": "80",
}


def accounts(acme):
    connection.set_tenant(acme)
    return WhatsAppAccount.objects.filter(is_active=True)


def test_an_admin_sees_the_connect_choices(alice_client):
    response = alice_client.get(BASE)
    assert response.status_code == 200
    assert b"No active WABA account" in response.content
    assert b"Use the sandbox" in response.content


def test_it_connects_a_cloud_account_and_never_shows_the_token(alice_client, acme, fake_graph):
    response = alice_client.post(f"{BASE}cloud/", CLOUD)
    assert response.status_code == 302

    page = alice_client.get(BASE)
    assert b"106540352242922" in page.content
    assert CLOUD_TOKEN.encode() not in page.content
    assert accounts(acme).get().access_token == CLOUD_TOKEN


def test_an_invalid_cloud_form_shows_the_errors(alice_client, acme):
    response = alice_client.post(f"{BASE}cloud/", {**CLOUD, "waba_id": "not-a-number"})
    assert response.status_code == 422
    assert b"numeric id" in response.content
    assert CLOUD_TOKEN.encode() not in response.content  # not echoed back
    assert not accounts(acme).exists()


def test_it_connects_the_sandbox(alice_client, acme):
    assert alice_client.post(f"{BASE}sandbox/").status_code == 302
    assert accounts(acme).get().provider == "sandbox"


def test_test_connection_shows_what_came_back(alice_client, acme, fake_graph):
    alice_client.post(f"{BASE}cloud/", CLOUD)

    response = alice_client.post(f"{BASE}test/", HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert b"Connection works" in response.content
    assert b"Fake Business" in response.content
    assert fake_graph.counts["phone_number"] == 1


def test_test_connection_explains_a_failure(alice_client, acme, fake_graph):
    alice_client.post(f"{BASE}cloud/", CLOUD)
    fake_graph.config.expired_tokens.add(CLOUD_TOKEN)

    response = alice_client.post(f"{BASE}test/", HTTP_HX_REQUEST="true")

    assert b"Access token expired or invalid" in response.content
    assert b"Meta error 190" in response.content


def test_it_disconnects(alice_client, acme):
    alice_client.post(f"{BASE}sandbox/")
    assert alice_client.post(f"{BASE}disconnect/").status_code == 302
    assert not accounts(acme).exists()


@pytest.mark.parametrize("path", ["", "cloud/", "sandbox/", "test/", "disconnect/"])
def test_it_rejects_the_outsider(charlie_client, path):
    response = charlie_client.post(f"{BASE}{path}") if path else charlie_client.get(BASE)
    assert response.status_code == 404


@pytest.mark.parametrize("path", ["", "cloud/", "sandbox/", "test/", "disconnect/"])
def test_a_viewer_cannot_manage_whatsapp(bob_client, acme, path):
    response = bob_client.post(f"{BASE}{path}", CLOUD) if path else bob_client.get(BASE)
    assert response.status_code == 403
    assert not accounts(acme).exists()
