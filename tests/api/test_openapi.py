"""The public OpenAPI document: valid, public routes only, the platform's conventions on every
operation, and a Swagger UI served from local assets."""

from __future__ import annotations

from django.test import Client
from django.urls import Resolver404, resolve
from drf_spectacular.validation import validate_schema

from apps.api.permissions import required_scopes_for
from apps.api.views import PublicApiView

WRITE_METHODS = {"post", "put", "patch", "delete"}


def operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                yield path, method, operation


def public_view_for(path: str):
    concrete = path.replace("{", "").replace("}", "")
    for candidate in (concrete, path):
        try:
            return resolve("/api/v1/public" + candidate)
        except Resolver404:
            continue
    return None


def test_the_document_is_valid_openapi_3(schema):
    validate_schema(schema)
    assert schema["openapi"].startswith("3.")
    assert schema["servers"] == [{"url": "/api/v1/public", "description": "This server"}]


def test_it_needs_no_api_key(db):
    assert Client().get("/api/v1/public/openapi.json").status_code == 200


def test_it_lists_no_internal_route(schema):
    paths = list(schema["paths"])
    assert "/me" in paths
    for path in paths:
        for internal in (
            "openapi",
            "docs",
            "auth/token",
            "settings",
            "admin",
            "accounts",
            "healthz",
            "readyz",
            "{tenant}",
            "webhooks/whatsapp",
            "_test",
        ):
            assert internal not in path, path
        match = public_view_for(path)
        # Every listed path is a public API view, authenticated by API key.
        assert match is not None, path
        assert issubclass(match.func.view_class, PublicApiView), path


def test_every_operation_states_scopes_auth_and_errors(schema):
    assert schema["components"]["securitySchemes"]["ApiKey"]["scheme"] == "bearer"
    assert "Error" in schema["components"]["schemas"]
    for path, method, operation in operations(schema):
        where = f"{method.upper()} {path}"
        assert isinstance(operation["x-required-scopes"], list), where
        assert "Scopes:" in operation["description"], where
        assert operation["security"] == [{"ApiKey": []}], where
        assert operation.get("tags"), where
        for status in ("401", "403", "429", "500"):
            assert status in operation["responses"], where
        for response in operation["responses"].values():
            assert "X-Request-Id" in response["headers"], where
            assert "X-RateLimit-Remaining" in response["headers"], where
        names = {p["name"] for p in operation.get("parameters", [])}
        if method in WRITE_METHODS:
            assert "Idempotency-Key" in names, where
            assert "422" in operation["responses"], where
        else:
            assert "Idempotency-Key" not in names, where


def test_the_documented_scopes_are_the_enforced_ones(schema):
    for path, method, operation in operations(schema):
        view = public_view_for(path).func.view_class
        assert operation["x-required-scopes"] == required_scopes_for(view, method.upper())


def test_every_public_view_declares_scopes_for_each_method_it_serves(schema):
    for path in schema["paths"]:
        view = public_view_for(path).func.view_class
        for method in ("get", "post", "put", "patch", "delete"):
            if hasattr(view, method):
                assert required_scopes_for(view, method.upper()) is not None, (path, method)


def test_swagger_ui_is_served_with_local_assets_and_no_inline_script(db):
    page = Client().get("/api/v1/public/docs")
    assert page.status_code == 200
    html = page.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "https://" not in html and "http://" not in html
    assert "<style>" not in html
    script = Client().get("/api/v1/public/docs?script=")
    assert script.status_code == 200
    assert "javascript" in script["Content-Type"]
    assert "/api/v1/public/openapi.json" in script.content.decode()
