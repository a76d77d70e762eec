from __future__ import annotations

from apps.tenancy.models import Tenant
from apps.whatsapp.models import WhatsAppAccount
from apps.whatsapp.routing.models import PhoneNumberRoute


def whatsapp_account_active() -> WhatsAppAccount | None:
    """The current workspace's active account, if any (at most one exists)."""
    return WhatsAppAccount.objects.filter(is_active=True).first()


def tenant_for_phone_number_id(*, phone_number_id: str) -> Tenant | None:
    """Which workspace a Meta webhook for this phone number id belongs to."""
    route = (
        PhoneNumberRoute.objects.select_related("tenant")
        .filter(phone_number_id=phone_number_id)
        .first()
    )
    return route.tenant if route else None
