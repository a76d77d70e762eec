from django.urls import path

from apps.messaging import views

app_name = "messaging"

urlpatterns = [
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/<uuid:conversation_id>/", views.inbox, name="conversation"),
    path("inbox/<uuid:conversation_id>/thread/", views.thread, name="thread"),
    path("inbox/<uuid:conversation_id>/reply/", views.reply, name="reply"),
    path("inbox/<uuid:conversation_id>/template/", views.send_template, name="send-template"),
    path("inbox/<uuid:conversation_id>/preview/", views.template_preview, name="preview"),
    path("messages/", views.message_log, name="log"),
    path("messages/<str:message_id>/", views.message_detail, name="detail"),
]
