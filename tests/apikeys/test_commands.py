from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from apps.apikeys.models import ApiKey
from apps.apikeys.scopes import ALL_SCOPES
from apps.apikeys.services import hash_secret


def run(*args) -> list[str]:
    out = StringIO()
    call_command("create_api_key", *args, stdout=out)
    return out.getvalue().strip().splitlines()


def test_it_prints_the_secret_alone_on_the_last_line(acme):
    lines = run("--tenant", "acme", "--name", "CI")
    secret = lines[-1]
    assert secret.startswith("lk_sk_live_") and len(secret) == len("lk_sk_live_") + 40
    api_key = ApiKey.objects.get(key_hash=hash_secret(secret))
    assert api_key.tenant == acme
    assert api_key.scopes == list(ALL_SCOPES)
    assert secret not in api_key.prefix + api_key.key_hash


def test_the_printed_secret_authenticates(acme):
    secret = run("--tenant", "acme", "--name", "CI", "--mode", "test")[-1]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert client.get("/api/v1/public/me").json()["api_key"]["mode"] == "test"


def test_it_takes_a_scope_list(acme):
    secret = run("--tenant", "acme", "--name", "r", "--scopes", "contacts:read,media:read")[-1]
    assert ApiKey.objects.get(key_hash=hash_secret(secret)).scopes == [
        "contacts:read",
        "media:read",
    ]


def test_it_refuses_unknown_scopes_and_tenants(acme):
    with pytest.raises(CommandError, match="Unknown scope"):
        run("--tenant", "acme", "--name", "x", "--scopes", "contacts:destroy")
    with pytest.raises(CommandError, match="No workspace"):
        run("--tenant", "nowhere", "--name", "x")
