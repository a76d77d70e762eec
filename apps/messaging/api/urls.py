from django.urls import path

from apps.messaging.api import views

# A message is addressed by Lynkist's UUID or Meta's wamid.
urlpatterns = [
    path("messages/template", views.MessageSendTemplateApi.as_view(), name="messages-template"),
    path("messages", views.MessageListApi.as_view(), name="messages"),
    path("messages/<str:message_id>", views.MessageDetailApi.as_view(), name="message"),
]
