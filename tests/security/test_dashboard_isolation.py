"""Every dashboard URL, opened under a workspace the person is not a member of, is a 404 for
GET and POST alike, and a POST changes nothing. The list is read from the URL conf."""

from __future__ import annotations

import re
import uuid

import pytest
from django.urls import URLPattern, URLResolver
from django_tenants.utils import schema_context

from apps.audit.models import AuditEntry
from apps.webhooks.models import Event
from lynkist.urls import workspace_patterns


def _concrete(route: str) -> str:
    def substitute(match: re.Match) -> str:
        converter = match.group(1) or "str"
        return {"uuid": str(uuid.uuid4()), "int": "1"}.get(converter, "x")

    return re.sub(r"<(?:(\w+):)?\w+>", substitute, route)


def _routes(patterns, prefix: str = ""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _routes(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern)


ROUTES = sorted(set(_routes(workspace_patterns)))


def test_the_matrix_covers_the_dashboard():
    assert len(ROUTES) >= 5


@pytest.mark.parametrize("route", ROUTES)
def test_an_outsider_gets_404_everywhere_in_another_workspace(charlie_client, acme, route):
    path = f"/acme/{_concrete(route)}"
    with schema_context(acme.schema_name):
        before = (AuditEntry.objects.count(), Event.objects.count())

    assert charlie_client.get(path).status_code == 404
    assert charlie_client.post(path, {}).status_code == 404

    with schema_context(acme.schema_name):
        assert (AuditEntry.objects.count(), Event.objects.count()) == before
