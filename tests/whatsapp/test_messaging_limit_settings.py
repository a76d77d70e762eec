"""Settings → WhatsApp records the account's messaging limit tier (admins only)."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from apps.audit.models import AuditEntry
from apps.whatsapp.models import WhatsAppAccount
from tests.factories import OutboundMessageFactory

pytestmark = pytest.mark.django_db

URL = "/acme/settings/whatsapp/messaging-limit/"


def limit_now() -> int | None:
    with schema_context("acme"):
        return WhatsAppAccount.objects.get(is_active=True).messaging_limit


def test_a_new_account_is_unlimited_and_the_page_shows_the_usage(alice_client, cloud_account):
    OutboundMessageFactory.create_batch(3)

    page = alice_client.get("/acme/settings/whatsapp/").content.decode()

    assert limit_now() is None
    assert "Unlimited · 3 people reached in the last 24 h" in page
    assert 'name="messaging_limit"' in page


def test_an_admin_sets_the_tier_and_it_is_audited(alice_client, cloud_account):
    OutboundMessageFactory.create_batch(3)

    response = alice_client.post(URL, {"messaging_limit": "2000"})

    assert response.status_code == 302
    assert limit_now() == 2000
    page = alice_client.get("/acme/settings/whatsapp/").content.decode()
    assert "2,000 people per 24 h · 3 used, 1997 left in the last 24 h" in page
    with schema_context("acme"):
        entry = AuditEntry.objects.get(action="whatsapp.messaging_limit_changed")
    assert entry.details == {"from": None, "to": 2000}


def test_it_goes_back_to_unlimited(alice_client, cloud_account):
    cloud_account.messaging_limit = 250
    cloud_account.save()

    alice_client.post(URL, {"messaging_limit": "unlimited"})

    assert limit_now() is None


@pytest.mark.parametrize("value", ["300", "lots", "-250"])
def test_it_refuses_a_value_that_is_not_a_tier_inline_and_changes_nothing(
    alice_client, cloud_account, value
):
    cloud_account.messaging_limit = 250
    cloud_account.save()

    response = alice_client.post(URL, {"messaging_limit": value})

    assert response.status_code == 422
    body = response.content.decode()
    assert 'id="messaging-limit-error"' in body
    assert "tiers (250, 2,000, 10,000, 100,000) or unlimited" in body
    assert limit_now() == 250


def test_a_viewer_cannot_change_the_tier(bob_client, cloud_account):
    response = bob_client.post(URL, {"messaging_limit": "2000"})

    assert response.status_code == 403
    assert limit_now() is None


def test_it_rejects_the_outsider(charlie_client, cloud_account):
    response = charlie_client.post(URL, {"messaging_limit": "2000"})

    assert response.status_code in (403, 404)
    assert limit_now() is None
