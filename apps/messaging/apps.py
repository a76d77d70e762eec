from django.apps import AppConfig


class MessagingConfig(AppConfig):
    """Every message sent or received, its status timeline, conversations and opt-outs."""

    name = "apps.messaging"
    label = "messaging"
    verbose_name = "Messaging"
