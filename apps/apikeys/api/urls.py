"""Mounted at /{tenant}/api/v1/settings/ (lynkist/urls.py, workspace_patterns)."""

from django.urls import path

from apps.apikeys.api import views

app_name = "apikeys-api"

urlpatterns = [
    path("api-keys", views.ApiKeyListCreateApi.as_view(), name="list"),
    path("api-keys/<int:api_key_id>", views.ApiKeyDetailApi.as_view(), name="detail"),
    path("api-keys/<int:api_key_id>/rotate", views.ApiKeyRotateApi.as_view(), name="rotate"),
]
