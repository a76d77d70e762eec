from django.urls import path

from apps.campaigns import views

app_name = "campaigns"

urlpatterns = [
    path("", views.campaign_list, name="list"),
    path("new/", views.campaign_create, name="create"),
    path("<uuid:campaign_id>/", views.campaign_detail, name="detail"),
    path("<uuid:campaign_id>/duplicate/", views.campaign_duplicate, name="duplicate"),
    path("<uuid:campaign_id>/follow-up/", views.campaign_follow_up, name="follow-up"),
    path(
        "<uuid:campaign_id>/errors/<str:error_code>/",
        views.campaign_error_drilldown,
        name="errors",
    ),
    path(
        "<uuid:campaign_id>/<str:action>/",
        views.campaign_action,
        name="action",
    ),
]
