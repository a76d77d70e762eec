from django.urls import path

from apps.webhooks import views

app_name = "webhooks"

urlpatterns = [
    path("", views.endpoint_list, name="list"),
    path("new/", views.endpoint_create, name="create"),
    path("<uuid:endpoint_id>/", views.endpoint_detail, name="detail"),
    path("<uuid:endpoint_id>/edit/", views.endpoint_edit, name="edit"),
    path("<uuid:endpoint_id>/secret/", views.endpoint_secret, name="secret"),
    path("<uuid:endpoint_id>/rotate-secret/", views.endpoint_rotate, name="rotate"),
    path("<uuid:endpoint_id>/test/", views.endpoint_test, name="test"),
    path("<uuid:endpoint_id>/enable/", views.endpoint_enable_view, name="enable"),
    path("<uuid:endpoint_id>/disable/", views.endpoint_disable_view, name="disable"),
    path("<uuid:endpoint_id>/delete/", views.endpoint_delete_view, name="delete"),
    path(
        "<uuid:endpoint_id>/deliveries/<uuid:delivery_id>/",
        views.delivery_detail,
        name="delivery",
    ),
    path(
        "<uuid:endpoint_id>/deliveries/<uuid:delivery_id>/retry/",
        views.delivery_retry_view,
        name="delivery-retry",
    ),
]
