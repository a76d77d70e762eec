from django.urls import path

from apps.campaigns.api import views

# Ids are matched as strings so a malformed id is a 404 in the API's envelope.
urlpatterns = [
    path("campaigns", views.CampaignListCreateApi.as_view(), name="campaigns"),
    path("campaigns/<str:campaign_id>", views.CampaignDetailApi.as_view(), name="campaign"),
    path(
        "campaigns/<str:campaign_id>/audience",
        views.CampaignAudienceApi.as_view(),
        name="campaign-audience",
    ),
    path(
        "campaigns/<str:campaign_id>/audience/preview",
        views.CampaignAudiencePreviewApi.as_view(),
        name="campaign-audience-preview",
    ),
    path(
        "campaigns/<str:campaign_id>/audience/field-coverage",
        views.CampaignFieldCoverageApi.as_view(),
        name="campaign-field-coverage",
    ),
    path(
        "campaigns/<str:campaign_id>/preview",
        views.CampaignPreviewApi.as_view(),
        name="campaign-preview",
    ),
    path("campaigns/<str:campaign_id>/send", views.CampaignSendApi.as_view(), name="campaign-send"),
    path(
        "campaigns/<str:campaign_id>/schedule",
        views.CampaignScheduleApi.as_view(),
        name="campaign-schedule",
    ),
    path(
        "campaigns/<str:campaign_id>/pause", views.CampaignPauseApi.as_view(), name="campaign-pause"
    ),
    path(
        "campaigns/<str:campaign_id>/resume",
        views.CampaignResumeApi.as_view(),
        name="campaign-resume",
    ),
    path("campaigns/<str:campaign_id>/stop", views.CampaignStopApi.as_view(), name="campaign-stop"),
    path(
        "campaigns/<str:campaign_id>/refresh-metrics",
        views.CampaignRefreshMetricsApi.as_view(),
        name="campaign-refresh-metrics",
    ),
    path(
        "campaigns/<str:campaign_id>/errors",
        views.CampaignErrorsApi.as_view(),
        name="campaign-errors",
    ),
    path(
        "campaigns/<str:campaign_id>/errors/<str:error_code>",
        views.CampaignErrorDrilldownApi.as_view(),
        name="campaign-error-drilldown",
    ),
]
