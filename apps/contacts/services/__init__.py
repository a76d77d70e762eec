"""Every write to contacts, groups, sources, notes and imports. See each module's docstring
for the rules it owns; pages, the public API and tasks all call these functions."""

from apps.contacts.services.contacts import (
    BulkResult,
    contact_archive,
    contact_bulk_action,
    contact_bulk_create,
    contact_create,
    contact_opt_in,
    contact_opt_out,
    contact_update,
    email_normalize,
    note_add,
    phone_normalize,
)
from apps.contacts.services.groups import (
    group_add_contacts,
    group_create,
    group_delete,
    group_remove_contacts,
    group_update,
    source_create,
    source_for_api,
)

__all__ = [
    "BulkResult",
    "contact_archive",
    "contact_bulk_action",
    "contact_bulk_create",
    "contact_create",
    "contact_opt_in",
    "contact_opt_out",
    "contact_update",
    "email_normalize",
    "group_add_contacts",
    "group_create",
    "group_delete",
    "group_remove_contacts",
    "group_update",
    "note_add",
    "phone_normalize",
    "source_create",
    "source_for_api",
]
