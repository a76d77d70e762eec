"""The audit log: one append-only entry per administrative change, written in the tenant's
schema in the same transaction as the change it records."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django_tenants.utils import schema_context

from apps.audit.models import AuditEntry
from apps.core.request_id import current_client_ip

if TYPE_CHECKING:
    from apps.accounts.models import User
    from apps.tenancy.models import Tenant


def audit_record(
    *,
    tenant: Tenant,
    actor: User | None,
    action: str,
    target: str = "",
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    with schema_context(tenant.schema_name):
        return AuditEntry.objects.create(
            actor_id=actor.pk if actor else None,
            actor_email=actor.email if actor else "",
            action=action,
            target=target,
            details=details or {},
            ip_address=current_client_ip.get(),
        )
