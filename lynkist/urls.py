"""Root URLs. Site-wide paths first; everything under `/{slug}/` is a workspace (the slug is
resolved by apps.tenancy.middleware, whose reserved list must cover every prefix here)."""

from django.contrib import admin
from django.urls import include, path

from apps.api import dashboard as api_dashboard
from apps.core import health
from apps.dashboard import views as dashboard_views
from apps.messaging import receiver as messaging_receiver

# Each app that has workspace pages adds its urls module here, under its own prefix.
workspace_patterns = [
    path("", include("apps.dashboard.urls")),
    path("templates/", include("apps.message_templates.urls")),
    path("media/", include("apps.media.urls")),
    path("settings/whatsapp/", include("apps.whatsapp.urls")),
    path("contacts/", include("apps.contacts.urls")),
    path("campaigns/", include("apps.campaigns.urls")),
    path("", include("apps.messaging.urls")),
    path("settings/webhooks/", include("apps.webhooks.urls")),
    path("settings/api-keys/", include("apps.apikeys.urls")),
    # Dashboard API (JWT), not the public API.
    path("api/v1/settings/", include("apps.apikeys.api.urls")),
]

urlpatterns = [
    path("", dashboard_views.workspace_picker, name="workspace-picker"),
    path("accounts/", include("apps.accounts.urls")),
    path("admin/", admin.site.urls),
    path("healthz", health.healthz, name="healthz"),
    # The public API (API keys); resource apps register in apps/api/urls.py, not here.
    path("api/v1/public/", include("apps.api.urls")),
    path("api/v1/auth/token", api_dashboard.TokenObtainView.as_view(), name="jwt-token"),
    path("api/v1/auth/token/refresh", api_dashboard.TokenRenewView.as_view(), name="jwt-refresh"),
    path("readyz", health.readyz, name="readyz"),
    path("webhooks/whatsapp", messaging_receiver.whatsapp_webhook, name="meta-webhook"),
    path("<slug:tenant>/", include(workspace_patterns)),
]

admin.site.site_header = "Lynkist platform admin"
admin.site.site_title = "Lynkist admin"
