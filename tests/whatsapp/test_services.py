from __future__ import annotations

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from apps.audit.models import AuditEntry
from apps.core.errors import Conflict, ValidationFailed
from apps.whatsapp.models import WhatsAppAccount
from apps.whatsapp.providers import CloudProvider
from apps.whatsapp.routing.models import PhoneNumberRoute
from apps.whatsapp.sandbox import SandboxProvider
from apps.whatsapp.selectors import tenant_for_phone_number_id, whatsapp_account_active
from apps.whatsapp.services import (
    NoActiveWaba,
    whatsapp_account_connect_cloud,
    whatsapp_account_connect_sandbox,
    whatsapp_account_disconnect,
    whatsapp_account_test_connection,
    whatsapp_provider_get,
)
from tests.whatsapp.fixtures import CLOUD_TOKEN


def test_the_token_is_encrypted_at_rest(cloud_account):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT access_token_encrypted FROM whatsapp_whatsappaccount WHERE id = %s",
            [cloud_account.id],
        )
        (stored,) = cursor.fetchone()

    assert CLOUD_TOKEN not in stored
    assert stored.startswith("gAAAA")  # a Fernet token
    assert WhatsAppAccount.objects.get().access_token == CLOUD_TOKEN


def test_a_token_cannot_be_read_with_another_key(cloud_account, settings):
    settings.FIELD_ENCRYPTION_KEY = "another-key"
    with pytest.raises(ValueError):
        WhatsAppAccount.objects.get().access_token  # noqa: B018


def test_the_phone_number_id_routes_to_the_workspace(cloud_account, acme):
    with schema_context("public"):
        assert tenant_for_phone_number_id(phone_number_id="106540352242922") == acme
    assert AuditEntry.objects.filter(action="whatsapp.connected").exists()


def test_only_one_account_is_active(cloud_account, acme, alice):
    with pytest.raises(Conflict):
        whatsapp_account_connect_sandbox(tenant=acme, actor=alice)


def test_a_phone_number_id_belongs_to_one_workspace(cloud_account, globex, charlie):
    connection.set_tenant(globex)
    with pytest.raises(Conflict) as caught:
        whatsapp_account_connect_cloud(
            tenant=globex,
            waba_id="1",
            phone_number_id="106540352242922",
            access_token=CLOUD_TOKEN,
            actor=charlie,
        )
    assert caught.value.field == "phone_number_id"
    assert not WhatsAppAccount.objects.exists()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"waba_id": "abc"}, "waba_id"),
        ({"phone_number_id": ""}, "phone_number_id"),
        ({"access_token": "short"}, "access_token"),
        ({"throughput_per_second": 0}, "throughput_per_second"),
        ({"throughput_per_second": 5000}, "throughput_per_second"),
    ],
)
def test_cloud_details_are_validated(acme, alice, changes, field):
    connection.set_tenant(acme)
    fields = {
        "waba_id": "1",
        "phone_number_id": "2",
        "access_token": CLOUD_TOKEN,
        "throughput_per_second": 80,
        **changes,
    }
    with pytest.raises(ValidationFailed) as caught:
        whatsapp_account_connect_cloud(tenant=acme, actor=alice, **fields)
    assert caught.value.field == field


def test_disconnect_forgets_the_token_and_releases_the_number(cloud_account, acme, alice):
    account = whatsapp_account_disconnect(tenant=acme, account=cloud_account, actor=alice)

    assert not account.is_active and account.disconnected_at
    assert account.access_token_encrypted == ""
    assert not PhoneNumberRoute.objects.filter(phone_number_id="106540352242922").exists()
    assert whatsapp_account_active() is None
    with pytest.raises(Conflict):
        whatsapp_account_disconnect(tenant=acme, account=cloud_account, actor=alice)


def test_without_an_account_there_is_no_provider(acme):
    connection.set_tenant(acme)
    with pytest.raises(NoActiveWaba) as caught:
        whatsapp_provider_get()
    assert (caught.value.status, caught.value.code) == (404, "no_active_waba")


def test_live_mode_uses_the_cloud_and_test_mode_the_sandbox(cloud_account):
    assert isinstance(whatsapp_provider_get(mode="live"), CloudProvider)
    assert isinstance(whatsapp_provider_get(mode="test"), SandboxProvider)


def test_a_sandbox_account_always_uses_the_sandbox(sandbox_account):
    assert isinstance(whatsapp_provider_get(mode="live"), SandboxProvider)


def test_test_connection_keeps_what_the_graph_api_answered(cloud_account, fake_graph):
    result = whatsapp_account_test_connection(account=cloud_account)

    assert result["ok"] is True
    assert result["verified_name"] == "Fake Business"
    cloud_account.refresh_from_db()
    assert cloud_account.last_check_ok is True
    assert cloud_account.verified_name == "Fake Business"
    assert fake_graph.counts["phone_number"] == 1


def test_test_connection_reports_an_expired_token(cloud_account, fake_graph):
    fake_graph.config.expired_tokens.add(CLOUD_TOKEN)

    result = whatsapp_account_test_connection(account=cloud_account)

    assert result["ok"] is False
    assert result["meta_code"] == 190
    assert "token" in result["fix"]
    cloud_account.refresh_from_db()
    assert cloud_account.last_check_ok is False
