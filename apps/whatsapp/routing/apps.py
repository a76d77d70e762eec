from django.apps import AppConfig


class WhatsAppRoutingConfig(AppConfig):
    """The public-schema half of the WhatsApp app: which tenant owns which phone number id."""

    name = "apps.whatsapp.routing"
    label = "whatsapp_routing"
    verbose_name = "WhatsApp routing"
