from django.urls import path

from apps.contacts import import_views, views

app_name = "contacts"

urlpatterns = [
    path("", views.contact_list, name="list"),
    path("new/", views.contact_create, name="create"),
    path("export.csv", views.contact_export, name="export"),
    path("bulk/", views.contact_bulk, name="bulk"),
    path("<uuid:contact_id>/", views.contact_detail, name="detail"),
    path("<uuid:contact_id>/edit/", views.contact_edit, name="edit"),
    path("<uuid:contact_id>/tags/", views.contact_tags, name="tags"),
    path("<uuid:contact_id>/custom-fields/", views.contact_custom_fields, name="custom-fields"),
    path("<uuid:contact_id>/groups/", views.contact_groups, name="groups-of"),
    path("<uuid:contact_id>/notes/", views.contact_note_add, name="note-add"),
    path("<uuid:contact_id>/opt-out/", views.contact_opt_out, name="opt-out"),
    path("<uuid:contact_id>/archive/", views.contact_archive, name="archive"),
    path("groups/", views.group_list, name="groups"),
    path("groups/new/", views.group_create, name="group-create"),
    path("groups/<uuid:group_id>/", views.group_detail, name="group"),
    path("groups/<uuid:group_id>/edit/", views.group_edit, name="group-edit"),
    path("groups/<uuid:group_id>/delete/", views.group_delete, name="group-delete"),
    path("groups/<uuid:group_id>/members/", views.group_members, name="group-members"),
    path("sources/", views.source_list, name="sources"),
    path("sources/new/", views.source_create, name="source-create"),
    path("imports/", import_views.import_list, name="imports"),
    path("imports/upload/", import_views.import_upload, name="import-upload"),
    path("imports/<uuid:job_id>/", import_views.import_detail, name="import"),
    path("imports/<uuid:job_id>/preview/", import_views.import_preview, name="import-preview"),
    path("imports/<uuid:job_id>/start/", import_views.import_start, name="import-start"),
    path(
        "imports/<uuid:job_id>/failed-rows.csv",
        import_views.import_failures,
        name="import-failures",
    ),
]
