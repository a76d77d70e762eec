"""CSV import of contacts.

Rules owned here:
- a file is refused up front, with a message a person can act on, when it is too large, empty,
  binary, not UTF-8, or has no usable header line; nothing is stored for a refused file;
- columns are mapped to contact fields (auto-detected from the header, changeable), to
  `tags` (comma-separated) or to custom fields; `first_name` must be mapped;
- every row is validated by the same rules as the API (`contact_clean`); a bad row is
  recorded with its reason and never stops the import;
- an existing live contact with the row's phone is updated (non-empty cells replace, tags are
  added, custom fields merged) or skipped, as chosen; a phone repeated within one batch of the
  file fails on its later rows;
- the file is streamed: rows are read in batches of BATCH_ROWS, COPYed into a temporary
  staging table and written with set-based statements, so memory does not grow with the file;
- each batch commits together with its events (outbox), its failed rows and the job's
  counters: whatever happens to the worker, the report matches the data, and a re-run resumes
  after the last committed batch.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import functools
import io
import json
import os
import queue
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from psycopg.types.json import Jsonb

from apps.contacts.events import CONTACT_CREATED, CONTACT_UPDATED
from apps.contacts.models import (
    Contact,
    Group,
    ImportFailure,
    ImportJob,
    ImportStatus,
    OnExisting,
    Source,
    SourceKind,
)
from apps.contacts.services.contacts import contact_clean
from apps.contacts.services.groups import group_create
from apps.core.errors import ApplicationError, ValidationFailed
from apps.webhooks.models import Event

# A 1,000,000-row file of typical contacts is about 100 MB.
MAX_BYTES = getattr(settings, "CONTACTS_IMPORT_MAX_BYTES", 250 * 1024 * 1024)
# Rows per batch: one transaction, one COPY and a few set-based statements each. Larger
# batches are faster but hold more rows (and their raw cells) in memory at once.
BATCH_ROWS = 10_000
# Batches written at once, each by a thread with its own database connection: PostgreSQL's
# index upkeep (the search index above all) is most of an import's cost and runs on one core
# per connection. Commits stay in file order (see _write_batch), so a resumed import and the
# report stay true. Tests that run inside a transaction use one.
WRITERS = getattr(settings, "CONTACTS_IMPORT_WRITERS", 2)
WAIT_LIMIT = 600  # seconds a batch waits for the one before it to commit
# The first batch is smaller: nothing is written until it is ready, and a full one takes the
# reader about 0.8 s; later batches are read while the previous one is written.
FIRST_BATCH_ROWS = 2_000
HEAD_BYTES = 64 * 1024
PREVIEW_ROWS = 10
CONTACT_FIELDS = ("first_name", "last_name", "phone", "email", "company", "job_title", "status")
TARGET_LABELS = {
    "first_name": "First name",
    "last_name": "Last name",
    "phone": "Phone",
    "email": "E-mail",
    "company": "Company",
    "job_title": "Job title",
    "status": "Status",
    "tags": "Tags",
}
# Header spellings recognised automatically (compared lowercased, without punctuation).
HEADER_ALIASES = {
    "first_name": {"first name", "firstname", "first", "given name", "name", "full name"},
    "last_name": {"last name", "lastname", "surname", "family name", "last"},
    "phone": {"phone", "phone number", "mobile", "mobile number", "whatsapp", "whatsapp number",
              "msisdn", "cell", "telephone", "tel", "number"},
    "email": {"email", "e mail", "email address", "mail"},
    "company": {"company", "company name", "organisation", "organization", "org", "business"},
    "job_title": {"job title", "title", "position", "role", "designation", "job"},
    "status": {"status", "stage", "lifecycle stage"},
    "tags": {"tags", "tag", "labels", "label"},
}  # fmt: skip
CUSTOM_PREFIX = "custom:"


def _refuse(message: str) -> ValidationFailed:
    return ValidationFailed(message, field="file", details=[{"field": "file", "message": message}])


def _normalise_header(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", name.lower()).strip()


def custom_key_for(header: str) -> str:
    key = re.sub(r"[^a-z0-9]+", "_", header.lower()).strip("_")
    return key[:64] or "field"


def auto_mapping(headers: list[str]) -> dict[str, str]:
    """Column index → target: a contact field, `tags`, `custom:<key>`; unknown columns become
    custom fields (a person can switch any of them to "ignore")."""
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for index, header in enumerate(headers):
        normal = _normalise_header(header)
        target = ""
        for field_name, aliases in HEADER_ALIASES.items():
            if (normal in aliases or normal == field_name.replace("_", " ")) and (
                field_name not in used
            ):
                target = field_name
                break
        if not target and normal.startswith(("custom ", "cf ")):
            target = CUSTOM_PREFIX + custom_key_for(normal.split(" ", 1)[1])
        if not target:
            target = CUSTOM_PREFIX + custom_key_for(header)
        if target in used:
            target = ""
        used.add(target)
        mapping[str(index)] = target
    return mapping


def _looks_like_data(cell: str) -> bool:
    cell = cell.strip()
    return bool(re.fullmatch(r"\+?[\d\s().\-]{7,}", cell) or re.fullmatch(r"[^@\s]+@[^@\s]+", cell))


def csv_text(raw: bytes, refuse: Callable[[str], Exception]) -> str:
    """An uploaded CSV's bytes as text; `refuse(message)` is raised for a binary file or one
    that is not UTF-8 (a BOM is dropped). Contact imports and campaign audience uploads share
    it."""
    if b"\x00" in raw:
        raise refuse("This is a binary file, not a CSV. Export the sheet as “CSV UTF-8”.")
    try:
        return codecs.decode(raw, "utf-8-sig")
    except UnicodeDecodeError:
        raise refuse(
            "The file is not UTF-8 text. In your spreadsheet, save it as “CSV UTF-8” and "
            "upload it again."
        ) from None


def csv_delimiter(first_line: str) -> str:
    """The separator a spreadsheet used: the most frequent of , ; tab | in the first line."""
    counts = {d: first_line.count(d) for d in (",", ";", "\t", "|")}
    return max(counts, key=counts.get) if any(counts.values()) else ","


def _inspect_head(head: bytes) -> tuple[str, list[str]]:
    """(delimiter, headers) of a file from its first bytes, or a clear refusal."""
    if not head.strip():
        raise _refuse("The file is empty.")
    # A multi-byte character may be cut at the end of the sample: drop the partial last line
    # (a NUL byte anywhere in the head still marks the file as binary).
    sample = head if len(head) < HEAD_BYTES else head[: head.rfind(b"\n") + 1] or head
    text = csv_text(sample if b"\x00" not in head else head, _refuse)
    first_line = text.splitlines()[0] if text.splitlines() else ""
    delimiter = csv_delimiter(first_line)
    headers = next(csv.reader(io.StringIO(first_line), delimiter=delimiter), [])
    headers = [h.strip() for h in headers]
    if not any(headers):
        raise _refuse("The first line is empty: it should name the columns.")
    if any(_looks_like_data(h) for h in headers):
        raise _refuse(
            "The first line looks like data (a phone number or e-mail). The file needs a "
            "header line naming its columns, e.g. first_name,phone,email."
        )
    if any(not h for h in headers):
        raise _refuse("Every column needs a name in the header line; one is blank.")
    duplicates = sorted({h for h in headers if headers.count(h) > 1})
    if duplicates:
        raise _refuse(f"Column names must be unique; “{duplicates[0]}” appears twice.")
    return delimiter, headers


def import_upload(*, uploaded_file, actor_email: str = "") -> ImportJob:
    """Check and store an uploaded CSV; the job then waits for its column mapping."""
    size = uploaded_file.size or 0
    if size > MAX_BYTES:
        raise _refuse(
            f"The file is {size / 1048576:.0f} MB; the limit is {MAX_BYTES / 1048576:.0f} MB. "
            "Split it and import the parts."
        )
    uploaded_file.seek(0)
    head = uploaded_file.read(HEAD_BYTES)
    uploaded_file.seek(0)
    delimiter, headers = _inspect_head(head)
    job_id = uuid.uuid4()
    name = f"imports/{connection.schema_name}/{job_id}.csv"
    path = default_storage.save(name, uploaded_file)
    return ImportJob.objects.create(
        id=job_id,
        file_name=(uploaded_file.name or "contacts.csv")[:255],
        file_path=path,
        file_size=size,
        delimiter=delimiter,
        headers=headers,
        mapping=auto_mapping(headers),
        created_by_email=actor_email,
    )


def mapping_validate(*, job: ImportJob, mapping: dict[str, str]) -> dict[str, str]:
    cleaned: dict[str, str] = {}
    seen: dict[str, str] = {}
    for index in range(len(job.headers)):
        target = (mapping.get(str(index)) or "").strip()
        if target.startswith(CUSTOM_PREFIX):
            key = custom_key_for(target[len(CUSTOM_PREFIX) :])
            target = CUSTOM_PREFIX + key
        elif target and target not in TARGET_LABELS:
            raise ValidationFailed(f"“{target}” is not a contact field.", field="mapping")
        if target and target in seen:
            raise ValidationFailed(
                f"Columns “{seen[target]}” and “{job.headers[index]}” are both mapped to "
                f"{TARGET_LABELS.get(target, target)}; map each field once.",
                field="mapping",
            )
        if target:
            seen[target] = job.headers[index]
        cleaned[str(index)] = target
    if "first_name" not in seen:
        raise ValidationFailed(
            "Map a column to First name: every contact needs one.", field="mapping"
        )
    return cleaned


def row_to_contact(row: list[str], mapping: dict[str, str]) -> dict[str, Any]:
    """The cleaned contact fields of one CSV row, or ValidationFailed with the reason."""
    fields, custom_fields = _mapped_positions(tuple(mapping.items()))
    width = len(row)
    data: dict[str, Any] = {
        target: row[position].strip() if position < width else "" for position, target in fields
    }
    custom = {}
    for position, key in custom_fields:
        value = row[position].strip() if position < width else ""
        if value:
            custom[key] = value
    if custom:
        data["custom_fields"] = custom
    return contact_clean(data)


@functools.lru_cache(maxsize=32)
def _mapped_positions(
    mapping: tuple[tuple[str, str], ...],
) -> tuple[tuple[tuple[int, str], ...], tuple[tuple[int, str], ...]]:
    """((position, contact field), ...), ((position, custom field key), ...) of a mapping,
    worked out once per import rather than once per row."""
    fields, custom = [], []
    for index, target in mapping:
        if target.startswith(CUSTOM_PREFIX):
            custom.append((int(index), target[len(CUSTOM_PREFIX) :]))
        elif target:
            fields.append((int(index), target))
    return tuple(fields), tuple(custom)


@dataclass
class PreviewRow:
    number: int
    cells: list[str]
    contact: dict[str, Any] | None
    error: str
    existing: bool


def _open_rows(job: ImportJob):
    """(binary file, csv reader) over the stored file; the reader yields lists of cells."""
    raw = default_storage.open(job.file_path, "rb")
    text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
    return raw, csv.reader(text, delimiter=job.delimiter)


def import_preview(*, job: ImportJob, mapping: dict[str, str]) -> list[PreviewRow]:
    mapping = mapping_validate(job=job, mapping=mapping)
    rows: list[PreviewRow] = []
    raw, reader = _open_rows(job)
    with raw:
        try:
            next(reader, None)
            for number, cells in enumerate(reader, start=2):
                if not any(cell.strip() for cell in cells):
                    continue
                try:
                    contact, error = row_to_contact(cells, mapping), ""
                except ApplicationError as exc:
                    contact, error = None, exc.message
                rows.append(PreviewRow(number, cells, contact, error, False))
                if len(rows) >= PREVIEW_ROWS:
                    break
        except (UnicodeDecodeError, csv.Error) as exc:
            raise _refuse(_read_error(exc, len(rows) + 2)) from None
    phones = [r.contact["phone"] for r in rows if r.contact and r.contact.get("phone")]
    taken = set(
        Contact.objects.filter(phone__in=phones, archived_at=None).values_list("phone", flat=True)
    )
    for row in rows:
        row.existing = bool(row.contact and row.contact.get("phone") in taken)
    return rows


@transaction.atomic
def import_start(
    *,
    job: ImportJob,
    mapping: dict[str, str],
    on_existing: str = OnExisting.UPDATE,
    group: Group | None = None,
    new_group_name: str = "",
    source: Source | None = None,
) -> ImportJob:
    """Fix the mapping and options and queue the import (after commit)."""
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    if job.status != ImportStatus.UPLOADED:
        raise ApplicationError("This import has already been started.", code="conflict", status=409)
    if on_existing not in OnExisting.values:
        raise ValidationFailed("Choose update or skip for existing phones.", field="on_existing")
    job.mapping = mapping_validate(job=job, mapping=mapping)
    if new_group_name.strip():
        group = group_create(name=new_group_name)
    if source is None:
        stamp = timezone.localtime().strftime("%Y-%m-%d %H:%M")
        source = Source.objects.create(
            name=f"Import of {job.file_name} ({stamp})"[:255], kind=SourceKind.IMPORT
        )
    job.on_existing = on_existing
    job.group = group
    job.source = source
    job.status = ImportStatus.QUEUED
    job.save()
    from apps.contacts.tasks import contact_import_task

    schema_name = connection.schema_name
    transaction.on_commit(lambda: contact_import_task.delay(schema_name, str(job.pk)))
    return job


def _read_error(exc: Exception, row_number: int) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return (
            f"The file stops being UTF-8 text near row {row_number}. Save it as “CSV UTF-8” "
            "and import the remaining rows again."
        )
    return f"Row {row_number} cannot be read as CSV ({exc})."


# --- the run --------------------------------------------------------------------------------

# What Python COPYs into the staging table, all as text: `tags` as an array literal and
# `custom_fields` as JSON, formatted by the reader thread rather than by psycopg's dumpers in
# the thread that waits on the database.
STAGE_COLUMNS = (
    "row_number", "id", "event_id", "first_name", "last_name", "phone", "email", "company",
    "job_title", "status", "tags", "custom_fields",
)  # fmt: skip
ID_BYTES = 16 + 12  # random bytes per staged row: its contact's uuid, then its event's id
ISO = """to_char({col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""
EVENT_DATA = f"""jsonb_build_object(
    'id', c.id::text, 'first_name', c.first_name, 'last_name', c.last_name, 'phone', c.phone,
    'email', c.email, 'company', c.company, 'job_title', c.job_title, 'status', c.status,
    'tags', to_jsonb(c.tags), 'custom_fields', c.custom_fields,
    'source_id', c.source_id::text, 'created_at', {ISO.format(col="c.created_at")},
    'updated_at', CASE WHEN c.updated_at IS NULL THEN NULL
                       ELSE {ISO.format(col="c.updated_at")} END)"""
CONTACTS = Contact._meta.db_table
EVENTS = Event._meta.db_table
MEMBERS = Contact.groups.through._meta.db_table


def import_run(*, job_id: uuid.UUID | str) -> ImportJob:
    """Run (or resume) an import. Safe to call twice: batches already committed are skipped."""
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job_id)
        if job.is_finished or job.status == ImportStatus.UPLOADED:
            return job
        job.status = ImportStatus.RUNNING
        job.started_at = job.started_at or timezone.now()
        job.save(update_fields=["status", "started_at"])
    prepared: queue.Queue = queue.Queue(maxsize=2)
    stop = threading.Event()
    # Reading and validating rows (Python) runs in a thread while the previous batch is
    # written (PostgreSQL), so the two overlap; at most three batches are in memory.
    reader_thread = threading.Thread(
        target=_read_batches, args=(job, prepared, stop), name="contact-import-reader"
    )
    reader_thread.start()
    try:
        end = _Writers(job, prepared).run(WRITERS)
        if isinstance(end, _ReadFailure):
            return _finish(job, ImportStatus.FAILED, end.message)
    finally:
        stop.set()
        while reader_thread.is_alive():
            # Unblock a reader waiting on a full queue, then let it end.
            with contextlib.suppress(queue.Empty):
                prepared.get_nowait()
            reader_thread.join(timeout=0.05)
    return _finish(job, ImportStatus.COMPLETED, "")


@dataclass
class _ReadFailure:
    message: str


@dataclass
class _Batch:
    rows: int
    bytes_read: int
    staged: list[tuple]
    failures: list[ImportFailure]
    cells_by_row: dict[int, list[str]]
    phones: set[str]
    # A phone of this batch is in the previous one too: written after it, not beside it.
    after_previous: bool = False


class _EarlierBatchLost(Exception):
    """A batch before this one did not commit; this one must not either."""


class _Writers:
    """Writes the reader's batches with `count` threads (this one among them), each batch in
    a transaction of its own. Batches are taken in file order; two written at once are
    neighbours in the file and share no phone (a batch that does waits for the one before
    it), so neither waits on the other's rows, and each commits after the one before it
    (see _write_batch). After an error no batch is taken, and none after the failed one
    commits."""

    def __init__(self, job: ImportJob, prepared: queue.Queue) -> None:
        self.job, self.prepared = job, prepared
        self.taking = threading.Lock()
        self.changed = threading.Condition()
        self.next_number = 0
        self.rows_before = job.rows_processed
        self.committed = -1  # the number of the last batch committed
        self.end: _ReadFailure | None = None
        self.ended = False
        self.error: BaseException | None = None

    def run(self, count: int) -> _ReadFailure | None:
        """Write every batch; what ended the file (None, or the read failure)."""
        tenant = connection.tenant
        helpers = [
            threading.Thread(target=self._helper, args=(tenant,), name=f"contact-import-writer-{n}")
            for n in range(1, count)
        ]
        for helper in helpers:
            helper.start()
        try:
            self._write()
        finally:
            for helper in helpers:
                helper.join()
        if self.error is not None:
            raise self.error
        return self.end

    def _helper(self, tenant) -> None:
        try:
            connection.set_tenant(tenant)
            self._write()
        except BaseException as exc:  # noqa: BLE001 - raised again by run()
            self._stop(exc)
        finally:
            connection.close()

    def _stop(self, error: BaseException) -> None:
        with self.changed:
            self.error = self.error or error
            self.changed.notify_all()

    def _take(self) -> tuple[int, int, _Batch] | None:
        with self.taking:
            while not self.ended and self.error is None:
                try:
                    item = self.prepared.get(timeout=0.1)
                except queue.Empty:
                    continue
                if item is None or isinstance(item, _ReadFailure):
                    self.ended, self.end = True, item
                    return None
                taken = (self.next_number, self.rows_before, item)
                self.next_number += 1
                self.rows_before += item.rows
                return taken
            return None

    def _write(self) -> None:
        while (taken := self._take()) is not None:
            number, rows_before, batch = taken
            try:
                if batch.after_previous:
                    self._wait_for_commit_of(number - 1)
                _write_batch(
                    self.job,
                    batch,
                    rows_before=rows_before,
                    before_counting=functools.partial(self._wait_for_commit_of, number - 1),
                )
            except BaseException as exc:  # noqa: BLE001 - raised again by run()
                self._stop(exc)
                return
            with self.changed:
                self.committed = max(self.committed, number)
                self.changed.notify_all()

    def _wait_for_commit_of(self, number: int) -> None:
        # A batch takes seconds. The limit only matters if a batch ever waited on the rows
        # of the one after it (the phone check above prevents that): it fails, resumably,
        # instead of hanging.
        with self.changed:
            self.changed.wait_for(
                lambda: self.committed >= number or self.error is not None, timeout=WAIT_LIMIT
            )
            if self.committed < number:
                raise _EarlierBatchLost


def _read_batches(job: ImportJob, prepared: queue.Queue, stop: threading.Event) -> None:
    """Producer: read the file after the rows already committed, validate each row and queue
    batches; then None, or a _ReadFailure when the file cannot be read further."""

    def put(item) -> bool:
        while not stop.is_set():
            try:
                prepared.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    row_number = 1
    try:
        raw, reader = _open_rows(job)
        with raw:
            next(reader, None)  # the header line
            already = job.rows_processed
            batch: list[tuple[int, list[str]]] = []
            batch_rows = min(FIRST_BATCH_ROWS, BATCH_ROWS)
            previous_phones: set[str] = set()

            def prepared_batch(bytes_read: int) -> _Batch:
                nonlocal previous_phones
                prepared_ = _prepare_batch(job, batch, bytes_read=bytes_read)
                prepared_.after_previous = not prepared_.phones.isdisjoint(previous_phones)
                previous_phones = prepared_.phones
                return prepared_

            for cells in reader:
                row_number += 1
                # A blank line (every cell empty or spaces) is no row; the join is the same
                # test as any(cell.strip() ...) at a tenth of the cost.
                if not "".join(cells).strip():
                    continue
                if already:
                    already -= 1
                    continue
                batch.append((row_number, cells))
                if len(batch) >= batch_rows:
                    if not put(prepared_batch(raw.tell())):
                        return
                    batch, batch_rows = [], BATCH_ROWS
            if batch and not put(prepared_batch(job.file_size)):
                return
    except (UnicodeDecodeError, csv.Error) as exc:
        put(_ReadFailure(_read_error(exc, row_number + 1)))
        return
    except Exception as exc:  # noqa: BLE001 - reported by the consumer, with its traceback
        put(_ReadFailure(f"The import stopped on an unexpected error: {exc}"))
        raise
    put(None)


def _finish(job: ImportJob, status: str, error: str) -> ImportJob:
    ImportJob.objects.filter(pk=job.pk).update(
        status=status, error=error, finished_at=timezone.now()
    )
    job.refresh_from_db()
    return job


def _prepare_batch(
    job: ImportJob, batch: list[tuple[int, list[str]]], *, bytes_read: int
) -> _Batch:
    failures: list[ImportFailure] = []
    staged: list[tuple] = []
    cells_by_row: dict[int, list[str]] = {}
    # A phone repeated inside the batch: the first row wins, later ones fail.
    first_row_of_phone: dict[str, int] = {}
    header_width = len(job.headers)
    # Ids for each new contact and its event, from one read of the OS's random source per
    # batch: one call per row, in Python or in PostgreSQL (gen_random_uuid), cost a second of
    # CPU per 100k rows.
    drawn = os.urandom(ID_BYTES * len(batch))
    for number, cells in batch:
        cells_by_row[number] = cells
        if len(cells) > header_width and any(c.strip() for c in cells[header_width:]):
            failures.append(_failure(job, number, cells, "The row has more cells than the header."))
            continue
        try:
            contact = row_to_contact(cells, job.mapping)
        except ApplicationError as exc:
            failures.append(_failure(job, number, cells, exc.message))
            continue
        phone = contact.get("phone")
        if phone is not None:
            first = first_row_of_phone.setdefault(phone, number)
            if first != number:
                reason = f"The phone number is already on row {first} of the file."
                failures.append(_failure(job, number, cells, reason))
                continue
        at = ID_BYTES * len(staged)
        staged.append(
            (
                number,
                str(uuid.UUID(bytes=drawn[at : at + 16], version=4)),
                # As webhooks' new_event_id: "evt_" and 12 random bytes in hex.
                "evt_" + drawn[at + 16 : at + ID_BYTES].hex(),
                *(contact.get(name) for name in CONTACT_FIELDS),
                _array_literal(contact.get("tags", [])),
                json.dumps(contact.get("custom_fields", {})),
            )
        )
    return _Batch(len(batch), bytes_read, staged, failures, cells_by_row, set(first_row_of_phone))


def _array_literal(values: list[str]) -> str:
    """A text[] literal; every element quoted, so commas, braces and spaces stay inside it."""
    quoted = (v.replace("\\", "\\\\").replace('"', '\\"') for v in values)
    return "{" + ",".join(f'"{v}"' for v in quoted) + "}"


def _write_batch(
    job: ImportJob, batch: _Batch, *, rows_before: int, before_counting: Callable[[], None]
) -> None:
    """Write one batch and count it on the job, in one transaction.

    `before_counting` waits until the batch before this one committed (it raises if that
    batch failed), and the count only applies to the rows counted before this batch. So
    batches commit in file order, and the job's counters always describe the rows a resumed
    import skips."""
    failures = list(batch.failures)
    staged, cells_by_row = batch.staged, batch.cells_by_row
    with transaction.atomic():
        created = updated = skipped = 0
        if staged:
            created, updated, skipped, sql_failures = _write_staged(job, staged)
            failures += [
                _failure(job, number, cells_by_row[number], reason)
                for number, reason in sql_failures
            ]
        ImportFailure.objects.bulk_create(failures, batch_size=2000)
        before_counting()
        counted = ImportJob.objects.filter(pk=job.pk, rows_processed=rows_before).update(
            rows_processed=F("rows_processed") + batch.rows,
            bytes_processed=min(batch.bytes_read, job.file_size),
            created_count=F("created_count") + created,
            updated_count=F("updated_count") + updated,
            skipped_count=F("skipped_count") + skipped,
            failed_count=F("failed_count") + len(failures),
        )
        if not counted:
            raise _EarlierBatchLost


def _failure(job: ImportJob, number: int, cells: list[str], reason: str) -> ImportFailure:
    return ImportFailure(job=job, row_number=number, values=cells, reason=reason)


def _write_staged(job: ImportJob, staged: list[tuple]) -> tuple[int, int, int, list]:
    """COPY the valid rows into a staging table, then insert and update set-wise. Returns
    (created, updated, skipped, [(row_number, reason)])."""
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE contact_import_stage ("
            " row_number bigint, id uuid, event_id text, first_name text, last_name text,"
            " phone text, email text, company text, job_title text, status text, tags text[],"
            " custom_fields jsonb, existing_id uuid) ON COMMIT DROP"
        )
        with cursor.cursor.copy(
            f"COPY contact_import_stage ({', '.join(STAGE_COLUMNS)}) FROM STDIN"
        ) as copy:
            copy.set_types(["int8", *["text"] * (len(STAGE_COLUMNS) - 1)])
            for row in staged:
                copy.write_row(row)
        updated = skipped = 0
        if _find_existing(cursor):
            if job.on_existing == OnExisting.SKIP:
                cursor.execute(
                    "SELECT count(*) FROM contact_import_stage WHERE existing_id IS NOT NULL"
                )
                (skipped,) = cursor.fetchone()
            else:
                updated = _update_existing(cursor, job)
        created, lost = _insert_new(cursor, job)
        failures = [
            (number, "Another contact took this phone number while the import ran.")
            for number in lost
        ]
        cursor.execute("DROP TABLE contact_import_stage")
    return created, updated, skipped, failures


def _find_existing(cursor) -> int:
    """Point staged rows at the live contacts holding their phones; how many were found."""
    cursor.execute(
        f"UPDATE contact_import_stage s SET existing_id = c.id FROM {CONTACTS} c"
        " WHERE c.phone = s.phone AND c.archived_at IS NULL"
    )
    return cursor.rowcount


def _insert_new(cursor, job: ImportJob) -> tuple[int, list[int]]:
    """Create the staged rows no live contact holds, with a contact.created event each.
    Returns (created, [row_number of rows whose phone was taken meanwhile]).

    The rows were checked against live phones just before, so a conflict needs a contact
    created by someone else in between: the plain insert is tried first, in a savepoint, as
    ON CONFLICT makes every row's insert speculative (a third dearer on a 100k-row import).
    On a conflict it is run again, skipping the rows whose phone is now taken."""
    try:
        with transaction.atomic():
            return _insert_new_rows(cursor, job, on_conflict="")
    except IntegrityError as error:
        if "contact_live_phone_unique" not in str(error):
            raise
    return _insert_new_rows(
        cursor,
        job,
        on_conflict=" ON CONFLICT (phone) WHERE archived_at IS NULL AND phone IS NOT NULL"
        " DO NOTHING",
    )


def _insert_new_rows(cursor, job: ImportJob, *, on_conflict: str) -> tuple[int, list[int]]:
    # Each statement reports what it did through its RETURNING rows, so the staging table is
    # written once (by the COPY), not again row by row to mark outcomes.
    cursor.execute(
        f"WITH inserted AS ("
        f"  INSERT INTO {CONTACTS} (id, first_name, last_name, phone, email, company,"
        "     job_title, status, tags, custom_fields, source_id, opt_out_reason, created_at)"
        "   SELECT id, first_name, last_name, phone, email, company, job_title, status,"
        "     tags, custom_fields, %s, '', now()"
        f"   FROM contact_import_stage WHERE existing_id IS NULL ORDER BY row_number{on_conflict}"
        "   RETURNING *),"
        f" logged AS (INSERT INTO {EVENTS} (id, type, data, created_at)"
        f"   SELECT s.event_id, %s, {EVENT_DATA}, now()"
        "   FROM inserted c JOIN contact_import_stage s ON s.id = c.id)"
        f"{_add_to_group(job, 'inserted')}"
        " SELECT (SELECT count(*) FROM inserted), ARRAY("
        "   SELECT s.row_number FROM contact_import_stage s WHERE s.existing_id IS NULL"
        "   AND NOT EXISTS (SELECT FROM inserted c WHERE c.id = s.id) ORDER BY 1)",
        [job.source_id, CONTACT_CREATED, *_group_params(job)],
    )
    return cursor.fetchone()


def _update_existing(cursor, job: ImportJob) -> int:
    """Apply the staged rows to the live contacts holding their phones (non-empty cells
    replace, tags are added, custom fields merged), with one contact.updated event each."""
    mapped = set(job.mapping.values())
    assignments = [
        f"{name} = COALESCE(s.{name}, c.{name})" for name in CONTACT_FIELDS if name in mapped
    ]
    if "tags" in mapped:
        assignments.append(
            "tags = c.tags || ARRAY(SELECT t FROM unnest(s.tags) AS t WHERE NOT t = ANY(c.tags))"
        )
    assignments.append("custom_fields = c.custom_fields || s.custom_fields")
    assignments.append("updated_at = now()")
    changed = sorted({"custom_fields" if t.startswith(CUSTOM_PREFIX) else t for t in mapped if t})
    cursor.execute(
        f"WITH changed AS (UPDATE {CONTACTS} c SET {', '.join(assignments)}"
        "   FROM contact_import_stage s WHERE s.existing_id = c.id RETURNING c.*),"
        f" logged AS (INSERT INTO {EVENTS} (id, type, data, created_at)"
        f"   SELECT s.event_id, %s,"
        f"   {EVENT_DATA} || jsonb_build_object('changed', %s::jsonb), now()"
        "   FROM changed c JOIN contact_import_stage s ON s.existing_id = c.id)"
        f"{_add_to_group(job, 'changed')}"
        " SELECT count(*) FROM changed",
        [CONTACT_UPDATED, Jsonb(changed), *_group_params(job)],
    )
    return cursor.fetchone()[0]


def _add_to_group(job: ImportJob, written: str) -> str:
    """The CTE that adds the contacts of `written` (a CTE's name) to the job's group."""
    if not job.group_id:
        return ""
    return (
        f", grouped AS (INSERT INTO {MEMBERS} (group_id, contact_id, added_at)"
        f"   SELECT %s, id, now() FROM {written} ON CONFLICT DO NOTHING)"
    )


def _group_params(job: ImportJob) -> list:
    return [job.group_id] if job.group_id else []


def import_failures_csv_rows(*, job: ImportJob):
    """The failed rows as CSV lines: the original cells, then the row number and reason."""

    class Echo:
        def write(self, value: str) -> str:
            return value

    writer = csv.writer(Echo())
    yield "\ufeff"
    yield writer.writerow([*job.headers, "row", "error"])
    failures = ImportFailure.objects.filter(job=job).order_by("row_number")
    for failure in failures.iterator(chunk_size=2000):
        cells = list(failure.values)[: len(job.headers)]
        cells += [""] * (len(job.headers) - len(cells))
        yield writer.writerow([*cells, failure.row_number, failure.reason])
