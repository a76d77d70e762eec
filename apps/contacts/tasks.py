"""Celery tasks of the contacts app: thin wrappers over services."""

from __future__ import annotations

from apps.contacts.services.imports import import_run
from apps.core.tasks import tenant_task


@tenant_task(acks_late=True)
def contact_import_task(job_id: str) -> None:
    """Run or resume a CSV import; a redelivered task resumes after the last committed batch."""
    import_run(job_id=job_id)
