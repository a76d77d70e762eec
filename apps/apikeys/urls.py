from django.urls import path

from apps.apikeys import views

app_name = "apikeys"

urlpatterns = [
    path("", views.api_key_list, name="list"),
    path("create/", views.api_key_create, name="create"),
    path("<int:api_key_id>/rotate/", views.api_key_rotate, name="rotate"),
    path("<int:api_key_id>/revoke/", views.api_key_revoke, name="revoke"),
]
