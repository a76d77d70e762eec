"""The browser's middleware (sessions, CSRF, login, messages, htmx) runs everywhere but on the
public API (apps.api.middleware.dashboard_only)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.middleware.csrf import CsrfViewMiddleware
from django.test import Client
from django.utils.module_loading import import_string

ME = "/api/v1/public/me"


def test_public_api_requests_skip_sessions_login_messages_and_htmx(acme, api_client, alice):
    client = api_client(acme)
    # A browser's session cookie rides along; the public API ignores it.
    client.force_login(alice, backend="django.contrib.auth.backends.ModelBackend")
    response = client.get(ME)
    assert response.status_code == 200
    request = response.wsgi_request
    for attribute in ("session", "_messages", "htmx"):
        assert not hasattr(request, attribute), attribute
    assert "sessionid" not in response.cookies and "csrftoken" not in response.cookies


def test_dashboard_requests_still_get_them(alice_client, alice):
    request = alice_client.get("/").wsgi_request
    assert request.user == alice
    assert hasattr(request, "session") and hasattr(request, "htmx")


def test_csrf_is_still_enforced_on_dashboard_posts(alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice, backend="django.contrib.auth.backends.ModelBackend")
    assert client.post("/accounts/logout/").status_code == 403


@pytest.mark.parametrize(
    "original", [SessionMiddleware, CsrfViewMiddleware, AuthenticationMiddleware]
)
def test_the_wrapped_middleware_is_still_the_original_to_checks_that_look_for_it(original):
    # The admin's system checks ask whether AuthenticationMiddleware (or a subclass) is listed.
    installed = [import_string(path) for path in settings.MIDDLEWARE]
    assert any(issubclass(middleware, original) for middleware in installed)
