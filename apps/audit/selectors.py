from __future__ import annotations

from django.db.models import Q, QuerySet

from apps.audit.models import AuditEntry


def audit_entry_list(*, search: str = "") -> QuerySet[AuditEntry]:
    """Entries of the current schema, newest first, optionally matching a search term."""
    entries = AuditEntry.objects.all()
    if search:
        entries = entries.filter(
            Q(actor_email__icontains=search)
            | Q(action__icontains=search)
            | Q(target__icontains=search)
        )
    return entries
