"""The events the contacts app emits, and the shape of their `data`.

`data` is the contact as the public API shows it, so a webhook consumer needs no second call.
"""

from __future__ import annotations

from typing import Any

CONTACT_CREATED = "contact.created"
CONTACT_UPDATED = "contact.updated"
CONTACT_DELETED = "contact.deleted"
CONTACT_NOTE_ADDED = "contact.note_added"


def iso(value) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def contact_data(contact) -> dict[str, Any]:
    return {
        "id": str(contact.id),
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "phone": contact.phone,
        "email": contact.email,
        "company": contact.company,
        "job_title": contact.job_title,
        "status": contact.status,
        "tags": list(contact.tags),
        "custom_fields": contact.custom_fields,
        "source_id": str(contact.source_id) if contact.source_id else None,
        "created_at": iso(contact.created_at),
        "updated_at": iso(contact.updated_at),
    }
