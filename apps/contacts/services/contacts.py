"""Contacts: creation, updates, archiving, opt-outs and notes.

Rules owned here:
- a phone is stored in E.164 (normalised with `phonenumbers`); one live contact per phone,
  enforced by a partial unique index, so a racing duplicate is a Conflict too, never a 500;
- `first_name` is required (1-255 characters); empty strings in optional fields mean null;
- tags are trimmed, de-duplicated labels of at most 64 characters; custom fields a JSON object;
- archiving is a soft delete: the row stays (messages and recipients point at it) but it is
  hidden from every listing and its phone becomes free for a new contact;
- every change emits its event in the same transaction (`contact.created|updated|deleted|
  note_added`), so a rolled-back change leaves no event.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from apps.contacts.events import (
    CONTACT_CREATED,
    CONTACT_DELETED,
    CONTACT_NOTE_ADDED,
    CONTACT_UPDATED,
    contact_data,
)
from apps.contacts.models import Contact, Group, Note, Source, SourceKind
from apps.core.errors import ApplicationError, Conflict, NotFound, ValidationFailed
from apps.webhooks.services import emit_event

TEXT_FIELDS = ("first_name", "last_name", "email", "company", "job_title", "status", "phone")
EDITABLE_FIELDS = (*TEXT_FIELDS, "tags", "custom_fields", "source_id")
MAX_TAGS = 50
MAX_TAG_LENGTH = 64
MAX_LENGTHS = {
    "first_name": 255,
    "last_name": 255,
    "company": 255,
    "job_title": 255,
    "status": 64,
    "email": 254,
}
_email_validator = EmailValidator()
# The common shape of an address, every one of which Django's EmailValidator accepts too: a
# dot-atom of letters, digits, `_`, `+` and `-`, hostname labels and a letters-only top-level
# domain. Checking it first spares the validator's lazily compiled patterns (a fifth of a CSV
# import's row validation); anything else is left to the validator.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_PLAIN_EMAIL = re.compile(
    rf"[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*@{_LABEL}(?:\.{_LABEL})*\.[A-Za-z]{{2,63}}"
)
# phonenumbers otherwise calls re.compile on a metadata pattern at every step of a check (a
# third of a number's validation); the patterns are fixed, so keeping them is bounded.
# (The switch exists from phonenumbers 9.)
if hasattr(phonenumbers, "enable_pattern_cache"):
    phonenumbers.enable_pattern_cache()
_PHONE_CHARS = re.compile(r"^[+\d\s().\-/]+$")


def _invalid(field_name: str, message: str) -> ValidationFailed:
    return ValidationFailed(
        message, field=field_name, details=[{"field": field_name, "message": message}]
    )


def phone_normalize(raw: str | None) -> str | None:
    """E.164 for a number written in international form (`+91 99999 99999`, `0091...` or
    digits with their country code); None for an empty value."""
    if raw is None:
        return None
    value = str(raw).strip()
    if not value:
        return None
    if not _PHONE_CHARS.match(value):
        raise _invalid("phone", "phone must contain only digits, spaces and + ( ) - .")
    if value.startswith("00"):
        value = "+" + value[2:]
    elif not value.startswith("+"):
        value = "+" + value
    if _plain_e164_is_valid(value):
        return value
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException as error:
        raise _invalid(
            "phone", "phone is not a valid number in international format (e.g. +919999999999)"
        ) from error
    if not phonenumbers.is_valid_number(number):
        raise _invalid(
            "phone", "phone is not a valid number in international format (e.g. +919999999999)"
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# "+", a country code and digits, the national part not starting with 0: how numbers arrive
# from exports and the API. `phonenumbers.parse` spends three quarters of a number's time
# getting there from free text.
_PLAIN_E164 = re.compile(r"\+[1-9]\d{6,16}")


@functools.cache
def _national_prefix(country_code: int) -> re.Pattern | None:
    """The pattern of the country's national (trunk) prefix that `parse` strips, if any."""
    region = phonenumbers.region_code_for_country_code(country_code)
    metadata = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(country_code, region)
    pattern = metadata.national_prefix_for_parsing if metadata else None
    return re.compile(pattern) if pattern else None


def _plain_e164_is_valid(value: str) -> bool:
    """True when `value` is a plain E.164 number that `parse` would take exactly as written
    and that is valid, so it is already its own E.164 form. False means "not known": the full
    parse decides (a number it might rewrite, e.g. with a trunk prefix, always goes there)."""
    if not _PLAIN_E164.fullmatch(value):
        return False
    # The country code is the shortest known prefix, as `parse` reads it.
    for length in (1, 2, 3):
        country_code = int(value[1 : 1 + length])
        if country_code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            break
    else:
        return False
    national = value[1 + length :]
    if national.startswith("0"):
        return False  # Italian-style leading zeros are kept apart by parse
    prefix = _national_prefix(country_code)
    if prefix is not None and prefix.match(national):
        return False
    descriptions = _number_descriptions(country_code)
    if descriptions is None:
        number = phonenumbers.PhoneNumber(country_code=country_code, national_number=int(national))
        return phonenumbers.is_valid_number(number)
    general, kinds = descriptions
    return _matches(general, national) and any(_matches(kind, national) for kind in kinds)


# A number description: its possible lengths (empty: any) and its national number pattern.
_Description = tuple[frozenset[int], re.Pattern]


@functools.cache
def _number_descriptions(country_code: int) -> tuple[_Description, list[_Description]] | None:
    """What `is_valid_number` checks a national number against, for a country code of one
    region: the general description, then those of each number type; valid means matching
    the first and one of the others (phonenumbers tries the types one by one, in order, to
    name the type; validity does not depend on the order). None for a code shared by several
    regions (there the region is picked number by number) or one without metadata: the
    library decides."""
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(country_code, ())
    if len(regions) != 1:
        return None
    region = regions[0]
    metadata = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(country_code, region)
    if metadata is None or not (
        metadata.general_desc and metadata.general_desc.national_number_pattern
    ):
        return None
    if (
        region != phonenumbers.REGION_CODE_FOR_NON_GEO_ENTITY
        and phonenumbers.country_code_for_valid_region(region) != country_code
    ):
        return None
    kinds = [
        metadata.fixed_line, metadata.premium_rate, metadata.toll_free, metadata.shared_cost,
        metadata.voip, metadata.personal_number, metadata.pager, metadata.uan,
        metadata.voicemail,
    ]  # fmt: skip
    # When mobile and fixed-line patterns are the same, phonenumbers only asks the fixed line.
    if not metadata.same_mobile_and_fixed_line_pattern:
        kinds.append(metadata.mobile)
    described = [
        (frozenset(kind.possible_length), re.compile(kind.national_number_pattern))
        for kind in [metadata.general_desc, *kinds]
        if kind is not None and kind.national_number_pattern
    ]
    return described[0], described[1:]


def _matches(description: _Description, national: str) -> bool:
    lengths, pattern = description
    return (not lengths or len(national) in lengths) and pattern.fullmatch(national) is not None


def email_normalize(raw: str | None) -> str | None:
    if raw is None:
        return None
    value = str(raw).strip()
    if not value:
        return None
    if len(value) > MAX_LENGTHS["email"]:
        raise _invalid("email", "email must be at most 254 characters")
    if not _PLAIN_EMAIL.fullmatch(value):
        try:
            _email_validator(value)
        except ValidationError as error:
            raise _invalid("email", "email is not a valid e-mail address") from error
    # The domain is case-insensitive; the local part is kept as written.
    local, _, domain = value.rpartition("@")
    return f"{local}@{domain.lower()}"


def tags_normalize(raw: Any) -> list[str]:
    if raw is None:
        return []
    if isinstance(raw, str):
        raw = re.split(r"[,;|]", raw)
    if not isinstance(raw, list | tuple):
        raise _invalid("tags", "tags must be a list of strings")
    tags: list[str] = []
    for tag in raw:
        if not isinstance(tag, str):
            raise _invalid("tags", "tags must be a list of strings")
        tag = tag.strip()
        if not tag:
            continue
        if len(tag) > MAX_TAG_LENGTH:
            raise _invalid("tags", f"each tag must be at most {MAX_TAG_LENGTH} characters")
        if tag not in tags:
            tags.append(tag)
    if len(tags) > MAX_TAGS:
        raise _invalid("tags", f"a contact has at most {MAX_TAGS} tags")
    return tags


def custom_fields_normalize(raw: Any) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise _invalid("custom_fields", "custom_fields must be a JSON object")
    for key in raw:
        if not isinstance(key, str) or not key.strip() or len(key) > 64:
            raise _invalid("custom_fields", "custom field names are 1 to 64 characters")
    return dict(raw)


def _text(field_name: str, raw: Any, *, required: bool = False) -> str | None:
    if raw is None:
        value = ""
    elif isinstance(raw, str):
        value = raw.strip()
    elif isinstance(raw, int | float) and not isinstance(raw, bool):
        value = str(raw)
    else:
        raise _invalid(field_name, f"{field_name} must be a string")
    if not value:
        if required:
            raise _invalid(field_name, f"{field_name} must be at least 1 character")
        return None
    limit = MAX_LENGTHS[field_name]
    if len(value) > limit:
        raise _invalid(field_name, f"{field_name} must be at most {limit} characters")
    return value


def _source_id(raw: Any) -> UUID | None:
    if raw in (None, ""):
        return None
    try:
        source_id = UUID(str(raw))
    except ValueError as error:
        raise _invalid("source_id", "source_id is not a valid id") from error
    if not Source.objects.filter(pk=source_id).exists():
        raise _invalid("source_id", "source_id does not match a source of this workspace")
    return source_id


def contact_clean(data: dict[str, Any], *, partial: bool = False) -> dict[str, Any]:
    """Validate and normalise contact fields. With `partial`, only the fields present are
    returned (a PATCH); otherwise `first_name` is required. Raises ValidationFailed with the
    first problem found."""
    unknown = set(data) - set(EDITABLE_FIELDS)
    if unknown:
        name = sorted(unknown)[0]
        raise _invalid(name, f"{name} is not a contact field")
    cleaned: dict[str, Any] = {}
    if not partial or "first_name" in data:
        cleaned["first_name"] = _text("first_name", data.get("first_name"), required=True)
    for name in ("last_name", "company", "job_title", "status"):
        if name in data:
            cleaned[name] = _text(name, data[name])
    if "phone" in data:
        cleaned["phone"] = phone_normalize(data["phone"])
    if "email" in data:
        cleaned["email"] = email_normalize(data["email"])
    if "tags" in data:
        cleaned["tags"] = tags_normalize(data["tags"])
    if "custom_fields" in data:
        cleaned["custom_fields"] = custom_fields_normalize(data["custom_fields"])
    if "source_id" in data:
        cleaned["source_id"] = _source_id(data["source_id"])
    return cleaned


def _phone_in_use(phone: str, *, exclude: UUID | None = None) -> bool:
    holders = Contact.objects.filter(phone=phone, archived_at__isnull=True)
    if exclude is not None:
        holders = holders.exclude(pk=exclude)
    return holders.exists()


def _phone_conflict(phone: str) -> Conflict:
    existing = (
        Contact.objects.filter(phone=phone, archived_at__isnull=True)
        .values_list("id", flat=True)
        .first()
    )
    return Conflict(
        "Another contact already uses this phone number.",
        field="phone",
        details={"field": "phone", "existing_id": str(existing) if existing else None},
    )


def _save_guarding_phone(save) -> None:
    """Run a write; a duplicate live phone (even one created by a racing request) becomes a
    Conflict naming the contact that holds the number."""
    try:
        with transaction.atomic():
            save()
    except IntegrityError as error:
        if "contact_live_phone_unique" not in str(error):
            raise
        raise _PhoneTaken() from error


class _PhoneTaken(Exception):
    pass


@transaction.atomic
def contact_create(
    *, data: dict[str, Any], source: Source | None = None, from_api: bool = False
) -> Contact:
    """`source` is recorded when the data names none; `from_api` records the workspace's API
    source instead (`source_for_api`), looked up by the INSERT itself."""
    cleaned = contact_clean(data)
    if source is not None and "source_id" not in cleaned:
        cleaned["source_id"] = source.pk
    api_source = from_api and "source_id" not in cleaned
    contact = Contact(**cleaned)
    phone = cleaned.get("phone")
    # No look before the insert: the unique index decides (a racing request's phone too), and
    # the common case, a free phone, costs one statement. ON CONFLICT rather than catching
    # the IntegrityError spares the savepoint a failed INSERT would need (two statements).
    if not _insert(contact, api_source=api_source):
        raise _phone_conflict(phone)
    if api_source and contact.source_id is None:
        from apps.contacts.services.groups import source_for_api

        # The workspace's first contact through the API: its source does not exist yet.
        contact.source_id = source_for_api().pk
        Contact.objects.filter(pk=contact.pk).update(source_id=contact.source_id)
    emit_event(event_type=CONTACT_CREATED, data=contact_data(contact))
    return contact


_INSERT_SQL: dict[bool, str] = {}


def _insert_sql(*, api_source: bool) -> str:
    """The ORM's INSERT of a contact, skipping a live phone's conflict, with the API source
    looked up in place of `source_id` when `api_source`."""
    sql = _INSERT_SQL.get(api_source)
    if sql is None:
        from apps.contacts.services.groups import API_SOURCE_NAME

        quote = connection.ops.quote_name
        columns = [f.column for f in _insert_fields()]
        source = (
            f"(SELECT {quote('id')} FROM {quote(Source._meta.db_table)} "
            f"WHERE {quote('kind')} = '{SourceKind.API.value}' "
            f"AND {quote('name')} = '{API_SOURCE_NAME}' "
            # source_for_api's .first(): the model's ordering.
            f"ORDER BY {quote('created_at')} DESC, {quote('id')} ASC LIMIT 1)"
        )
        values = [source if c == "source_id" and api_source else "%s" for c in columns]
        sql = (
            f"INSERT INTO {quote(Contact._meta.db_table)} "  # noqa: S608
            f"({', '.join(quote(c) for c in columns)}) VALUES ({', '.join(values)}) "
            # The table's one unique index besides the primary key (a fresh uuid4) is
            # contact_live_phone_unique, so a skipped row is a live phone's. No arbiter is
            # named: naming it would make the INSERT fail wherever that index is missing.
            f"ON CONFLICT DO NOTHING RETURNING {quote('source_id')}"
        )
        _INSERT_SQL[api_source] = sql
    return sql


def _insert_fields() -> list[Any]:
    return [f for f in Contact._meta.concrete_fields if not f.generated]


def _insert(contact: Contact, *, api_source: bool) -> bool:
    """INSERT the new contact as `save()` would (defaults, auto_now_add, adapters); False when
    a live contact holds its phone. With `api_source`, its source_id is the API source's."""
    fields = [f for f in _insert_fields() if not (api_source and f.attname == "source_id")]
    values = [f.get_db_prep_save(f.pre_save(contact, True), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(_insert_sql(api_source=api_source), values)
        row = cursor.fetchone()
    if row is None:
        return False
    contact.source_id = row[0]
    contact._state.adding = False
    contact._state.db = connection.alias
    return True


def _lock_live(contact_id: UUID | str) -> Contact:
    try:
        return Contact.objects.select_for_update().get(pk=contact_id, archived_at__isnull=True)
    except (Contact.DoesNotExist, ValueError, ValidationError):
        raise NotFound("Contact not found.") from None


@transaction.atomic
def contact_update(*, contact: Contact, changes: dict[str, Any]) -> Contact:
    """Change only the fields given; None clears an optional field."""
    cleaned = contact_clean(changes, partial=True)
    contact = _lock_live(contact.pk)
    changed = [name for name, value in cleaned.items() if getattr(contact, name) != value]
    if not changed:
        return contact
    for name in changed:
        setattr(contact, name, cleaned[name])
    phone = cleaned.get("phone")
    if "phone" in changed and phone and _phone_in_use(phone, exclude=contact.pk):
        raise _phone_conflict(phone)
    contact.updated_at = timezone.now()
    fields = [name if name != "source_id" else "source" for name in changed]
    try:
        _save_guarding_phone(lambda: contact.save(update_fields=[*fields, "updated_at"]))
    except _PhoneTaken:
        raise _phone_conflict(phone) from None
    emit_event(event_type=CONTACT_UPDATED, data={**contact_data(contact), "changed": changed})
    return contact


@transaction.atomic
def contact_archive(*, contact: Contact) -> Contact:
    contact = _lock_live(contact.pk)
    contact.archived_at = timezone.now()
    contact.save(update_fields=["archived_at"])
    emit_event(event_type=CONTACT_DELETED, data=contact_data(contact))
    return contact


@transaction.atomic
def contact_opt_out(*, contact: Contact, reason: str = "") -> Contact:
    """Record that the person asked not to receive marketing messages; campaigns skip them."""
    contact = _lock_live(contact.pk)
    if contact.opted_out_at is None:
        contact.opted_out_at = timezone.now()
        contact.opt_out_reason = reason.strip()[:255]
        contact.updated_at = timezone.now()
        contact.save(update_fields=["opted_out_at", "opt_out_reason", "updated_at"])
        emit_event(
            event_type=CONTACT_UPDATED, data={**contact_data(contact), "changed": ["opted_out"]}
        )
    return contact


@transaction.atomic
def contact_opt_in(*, contact: Contact) -> Contact:
    contact = _lock_live(contact.pk)
    if contact.opted_out_at is not None:
        contact.opted_out_at = None
        contact.opt_out_reason = ""
        contact.updated_at = timezone.now()
        contact.save(update_fields=["opted_out_at", "opt_out_reason", "updated_at"])
        emit_event(
            event_type=CONTACT_UPDATED, data={**contact_data(contact), "changed": ["opted_out"]}
        )
    return contact


@dataclass
class BulkResult:
    total: int = 0
    created: int = 0
    failed: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    contacts: list[Contact] = field(default_factory=list)


MAX_BULK = 100


def contact_bulk_create(*, items: list[Any], source: Source | None = None) -> BulkResult:
    """Create each item on its own (a savepoint each): a bad row is reported by its index and
    never aborts the others."""
    if len(items) > MAX_BULK:
        raise _invalid("contacts", f"at most {MAX_BULK} contacts per request")
    result = BulkResult(total=len(items))
    for index, item in enumerate(items):
        try:
            if not isinstance(item, dict):
                raise _invalid("contacts", "each contact must be a JSON object")
            result.contacts.append(contact_create(data=item, source=source))
            result.created += 1
        except ApplicationError as error:
            result.failed += 1
            entry: dict[str, Any] = {"index": index, "error": error.message}
            if isinstance(error, Conflict) and isinstance(error.details, dict):
                entry["existing_id"] = error.details.get("existing_id")
            result.errors.append(entry)
    return result


BULK_ACTIONS = ("add_to_group", "remove_from_group", "add_tag", "remove_tag", "archive")


@transaction.atomic
def contact_bulk_action(
    *,
    action: str,
    contact_ids: Iterable[UUID | str],
    group: Group | None = None,
    tag: str = "",
) -> int:
    """Apply one dashboard bulk action to the selected live contacts; returns how many were
    affected. Each contact changed emits its own `contact.updated` (or `contact.deleted`)."""
    if action not in BULK_ACTIONS:
        raise _invalid("action", "Choose one of the listed actions.")
    ids = _valid_ids(contact_ids)
    contacts = list(Contact.objects.select_for_update().filter(pk__in=ids, archived_at=None))
    if action in ("add_to_group", "remove_from_group"):
        if group is None:
            raise _invalid("group", "Choose a group.")
        from apps.contacts.services.groups import group_add_contacts, group_remove_contacts

        change = group_add_contacts if action == "add_to_group" else group_remove_contacts
        return change(group=group, contact_ids=[c.pk for c in contacts]).changed
    if action == "archive":
        now = timezone.now()
        for contact in contacts:
            contact.archived_at = now
            contact.save(update_fields=["archived_at"])
            emit_event(event_type=CONTACT_DELETED, data=contact_data(contact))
        return len(contacts)
    label = tags_normalize([tag])
    if not label:
        raise _invalid("tag", "Enter a tag.")
    affected = 0
    for contact in contacts:
        has_tag = label[0] in contact.tags
        if action == "add_tag" and not has_tag:
            if len(contact.tags) >= MAX_TAGS:
                continue
            contact.tags = [*contact.tags, label[0]]
        elif action == "remove_tag" and has_tag:
            contact.tags = [t for t in contact.tags if t != label[0]]
        else:
            continue
        contact.updated_at = timezone.now()
        contact.save(update_fields=["tags", "updated_at"])
        emit_event(event_type=CONTACT_UPDATED, data={**contact_data(contact), "changed": ["tags"]})
        affected += 1
    return affected


def _valid_ids(values: Iterable[UUID | str]) -> list[UUID]:
    ids = []
    for value in values:
        try:
            ids.append(value if isinstance(value, UUID) else UUID(str(value)))
        except ValueError:
            continue
    return ids


@transaction.atomic
def note_add(*, contact: Contact, body: str, author_email: str = "") -> Note:
    body = (body or "").strip()
    if not body:
        raise _invalid("body", "A note cannot be empty.")
    if len(body) > 10_000:
        raise _invalid("body", "A note is at most 10,000 characters.")
    contact = _lock_live(contact.pk)
    note = Note.objects.create(contact=contact, body=body, author_email=author_email)
    emit_event(
        event_type=CONTACT_NOTE_ADDED,
        data={
            "contact_id": str(contact.pk),
            "note": {
                "id": str(note.pk),
                "body": note.body,
                "author": author_email or None,
                "created_at": note.created_at.isoformat().replace("+00:00", "Z"),
            },
        },
    )
    return note
