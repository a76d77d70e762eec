"""Schemathesis against the public OpenAPI document, through the real WSGI app with a real
key: no operation answers 5xx, and every response body matches the schema the document gives
for its status. Bounded to a few examples per operation so that it runs in CI on every change.

Not yet checked here: that every status an operation can return is documented and that every
schema-valid request is accepted (schemathesis' status-code and positive-data checks); those
still find gaps between the documented parameter/body constraints and the validators."""

from __future__ import annotations

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance

from lynkist.wsgi import application

EXAMPLES_PER_OPERATION = 12


# Loaded from the app itself (the document is built from code; no database is touched).
schema = schemathesis.openapi.from_wsgi("/api/v1/public/openapi.json", application)


@pytest.fixture
def keep_test_connection():
    """Calls go through the WSGI handler, which closes database connections when a request
    ends; that would close the test's transaction. Django's test client detaches the same
    handler for the same reason."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def fuzz_headers(acme, api_client, keep_test_connection):
    # Lift acme's limits: the fuzzer's own traffic must not turn into 429s.
    acme.plan = "enterprise"
    acme.custom_requests_per_minute = 1_000_000
    acme.custom_requests_per_day = 10_000_000
    acme.save()
    client = api_client(acme, name="fuzzer")
    return {"Authorization": f"Bearer {client.secret}"}


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_within_its_contract(case, fuzz_headers):
    case.call_and_validate(
        headers=fuzz_headers, checks=[not_a_server_error, response_schema_conformance]
    )
