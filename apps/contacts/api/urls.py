from django.urls import path

from apps.contacts.api import views

# Ids are matched as strings so a malformed id is a 404 in the API's envelope.
urlpatterns = [
    path("contacts", views.ContactListCreateApi.as_view(), name="contacts"),
    path("contacts/search", views.ContactSearchApi.as_view(), name="contacts-search"),
    path("contacts/bulk", views.ContactBulkCreateApi.as_view(), name="contacts-bulk"),
    path("contacts/<str:contact_id>", views.ContactDetailApi.as_view(), name="contact"),
    path("groups", views.GroupListCreateApi.as_view(), name="groups"),
    path("groups/<str:group_id>", views.GroupDetailApi.as_view(), name="group"),
    path("groups/<str:group_id>/contacts", views.GroupContactsApi.as_view(), name="group-contacts"),
    path("sources", views.SourceListCreateApi.as_view(), name="sources"),
    path("sources/<str:source_id>", views.SourceDetailApi.as_view(), name="source"),
]
