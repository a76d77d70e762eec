"""Shared fixtures. Two workspaces exist for the whole run (cloning a schema costs ~0.2 s, so
they are made once); every test runs in a transaction that is rolled back, so what a test
writes into them disappears after it.

The people, as in healthchecks' tests: alice owns acme, bob is a viewer in acme, charlie owns
globex and is an outsider to acme.
"""

import pytest
import redis
from django.conf import settings
from django.db import connection
from django.test import Client

from apps.tenancy.models import Role, Tenant
from apps.tenancy.plans import Plan
from apps.tenancy.services import tenant_create
from tests.factories import PASSWORD, MembershipFactory


def pytest_collection_modifyitems(items):
    """Refuse `django_db(transaction=True)`: pytest-django empties every table after such a
    test, the two workspaces every later test in the process relies on included (they then
    fail with "Tenant matching query does not exist", far from the cause). Tests that need
    committed rows unblock the database themselves and remove what they wrote (see
    tests/messaging/test_callback_writer.py)."""
    for item in items:
        marker = item.get_closest_marker("django_db")
        if marker is not None and marker.kwargs.get("transaction"):
            raise pytest.UsageError(
                f"{item.nodeid}: django_db(transaction=True) would empty the shared "
                "workspaces; commit with django_db_blocker.unblock() and clean up instead."
            )


@pytest.fixture(scope="session", autouse=True)
def clean_test_redis():
    redis.Redis.from_url(settings.REDIS_URL).flushdb()
    yield


@pytest.fixture(scope="session")
def workspaces(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        existing = {t.slug: t for t in Tenant.objects.filter(slug__in=["acme", "globex"])}
        acme = existing.get("acme") or tenant_create(slug="acme", name="Acme", plan=Plan.PRO)
        globex = existing.get("globex") or tenant_create(slug="globex", name="Globex")
    return {"acme": acme, "globex": globex}


@pytest.fixture
def acme(workspaces, db):
    tenant = Tenant.objects.get(slug="acme")
    yield tenant
    connection.set_schema_to_public()


@pytest.fixture
def globex(workspaces, db):
    tenant = Tenant.objects.get(slug="globex")
    yield tenant
    connection.set_schema_to_public()


@pytest.fixture
def alice(acme):
    return MembershipFactory(tenant=acme, role=Role.OWNER, user__email="alice@acme.test").user


@pytest.fixture
def bob(acme):
    return MembershipFactory(tenant=acme, role=Role.VIEWER, user__email="bob@acme.test").user


@pytest.fixture
def charlie(globex):
    return MembershipFactory(tenant=globex, role=Role.OWNER, user__email="charlie@globex.test").user


def logged_in_client(user) -> Client:
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


@pytest.fixture
def alice_client(alice):
    return logged_in_client(alice)


@pytest.fixture
def bob_client(bob):
    return logged_in_client(bob)


@pytest.fixture
def charlie_client(charlie):
    return logged_in_client(charlie)


@pytest.fixture
def password():
    return PASSWORD


@pytest.fixture
def api_client(db):
    """`api_client(tenant, scopes=[...], mode="live")`: a DRF APIClient sending a real API
    key of that tenant as `Authorization: Bearer ...`. The key record is `client.api_key` and
    its secret `client.secret`."""
    from rest_framework.test import APIClient

    from apps.apikeys.scopes import ALL_SCOPES
    from apps.apikeys.services import api_key_create

    def make(tenant, scopes=None, mode="live", **options):
        api_key, secret = api_key_create(
            tenant=tenant,
            name=options.pop("name", "test key"),
            scopes=ALL_SCOPES if scopes is None else scopes,
            mode=mode,
            **options,
        )
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
        client.api_key = api_key
        client.secret = secret
        return client

    return make


@pytest.fixture(autouse=True)
def fresh_api_rate_limits():
    """Public API rate-limit counters are per tenant and per minute; the suite's own traffic
    must not throttle a later test, so each test starts with none."""
    from apps.api.redis import redis_client

    client = redis_client()
    stale = list(client.scan_iter("ratelimit:*", count=1000))
    if stale:
        client.delete(*stale)
