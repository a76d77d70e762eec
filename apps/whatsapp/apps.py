from django.apps import AppConfig


class WhatsAppConfig(AppConfig):
    name = "apps.whatsapp"
    label = "whatsapp"
    verbose_name = "WhatsApp account"
