from django.urls import path

from apps.message_templates.api import views

# Ids are matched as strings: our UUID or Meta's numeric id; unknown ones are a 404.
urlpatterns = [
    path("templates", views.TemplateListCreateApi.as_view(), name="templates"),
    path("templates/sync", views.TemplateSyncApi.as_view(), name="templates-sync"),
    path("templates/<str:template_id>", views.TemplateDetailApi.as_view(), name="template"),
]
