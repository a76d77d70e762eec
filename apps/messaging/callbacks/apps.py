from django.apps import AppConfig


class MetaCallbacksConfig(AppConfig):
    """The public-schema half of messaging: Meta's webhook callbacks, stored raw on receipt.
    The receiver cannot know the workspace before it has parsed the body, and it must not
    parse before the callback is safely stored."""

    name = "apps.messaging.callbacks"
    label = "messaging_callbacks"
    verbose_name = "Meta callbacks"
