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


# What `contact_data` reads, in its order: the columns of a list page (see `contact_data_row`).
CONTACT_DATA_FIELDS = (
    "id",
    "first_name",
    "last_name",
    "phone",
    "email",
    "company",
    "job_title",
    "status",
    "tags",
    "custom_fields",
    "source_id",
    "created_at",
    "updated_at",
)


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


def contact_data_row(row) -> dict[str, Any]:
    """`contact_data` of a row of CONTACT_DATA_FIELDS, without a model instance (a list page
    of the public API built twenty instances to read these thirteen values from each)."""
    (
        pk,
        first_name,
        last_name,
        phone,
        email,
        company,
        job_title,
        status,
        tags,
        custom_fields,
        source_id,
        created_at,
        updated_at,
    ) = row
    return {
        "id": str(pk),
        "first_name": first_name,
        "last_name": last_name,
        "phone": phone,
        "email": email,
        "company": company,
        "job_title": job_title,
        "status": status,
        "tags": list(tags),
        "custom_fields": custom_fields,
        "source_id": str(source_id) if source_id else None,
        "created_at": iso(created_at),
        "updated_at": iso(updated_at),
    }
