"""The public API, mounted at /api/v1/public/ (see lynkist/urls.py).

Resource apps: add ONE line for your app to RESOURCE_PATTERNS below, e.g.
    path("", include("apps.contacts.api.urls")),
Paths are relative to /api/v1/public/ and have no trailing slash (`contacts`,
`contacts/<uuid:contact_id>`). Everything listed here (and only this) appears in the public
OpenAPI document.
"""

from django.urls import include, path  # noqa: F401  (include is for the lines below)
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularSwaggerSplitView

from apps.api import views

RESOURCE_PATTERNS = [
    # --- resource apps: one line each, keep alphabetical ---
    path("", include("apps.campaigns.api.urls")),
    path("", include("apps.contacts.api.urls")),
    path("", include("apps.media.api.urls")),
    path("", include("apps.message_templates.api.urls")),
    path("", include("apps.messaging.api.urls")),
    path("", include("apps.webhooks.api.urls")),
]

# What the OpenAPI document describes: the public operations and nothing else.
public_patterns = [
    path("me", views.MeApi.as_view(), name="me"),
    *RESOURCE_PATTERNS,
]

urlpatterns = [
    path(
        "openapi.json",
        SpectacularJSONAPIView.as_view(patterns=public_patterns, schema=None),
        name="public-api-schema",
    ),
    path(
        "docs",
        SpectacularSwaggerSplitView.as_view(
            url_name="public-api-schema", template_name="api/swagger_ui.html", schema=None
        ),
        name="public-api-docs",
    ),
    *public_patterns,
]
