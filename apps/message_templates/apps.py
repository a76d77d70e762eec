from django.apps import AppConfig


class MessageTemplatesConfig(AppConfig):
    name = "apps.message_templates"
    label = "message_templates"
    verbose_name = "Message templates"
