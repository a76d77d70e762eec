"""Fixtures for everything that talks to WhatsApp: the fake Graph API on loopback (one server
for the session, reset before each test) with GRAPH_API_BASE_URL pointed at it, and
connected accounts. Imported by the conftest of each test folder that needs them."""

from __future__ import annotations

import pytest
from django.db import connection

from apps.whatsapp import graph
from bench.fake_graph import FakeGraphServer

CLOUD_TOKEN = "EAAG-test-access-token-0123456789abcdef"


@pytest.fixture(scope="session")
def fake_graph_server():
    server = FakeGraphServer().start()
    yield server
    server.stop()


@pytest.fixture
def fake_graph(fake_graph_server, settings, monkeypatch):
    """The fake Graph API (a `FakeGraph`: `.config`, `.counts`, `.sent`, `.templates`)."""
    fake_graph_server.graph.reset()
    settings.GRAPH_API_BASE_URL = fake_graph_server.url
    # Retries wait milliseconds, not seconds, in tests; the rule under test is unchanged.
    monkeypatch.setattr(graph, "BACKOFF_BASE", 0.001)
    return fake_graph_server.graph


@pytest.fixture
def cloud_account(acme, fake_graph, alice):
    from apps.whatsapp.services import whatsapp_account_connect_cloud

    connection.set_tenant(acme)
    return whatsapp_account_connect_cloud(
        tenant=acme,
        waba_id="102290129340398",
        phone_number_id="106540352242922",
        access_token=CLOUD_TOKEN,
        display_phone_number="+1 555-010-2922",
        actor=alice,
    )


@pytest.fixture
def sandbox_account(acme, alice):
    from apps.whatsapp.services import whatsapp_account_connect_sandbox

    connection.set_tenant(acme)
    return whatsapp_account_connect_sandbox(tenant=acme, actor=alice)
