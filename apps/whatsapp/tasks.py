from __future__ import annotations

from apps.core.tasks import tenant_task
from apps.whatsapp.models import WhatsAppAccount
from apps.whatsapp.sandbox import deliver_due_reports


@tenant_task(ignore_result=True)
def sandbox_reports_deliver_task() -> int:
    """Report the sandbox's due statuses of this workspace (idempotent: claimed rows)."""
    account = WhatsAppAccount.objects.order_by("-is_active", "-connected_at").first()
    waba_id = account.waba_id if account else "sandbox"
    phone_number_id = account.phone_number_id if account else "sandbox"
    return deliver_due_reports(waba_id=waba_id, phone_number_id=phone_number_id)
