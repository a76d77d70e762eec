from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "apps.campaigns"
    label = "campaigns"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Recipients and stats follow message statuses through the messaging pipeline.
        from apps.campaigns import services  # noqa: F401  (registers the status listener)
