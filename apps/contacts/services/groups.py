"""Groups and sources.

Rules owned here: a group name is 1-255 characters and unique in the workspace, whatever its
case; membership changes take at most 1,000 ids at once, ignore ids already in (or already
out of) the group, and report ids that match no live contact instead of failing; deleting a
group removes memberships, never contacts. A source has a name and a kind.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from django.db import IntegrityError, transaction

from apps.contacts.models import Contact, Group, GroupMember, Source, SourceKind
from apps.core.errors import Conflict, ValidationFailed

MAX_MEMBERSHIP_IDS = 1000


def _invalid(field_name: str, message: str) -> ValidationFailed:
    return ValidationFailed(
        message, field=field_name, details=[{"field": field_name, "message": message}]
    )


def _name(raw: Any, *, what: str = "name") -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise _invalid(what, f"{what} must be at least 1 character")
    value = raw.strip()
    if len(value) > 255:
        raise _invalid(what, f"{what} must be at most 255 characters")
    return value


def _description(raw: Any) -> str:
    if raw is None:
        return ""
    if not isinstance(raw, str):
        raise _invalid("description", "description must be a string")
    if len(raw) > 2000:
        raise _invalid("description", "description must be at most 2,000 characters")
    return raw.strip()


def _name_taken(name: str) -> Conflict:
    existing = Group.objects.filter(name__iexact=name).values_list("id", flat=True).first()
    return Conflict(
        f"A group named “{name}” already exists.",
        field="name",
        details={"field": "name", "existing_id": str(existing) if existing else None},
    )


def _save(group: Group, name: str) -> None:
    try:
        with transaction.atomic():
            group.save()
    except IntegrityError as error:
        if "contact_group_name_unique" not in str(error):
            raise
        raise _name_taken(name) from None


@transaction.atomic
def group_create(*, name: str, description: str | None = "") -> Group:
    name = _name(name)
    if Group.objects.filter(name__iexact=name).exists():
        raise _name_taken(name)
    group = Group(name=name, description=_description(description))
    _save(group, name)
    return group


@transaction.atomic
def group_update(*, group: Group, changes: dict[str, Any]) -> Group:
    unknown = set(changes) - {"name", "description"}
    if unknown:
        name = sorted(unknown)[0]
        raise _invalid(name, f"{name} is not a group field")
    if "name" in changes:
        group.name = _name(changes["name"])
        if Group.objects.filter(name__iexact=group.name).exclude(pk=group.pk).exists():
            raise _name_taken(group.name)
    if "description" in changes:
        group.description = _description(changes["description"])
    _save(group, group.name)
    return group


@transaction.atomic
def group_delete(*, group: Group) -> None:
    group.delete()


@dataclass
class MembershipChange:
    changed: int = 0
    unchanged: int = 0
    unknown_ids: list[str] = field(default_factory=list)


def _parse_ids(contact_ids: Iterable[Any]) -> tuple[list[UUID], list[str]]:
    ids: list[UUID] = []
    invalid: list[str] = []
    for value in contact_ids:
        try:
            parsed = value if isinstance(value, UUID) else UUID(str(value))
        except ValueError:
            invalid.append(str(value))
            continue
        if parsed not in ids:
            ids.append(parsed)
    if len(ids) + len(invalid) > MAX_MEMBERSHIP_IDS:
        raise _invalid("contact_ids", f"at most {MAX_MEMBERSHIP_IDS:,} ids per request")
    return ids, invalid


@transaction.atomic
def group_add_contacts(*, group: Group, contact_ids: Iterable[Any]) -> MembershipChange:
    ids, invalid = _parse_ids(contact_ids)
    live = set(Contact.objects.filter(pk__in=ids, archived_at=None).values_list("id", flat=True))
    present = set(
        GroupMember.objects.filter(group=group, contact_id__in=live).values_list(
            "contact_id", flat=True
        )
    )
    new = [contact_id for contact_id in ids if contact_id in live and contact_id not in present]
    # ignore_conflicts: a concurrent request adding the same contact is not an error.
    GroupMember.objects.bulk_create(
        [GroupMember(group=group, contact_id=contact_id) for contact_id in new],
        ignore_conflicts=True,
    )
    return MembershipChange(
        changed=len(new),
        unchanged=len(present),
        unknown_ids=invalid + [str(i) for i in ids if i not in live],
    )


@transaction.atomic
def group_remove_contacts(*, group: Group, contact_ids: Iterable[Any]) -> MembershipChange:
    ids, invalid = _parse_ids(contact_ids)
    live = set(Contact.objects.filter(pk__in=ids, archived_at=None).values_list("id", flat=True))
    removed, _ = GroupMember.objects.filter(group=group, contact_id__in=live).delete()
    return MembershipChange(
        changed=removed,
        unchanged=len(live) - removed,
        unknown_ids=invalid + [str(i) for i in ids if i not in live],
    )


@transaction.atomic
def source_create(*, name: str, kind: str = SourceKind.MANUAL) -> Source:
    name = _name(name)
    if kind not in SourceKind.values:
        raise _invalid("kind", f"kind must be one of {', '.join(SourceKind.values)}")
    return Source.objects.create(name=name, kind=kind)


API_SOURCE_NAME = "API"


def source_for_api() -> Source:
    """The source recorded on contacts created through the public API without a source_id."""
    source = Source.objects.filter(kind=SourceKind.API, name=API_SOURCE_NAME).first()
    return source or Source.objects.create(kind=SourceKind.API, name=API_SOURCE_NAME)
