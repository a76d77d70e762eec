from django.urls import path

from apps.media.api import views

urlpatterns = [
    path("media", views.MediaListCreateApi.as_view(), name="media"),
    path("media/<str:media_id>", views.MediaDetailApi.as_view(), name="media-detail"),
]
