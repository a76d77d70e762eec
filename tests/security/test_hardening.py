"""Security properties of the site as a whole (issue 9's security suite)."""

from __future__ import annotations

import importlib
import sys

import pytest
from django.test import Client


def test_logging_in_rotates_the_session_key(alice, password):
    client = Client()
    client.get("/accounts/login/")
    client.session.save()  # an anonymous session an attacker could have planted
    planted = client.session.session_key
    client.post("/accounts/login/", {"username": alice.email, "password": password})
    assert client.session.session_key != planted
    assert client.session["_auth_user_id"] == str(alice.pk)


@pytest.fixture
def production_settings(monkeypatch):
    def load(**environ):
        for key, value in environ.items():
            monkeypatch.setenv(key, value)
        for name in ["lynkist.settings.production", "lynkist.settings.base"]:
            sys.modules.pop(name, None)
        module = importlib.import_module("lynkist.settings.production")
        for name in ["lynkist.settings.production", "lynkist.settings.base"]:
            sys.modules.pop(name, None)
        return module

    return load


def test_production_sends_hsts_and_secure_cookies_when_debug_is_off(production_settings):
    settings = production_settings(DEBUG="false", SECRET_KEY="a-real-secret-" + "x" * 40)
    assert settings.SESSION_COOKIE_SECURE and settings.CSRF_COOKIE_SECURE
    assert settings.SECURE_HSTS_SECONDS >= 31536000
    assert settings.SESSION_COOKIE_HTTPONLY


def test_production_refuses_the_development_secret_key(production_settings, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured):
        production_settings(DEBUG="false")


def test_the_login_page_cannot_be_framed(db):
    response = Client().get("/accounts/login/")
    assert response["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert response["X-Content-Type-Options"] == "nosniff"
