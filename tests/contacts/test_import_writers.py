"""CSV import with two writers (apps.contacts.services.imports._Writers): batches written
side by side on two connections still commit in file order, treat a phone repeated across
batches as the file's order says, and leave a true report when one of them fails.

The second writer has a connection of its own, which cannot see a test transaction's rows, so
these tests commit (not `transaction=True`, see tests/conftest.py) and remove what they
wrote, before (a run that died) and after."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from apps.contacts.models import Contact, ImportJob, Source
from apps.contacts.services import imports
from apps.webhooks.models import Event

PREFIX = "+9198777"


def _phone(n: int) -> str:
    return f"{PREFIX}{n:05d}"


def _remove_what_the_imports_committed() -> None:
    contacts = Contact.objects.filter(phone__startswith=PREFIX)
    ids = [str(pk) for pk in contacts.values_list("pk", flat=True)]
    Event.objects.filter(data__id__in=ids).delete()
    jobs = ImportJob.objects.filter(file_name="writers.csv")
    sources = list(jobs.values_list("source_id", flat=True))
    contacts.delete()
    jobs.delete()
    Source.objects.filter(pk__in=sources).delete()


@pytest.fixture
def committed(workspaces, django_db_blocker, monkeypatch, settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path)},
        },
    }
    # Batches of two rows, written two at a time.
    monkeypatch.setattr(imports, "WRITERS", 2)
    monkeypatch.setattr(imports, "BATCH_ROWS", 2)
    monkeypatch.setattr(imports, "FIRST_BATCH_ROWS", 2)
    monkeypatch.setattr(imports, "WAIT_LIMIT", 20)  # a regression fails, never hangs
    django_db_blocker.unblock()
    connection.set_tenant(workspaces["acme"])
    _remove_what_the_imports_committed()
    yield workspaces["acme"]
    connection.set_tenant(workspaces["acme"])
    _remove_what_the_imports_committed()
    connection.set_schema_to_public()
    django_db_blocker.restore()


def _start(lines: list[str], **options) -> ImportJob:
    content = ("first_name,phone\n" + "\n".join(lines) + "\n").encode()
    job = imports.import_upload(uploaded_file=SimpleUploadedFile("writers.csv", content))
    return imports.import_start(job=job, mapping={"0": "first_name", "1": "phone"}, **options)


def test_batches_written_side_by_side_keep_the_files_order(committed):
    # Rows 2-3, 4-5, 6-7, 8-9, 10-11: phone 1 comes back in the next batch (updated after
    # it was created) and phone 2 two batches later (likewise, by then committed).
    lines = [
        f"A,{_phone(1)}", f"B,{_phone(2)}",
        f"C,{_phone(1)}", f"D,{_phone(3)}",
        f"E,{_phone(4)}", f"F,{_phone(5)}",
        f"G,{_phone(2)}", f"H,{_phone(6)}",
        f"I,{_phone(7)}", f"J,{_phone(8)}",
    ]  # fmt: skip
    job = imports.import_run(job_id=_start(lines, on_existing="update").pk)
    assert (job.status, job.rows_processed) == ("completed", 10)
    assert (job.created_count, job.updated_count, job.failed_count) == (8, 2, 0)
    ours = Contact.objects.filter(phone__startswith=PREFIX)
    names = dict(ours.values_list("phone", "first_name"))
    assert names == {
        _phone(1): "C", _phone(2): "G", _phone(3): "D", _phone(4): "E", _phone(5): "F",
        _phone(6): "H", _phone(7): "I", _phone(8): "J",
    }  # fmt: skip


def test_a_failed_batch_stops_both_writers_and_the_report_stays_true(committed, monkeypatch):
    lines = [f"P{n},{_phone(n)}" for n in range(10)]
    job = _start(lines)
    original = imports._write_staged

    def fail_the_third_batch(job, staged):
        if staged[0][0] == 6:  # the batch of rows 6 and 7
            raise RuntimeError("worker lost")
        return original(job, staged)

    monkeypatch.setattr(imports, "_write_staged", fail_the_third_batch)
    with pytest.raises(RuntimeError):
        imports.import_run(job_id=job.pk)
    job.refresh_from_db()
    # Only batches before the failed one committed, and the counters say exactly that.
    assert job.status == "running"
    assert job.rows_processed == job.created_count == 4
    assert Contact.objects.filter(phone__startswith=PREFIX).count() == 4

    monkeypatch.setattr(imports, "_write_staged", original)
    job = imports.import_run(job_id=job.pk)
    assert (job.status, job.rows_processed, job.created_count) == ("completed", 10, 10)
    assert Contact.objects.filter(phone__startswith=PREFIX).count() == 10
    created = Event.objects.filter(type="contact.created", data__phone__startswith=PREFIX)
    assert created.count() == 10
