from django.urls import path

from apps.dashboard import views

app_name = "dashboard"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("settings/team/", views.team, name="team"),
    path("settings/team/invite/", views.team_invite, name="team-invite"),
    path("settings/team/<int:membership_id>/role/", views.team_change_role, name="team-role"),
    path("settings/team/<int:membership_id>/remove/", views.team_remove, name="team-remove"),
    path("settings/workspace/", views.workspace_settings, name="workspace"),
    path("settings/audit-log/", views.audit_log, name="audit-log"),
]
