"""Reads: contact lists with search and filters, groups and sources with their counts.

Every list shows live (not archived) contacts only. Search is served by the trigram indexes on
UPPER(first_name | last_name | email | company) and the pattern index on phone (see migration
0002), all partial on live rows, so it does not scan the table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

from django.db.models import (
    Count,
    DateTimeField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
)

from apps.contacts.models import Contact, Group, GroupMember, ImportJob, Note, Source
from apps.core.errors import NotFound

SORTS = {
    "newest": ("-created_at", "-id"),
    "oldest": ("created_at", "id"),
    "first_name": ("first_name", "id"),
    "-first_name": ("-first_name", "-id"),
    "last_name": ("last_name", "id"),
    "-last_name": ("-last_name", "-id"),
    "company": ("company", "id"),
    "-company": ("-company", "-id"),
    "updated": ("-updated_at", "-id"),
}
_PHONE_TERM = re.compile(r"^\+?[\d\s().\-]+$")


def _as_uuid(value: Any) -> UUID | None:
    if value in (None, ""):
        return None
    try:
        return value if isinstance(value, UUID) else UUID(str(value))
    except ValueError:
        return None


@dataclass
class ContactFilters:
    search: str = ""
    status: str = ""
    tag: str = ""
    group_id: Any = None
    source_id: Any = None
    # None: everyone; True: only opted out; False: only reachable.
    opted_out: bool | None = None
    sort: str = "newest"


def search_q(term: str) -> Q:
    """The term (whitespace collapsed, any case) as a substring of the contact's search
    document: first and last name, e-mail and company, so "first last" matches the two names;
    a term that looks like a phone number also matches phones by prefix.

    Whole-term matching keeps every search selective for the trigram index: a word-by-word
    AND would let one common word ("company") turn the search into a scan of the table."""
    term = " ".join((term or "").split())
    if not term:
        return Q()
    by_text = Q(search_document__contains=term.lower())
    if _PHONE_TERM.match(term):
        digits = re.sub(r"\D", "", term)
        if digits:
            by_phone = Q(phone__startswith="+" + digits)
            return by_phone if term.startswith("+") else by_phone | by_text
    return by_text


def contact_list(*, filters: ContactFilters | None = None) -> QuerySet[Contact]:
    filters = filters or ContactFilters()
    contacts = Contact.objects.filter(archived_at__isnull=True)
    if filters.search:
        contacts = contacts.filter(search_q(filters.search))
    if filters.status:
        contacts = contacts.filter(status=filters.status)
    if filters.tag:
        contacts = contacts.filter(tags__contains=[filters.tag])
    if filters.group_id not in (None, ""):
        group_id = _as_uuid(filters.group_id)
        if group_id is None:
            return contacts.none()
        contacts = contacts.filter(
            Exists(GroupMember.objects.filter(group_id=group_id, contact_id=OuterRef("pk")))
        )
    if filters.source_id not in (None, ""):
        source_id = _as_uuid(filters.source_id)
        if source_id is None:
            return contacts.none()
        contacts = contacts.filter(source_id=source_id)
    if filters.opted_out is True:
        contacts = contacts.filter(opted_out_at__isnull=False)
    elif filters.opted_out is False:
        contacts = contacts.filter(opted_out_at__isnull=True)
    ordering = SORTS.get(filters.sort, SORTS["newest"])
    if filters.search and filters.sort in ("newest", "oldest"):
        # Hide the created_at index from a searched query: walking it newest-first and
        # filtering is what the planner picks when it over-estimates matches (trigram
        # estimates are rough), and for a rare term it reads the whole table (2 s at 1M rows).
        # The bitmap of the trigram index plus a top-N sort is bounded by the matches; the
        # search window (see `with_search_window`) serves the common terms.
        shifted = ExpressionWrapper(F("created_at") + timedelta(0), output_field=DateTimeField())
        newest = filters.sort == "newest"
        searched = contacts.order_by(
            shifted.desc() if newest else shifted.asc(), "-id" if newest else "id"
        ).with_cached_count()
        return searched.with_search_window(contacts.order_by(*ordering), newest=newest)
    return contacts.order_by(*ordering).with_cached_count()


def contact_get(*, contact_id: Any) -> Contact:
    """A live contact of the current workspace; NotFound otherwise (including malformed ids
    and archived contacts, which the API documents as gone)."""
    pk = _as_uuid(contact_id)
    contact = Contact.objects.filter(pk=pk, archived_at__isnull=True).first() if pk else None
    if contact is None:
        raise NotFound("Contact not found.")
    return contact


def contact_groups(*, contact: Contact) -> QuerySet[Group]:
    return Group.objects.filter(members__contact=contact).order_by("name")


def contact_notes(*, contact: Contact) -> QuerySet[Note]:
    return Note.objects.filter(contact=contact).order_by("-created_at", "-id")


def contact_communications(*, contact: Contact) -> list[Any]:
    """The messages exchanged with this contact, newest first (the messaging app's record)."""
    # Imported here because messaging builds on contacts, not the other way round.
    from apps.messaging.selectors import contact_messages

    return contact_messages(contact=contact)


def contact_statuses() -> list[str]:
    return list(
        Contact.objects.filter(archived_at__isnull=True)
        .exclude(status__isnull=True)
        .exclude(status="")
        .values_list("status", flat=True)
        .distinct()
        .order_by("status")[:50]
    )


def contact_counts() -> dict[str, int]:
    live = Contact.objects.filter(archived_at__isnull=True)
    return live.aggregate(
        total=Count("id"),
        opted_out=Count("id", filter=Q(opted_out_at__isnull=False)),
    )


def group_list(*, search: str = "") -> QuerySet[Group]:
    groups = Group.objects.annotate(
        contact_count=Count("members", filter=Q(members__contact__archived_at__isnull=True))
    )
    if search:
        groups = groups.filter(name__icontains=search.strip())
    return groups.order_by("name", "id")


def group_get(*, group_id: Any) -> Group:
    pk = _as_uuid(group_id)
    group = group_list().filter(pk=pk).first() if pk else None
    if group is None:
        raise NotFound("Group not found.")
    return group


def group_contacts(*, group: Group) -> QuerySet[Contact]:
    return contact_list(filters=ContactFilters(group_id=group.pk))


def source_list() -> QuerySet[Source]:
    return Source.objects.annotate(
        contact_count=Count("contacts", filter=Q(contacts__archived_at__isnull=True))
    ).order_by("-created_at", "id")


def source_get(*, source_id: Any) -> Source:
    pk = _as_uuid(source_id)
    source = source_list().filter(pk=pk).first() if pk else None
    if source is None:
        raise NotFound("Source not found.")
    return source


def import_job_list() -> QuerySet[ImportJob]:
    return ImportJob.objects.select_related("group", "source").order_by("-created_at")


def import_job_get(*, job_id: Any) -> ImportJob:
    pk = _as_uuid(job_id)
    job = import_job_list().filter(pk=pk).first() if pk else None
    if job is None:
        raise NotFound("Import not found.")
    return job
