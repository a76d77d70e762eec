"""Endpoint rules: URLs that may be saved, subscriptions, secrets."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone
from django_tenants.utils import schema_context

from apps.audit.models import AuditEntry
from apps.core.errors import Conflict, ValidationFailed
from apps.webhooks.models import Endpoint
from apps.webhooks.services.endpoints import (
    endpoint_create,
    endpoint_disable,
    endpoint_enable,
    endpoint_rotate_secret,
    endpoint_send_test,
    endpoint_signing_secrets,
    endpoint_update,
)
from apps.webhooks.ssrf import address_refusal


def create(tenant, url, **kwargs):
    with schema_context(tenant.schema_name):
        return endpoint_create(tenant=tenant, actor=None, url=url, **kwargs)


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.8/hook",
        "http://172.16.4.1/hook",
        "http://192.168.1.10/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://100.64.0.1/hook",
        "http://224.0.0.1/hook",
        "http://0.0.0.0/hook",
        "http://[fc00::1]/hook",
        "http://[fd12:3456::1]/hook",
        "http://[fe80::1]/hook",
        "http://[::ffff:10.0.0.1]/hook",
        "http://[ff02::1]/hook",
    ],
)
def test_internal_addresses_are_refused_when_saved(acme, url):
    with pytest.raises(ValidationFailed) as refused:
        create(acme, url)
    assert "cannot be sent" in refused.value.message
    assert refused.value.field == "url"


@override_settings(WEBHOOKS_ALLOW_LOOPBACK=False)
@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:9000/", "http://[::1]/hook", "http://localhost:8000/hook"]
)
def test_loopback_is_refused_unless_the_setting_allows_it(acme, url):
    with pytest.raises(ValidationFailed, match="loopback"):
        create(acme, url)


def test_loopback_is_allowed_by_the_development_setting(acme):
    assert create(acme, "http://127.0.0.1:9000/hook").url == "http://127.0.0.1:9000/hook"


def test_public_addresses_pass():
    assert address_refusal("93.184.216.34", allow_loopback=False) is None
    assert address_refusal("2606:2800:220:1:248:1893:25c8:1946", allow_loopback=False) is None


@override_settings(WEBHOOKS_REQUIRE_HTTPS=True)
def test_https_is_required_when_the_setting_says_so(acme):
    with pytest.raises(ValidationFailed, match="https://"):
        create(acme, "http://93.184.216.34/hook")
    assert create(acme, "https://93.184.216.34/hook").url.startswith("https://")


@pytest.mark.parametrize(
    "url", ["ftp://93.184.216.34/x", "not a url", "http:///nohost", "https://u:p@93.184.216.34/"]
)
def test_malformed_urls_are_refused(acme, url):
    with pytest.raises(ValidationFailed):
        create(acme, url)


def test_unknown_event_types_are_refused(acme):
    with pytest.raises(ValidationFailed, match="contact.exploded") as refused:
        create(acme, "http://127.0.0.1:9/", event_types=["contact.created", "contact.exploded"])
    assert refused.value.field == "event_types"


def test_the_test_event_cannot_be_subscribed_to(acme):
    with pytest.raises(ValidationFailed):
        create(acme, "http://127.0.0.1:9/", event_types=["webhook.test"])


def test_a_new_endpoint_has_a_standard_webhooks_secret_and_is_audited(acme):
    endpoint = create(acme, "http://127.0.0.1:9/hook", event_types=["message.read"])
    assert endpoint.secret.startswith("whsec_") and len(endpoint.secret) == 6 + 32
    assert endpoint.enabled and endpoint.event_types == ["message.read"]
    with schema_context(acme.schema_name):
        assert AuditEntry.objects.filter(action="webhook.created").exists()


def test_an_update_checks_the_url_again(acme):
    endpoint = create(acme, "http://127.0.0.1:9/hook")
    with schema_context(acme.schema_name), pytest.raises(ValidationFailed):
        endpoint_update(tenant=acme, endpoint=endpoint, actor=None, url="http://10.1.1.1/")
    with schema_context(acme.schema_name):
        endpoint = endpoint_update(
            tenant=acme, endpoint=endpoint, actor=None, description="CRM", event_types=[]
        )
        assert Endpoint.objects.get(pk=endpoint.pk).description == "CRM"


def test_rotation_keeps_the_old_secret_for_24_hours_only(acme):
    endpoint = create(acme, "http://127.0.0.1:9/hook")
    old = endpoint.secret
    now = timezone.now()
    with schema_context(acme.schema_name):
        endpoint_rotate_secret(tenant=acme, endpoint=endpoint, actor=None, now=now)
    assert endpoint.secret != old
    assert endpoint_signing_secrets(endpoint=endpoint, now=now) == [endpoint.secret, old]
    later = now + timedelta(hours=24)
    assert endpoint_signing_secrets(endpoint=endpoint, now=later) == [endpoint.secret]


def test_disable_records_the_reason_and_enable_clears_it(acme):
    endpoint = create(acme, "http://127.0.0.1:9/hook")
    with schema_context(acme.schema_name):
        endpoint_disable(tenant=acme, endpoint=endpoint, actor=None, reason="Maintenance")
        assert Endpoint.objects.get(pk=endpoint.pk).disabled_reason == "Maintenance"
        with pytest.raises(Conflict):
            endpoint_send_test(tenant=acme, endpoint=endpoint, actor=None)
        endpoint_enable(tenant=acme, endpoint=endpoint, actor=None)
        fresh = Endpoint.objects.get(pk=endpoint.pk)
    assert fresh.enabled and fresh.disabled_reason == "" and fresh.disabled_at is None
