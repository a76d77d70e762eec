from django.urls import path

from apps.whatsapp import views

app_name = "whatsapp"

urlpatterns = [
    path("", views.whatsapp_settings, name="settings"),
    path("cloud/", views.whatsapp_connect_cloud, name="connect-cloud"),
    path("sandbox/", views.whatsapp_connect_sandbox, name="connect-sandbox"),
    path("test/", views.whatsapp_test_connection, name="test-connection"),
    path("messaging-limit/", views.whatsapp_messaging_limit, name="messaging-limit"),
    path("disconnect/", views.whatsapp_disconnect, name="disconnect"),
]
