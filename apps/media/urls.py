from django.urls import path

from apps.media import views

app_name = "media"

urlpatterns = [
    path("", views.media_library, name="library"),
    path("upload/", views.media_upload, name="upload"),
    path("<uuid:media_id>/file/", views.media_file, name="file"),
    path("<uuid:media_id>/thumbnail/", views.media_thumbnail, name="thumbnail"),
    path("<uuid:media_id>/delete/", views.media_delete, name="delete"),
]
