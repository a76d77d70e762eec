"""An audience CSV (dashboard only) becomes a new group: each row's phone links the live
contact that has it or creates one through the contacts services (named after the row, or
after the number when the file has no names, as messaging does for unknown numbers).
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import io

from django.db import transaction
from django.utils import timezone

from apps.contacts.models import Contact, Group
from apps.core.errors import ApplicationError, ValidationFailed

# An audience CSV is a QA-sized list typed or exported by a person; bigger lists go through
# Contacts → Import CSV (streamed, batched) and are picked here as a group.
AUDIENCE_CSV_MAX_ROWS = 5_000
AUDIENCE_CSV_MAX_BYTES = 1024 * 1024


@dataclasses.dataclass
class AudienceUpload:
    group: Group
    created: int = 0
    linked: int = 0
    failures: list[tuple[int, str]] = dataclasses.field(default_factory=list)  # (line, why)

    @property
    def total(self) -> int:
        return self.created + self.linked


def _csv_refuse(message: str) -> ValidationFailed:
    return ValidationFailed(message, field="audience_csv")


def _csv_rows(uploaded_file) -> tuple[list[list[str]], str]:
    if uploaded_file is None:
        raise _csv_refuse("Choose a CSV file of phone numbers first.")
    if (uploaded_file.size or 0) > AUDIENCE_CSV_MAX_BYTES:
        raise _csv_refuse(
            f"The file is larger than {AUDIENCE_CSV_MAX_BYTES // 1024} KB. Import big lists "
            "under Contacts → Import CSV, then pick their group here."
        )
    from apps.contacts.services.imports import csv_delimiter, csv_text

    text = csv_text(uploaded_file.read(), _csv_refuse)
    lines = text.splitlines()
    if not any(line.strip() for line in lines):
        raise _csv_refuse("The file is empty.")
    first = next(line for line in lines if line.strip())
    rows = list(csv.reader(io.StringIO(text), delimiter=csv_delimiter(first)))
    return rows, (uploaded_file.name or "audience.csv")


def _csv_columns(header: list[str]) -> tuple[int | None, int | None, int | None, bool]:
    """(phone, first name, last name) column indexes and whether the first row is a header.
    A first row whose cell is a phone number is data: then column 1 is the phone and column 2
    the name."""
    from apps.contacts.services import phone_normalize
    from apps.contacts.services.imports import auto_mapping

    for cell in header:
        with contextlib.suppress(ApplicationError):
            if any(ch.isdigit() for ch in cell) and phone_normalize(cell):
                return 0, (1 if len(header) > 1 else None), None, False
    targets = {target: int(index) for index, target in auto_mapping(header).items() if target}
    return targets.get("phone"), targets.get("first_name"), targets.get("last_name"), True


@transaction.atomic
def campaign_audience_upload(*, uploaded_file) -> AudienceUpload:
    """Turn a CSV of phone numbers (optionally names) into a new group for the audience. A
    row with a bad number is reported with its line and never stops the others."""
    from apps.contacts.models import SourceKind
    from apps.contacts.services import (
        contact_create,
        group_add_contacts,
        group_create,
        phone_normalize,
        source_create,
    )

    rows, file_name = _csv_rows(uploaded_file)
    header = next(row for row in rows if any(cell.strip() for cell in row))
    phone_col, first_col, last_col, has_header = _csv_columns([c.strip() for c in header])
    if phone_col is None:
        raise _csv_refuse(
            "No phone column: name the column “phone” (or mobile, whatsapp), or upload one "
            "number per line."
        )
    start = rows.index(header) + (1 if has_header else 0)
    data = [(number + 1, row) for number, row in enumerate(rows) if number >= start]
    data = [(number, row) for number, row in data if any(cell.strip() for cell in row)]
    if len(data) > AUDIENCE_CSV_MAX_ROWS:
        raise _csv_refuse(
            f"The file has {len(data):,} rows; at most {AUDIENCE_CSV_MAX_ROWS:,} can be uploaded "
            "here. Import it under Contacts → Import CSV, then pick its group."
        )

    def cell(row: list[str], index: int | None) -> str:
        return row[index].strip() if index is not None and index < len(row) else ""

    failures: list[tuple[int, str]] = []
    # phone -> (line, first name, last name); a number repeated in the file counts once.
    people: dict[str, tuple[int, str, str]] = {}
    for number, row in data:
        try:
            phone = phone_normalize(cell(row, phone_col))
        except ApplicationError as error:
            failures.append((number, f"{cell(row, phone_col)!r}: {error.message}"))
            continue
        if not phone:
            failures.append((number, "The phone is empty."))
            continue
        people.setdefault(phone, (number, cell(row, first_col), cell(row, last_col)))
    if not people:
        reasons = "; ".join(f"line {n}: {reason}" for n, reason in failures[:3])
        raise _csv_refuse(f"No row has a valid phone number ({reasons}).")

    existing = dict(
        Contact.objects.filter(phone__in=list(people), archived_at__isnull=True).values_list(
            "phone", "id"
        )
    )
    stamp = timezone.localtime().strftime("%Y-%m-%d %H:%M:%S")
    label = f"Campaign upload: {file_name}"[:200]
    source = source_create(name=f"{label} ({stamp})", kind=SourceKind.IMPORT)
    result = AudienceUpload(group=group_create(name=f"{label} ({stamp})"))
    ids = []
    for phone, (number, first_name, last_name) in people.items():
        if phone in existing:
            ids.append(existing[phone])
            result.linked += 1
            continue
        try:
            with transaction.atomic():
                contact = contact_create(
                    data={
                        "first_name": (first_name or phone)[:255],
                        "last_name": last_name or None,
                        "phone": phone,
                    },
                    source=source,
                )
        except ApplicationError:
            # A name too long, or another request took the number meanwhile: link it if so.
            holder = Contact.objects.filter(phone=phone, archived_at__isnull=True).first()
            if holder is None:
                failures.append((number, f"{phone}: the contact could not be created."))
                continue
            ids.append(holder.id)
            result.linked += 1
            continue
        ids.append(contact.id)
        result.created += 1
    group_add_contacts(group=result.group, contact_ids=ids)
    result.failures = sorted(failures)
    return result
