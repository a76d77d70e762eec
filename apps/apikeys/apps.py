from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save, pre_save


class ApiKeysConfig(AppConfig):
    name = "apps.apikeys"
    label = "apikeys"
    verbose_name = "API keys"

    def ready(self) -> None:
        from apps.apikeys import stamps
        from apps.apikeys.models import ApiKey
        from apps.tenancy.models import Tenant

        uid = "apikeys.stamps"
        pre_save.connect(stamps.forget_saved_key, sender=ApiKey, dispatch_uid=uid)
        post_delete.connect(stamps.forget_deleted_key, sender=ApiKey, dispatch_uid=uid)
        post_save.connect(stamps.forget_workspace_keys, sender=Tenant, dispatch_uid=uid)
