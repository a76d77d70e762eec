from django.urls import path

from apps.message_templates import views

app_name = "message_templates"

urlpatterns = [
    path("", views.template_list, name="list"),
    path("new/", views.template_create, name="create"),
    path("sync/", views.template_sync, name="sync"),
    path("<uuid:template_id>/", views.template_detail, name="detail"),
    path("<uuid:template_id>/delete/", views.template_delete, name="delete"),
]
