from django.urls import path

from apps.webhooks.api import views

# Ids are matched as strings so that a malformed id is a 404 in the API's envelope.
urlpatterns = [
    path("webhooks", views.EndpointListCreateApi.as_view(), name="webhooks"),
    path("webhooks/<str:endpoint_id>", views.EndpointDetailApi.as_view(), name="webhook"),
    path(
        "webhooks/<str:endpoint_id>/secret",
        views.EndpointSecretApi.as_view(),
        name="webhook-secret",
    ),
    path(
        "webhooks/<str:endpoint_id>/rotate-secret",
        views.EndpointRotateSecretApi.as_view(),
        name="webhook-rotate-secret",
    ),
    path("webhooks/<str:endpoint_id>/test", views.EndpointTestApi.as_view(), name="webhook-test"),
    path(
        "webhooks/<str:endpoint_id>/deliveries",
        views.DeliveryListApi.as_view(),
        name="webhook-deliveries",
    ),
    path(
        "webhooks/<str:endpoint_id>/deliveries/<str:delivery_id>",
        views.DeliveryDetailApi.as_view(),
        name="webhook-delivery",
    ),
    path(
        "webhooks/<str:endpoint_id>/deliveries/<str:delivery_id>/retry",
        views.DeliveryRetryApi.as_view(),
        name="webhook-delivery-retry",
    ),
    path("events", views.EventListApi.as_view(), name="events"),
    path("events/<str:event_id>", views.EventDetailApi.as_view(), name="event"),
]
