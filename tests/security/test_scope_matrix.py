"""Every public API operation, called with a key that lacks its scope, is refused with 403
`insufficient_scope` and changes nothing. The matrix is read from the URL conf, so a new
endpoint is covered without anyone adding it here."""

from __future__ import annotations

import re
import uuid

import pytest
from django.urls import URLPattern, URLResolver
from django_tenants.utils import schema_context

from apps.api.urls import public_patterns
from apps.api.views import PublicApiView
from apps.webhooks.models import Event

_PLACEHOLDERS = {"uuid": lambda: str(uuid.uuid4()), "int": lambda: "1", "path": lambda: "x"}


def _concrete(route: str) -> str:
    def substitute(match: re.Match) -> str:
        converter = match.group(1) or "str"
        return _PLACEHOLDERS.get(converter, lambda: "x")()

    return re.sub(r"<(?:(\w+):)?\w+>", substitute, route)


def _operations(patterns, prefix: str = "/api/v1/public/"):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _operations(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            view_class = getattr(entry.callback, "view_class", None)
            if view_class is None or not issubclass(view_class, PublicApiView):
                continue
            for method, scopes in view_class.required_scopes.items():
                if scopes:
                    route = prefix + str(entry.pattern)
                    yield pytest.param(method, route, scopes, id=f"{method} {route}")


OPERATIONS = list(_operations(public_patterns))


def test_the_matrix_covers_the_public_api():
    assert len(OPERATIONS) >= 5


@pytest.mark.parametrize(("method", "route", "scopes"), OPERATIONS)
def test_a_key_without_the_scope_is_refused_and_nothing_changes(
    api_client, acme, method, route, scopes
):
    all_other_scopes = [s for s in _all_scopes() if s not in scopes]
    client = api_client(acme, scopes=all_other_scopes)
    with schema_context(acme.schema_name):
        events_before = Event.objects.count()

    response = client.generic(method, _concrete(route), data="{}", content_type="application/json")

    assert response.status_code == 403, response.content
    error = response.json()["error"]
    assert error["code"] == "insufficient_scope"
    required = set(error["details"]["required_scopes"])
    assert required and required <= set(scopes)
    assert not required & set(error["details"]["granted_scopes"])
    with schema_context(acme.schema_name):
        assert Event.objects.count() == events_before


def _all_scopes() -> list[str]:
    from apps.apikeys.scopes import ALL_SCOPES

    return list(ALL_SCOPES)
