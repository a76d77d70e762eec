import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.contacts.models import Contact, GroupMember, ImportFailure, ImportJob, Source
from apps.contacts.services import imports
from apps.contacts.services.groups import group_create
from apps.contacts.services.imports import (
    auto_mapping,
    import_failures_csv_rows,
    import_preview,
    import_run,
    import_start,
    import_upload,
)
from apps.contacts.tasks import contact_import_task
from apps.core.errors import ValidationFailed
from apps.webhooks.models import Event
from tests.contacts.conftest import make_contact


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path)},
        },
    }


def upload(content: str | bytes, name="contacts.csv"):
    data = content.encode() if isinstance(content, str) else content
    return import_upload(uploaded_file=SimpleUploadedFile(name, data), actor_email="a@acme.test")


def run(job, **options):
    job = import_start(job=job, mapping=options.pop("mapping", job.mapping), **options)
    contact_import_task.apply(args=["acme", str(job.pk)])
    job.refresh_from_db()
    return job


GOOD = (
    "First Name,Last Name,Mobile,Email,Company,Tags,Plan\n"
    'Anurag,Sharma,+91 99999 99999,anurag@acme.test,Acme,"india, saas",starter\n'
    "Lara,Croft,+14155552671,lara@acme.test,Globex,usa,pro\n"
)


def test_headers_are_mapped_automatically_including_tags_and_custom_fields():
    mapping = auto_mapping(["First Name", "Surname", "WhatsApp", "E-mail", "Tags", "Order ID"])
    assert mapping == {
        "0": "first_name", "1": "last_name", "2": "phone", "3": "email", "4": "tags",
        "5": "custom:order_id",
    }  # fmt: skip


def test_a_good_file_imports_every_row_with_source_group_and_events(in_acme):
    group = group_create(name="Imported")
    job = run(upload(GOOD), group=group)
    assert job.status == "completed"
    assert (job.created_count, job.updated_count, job.failed_count) == (2, 0, 0)
    anurag = Contact.objects.get(phone="+919999999999")
    assert anurag.tags == ["india", "saas"]
    assert anurag.custom_fields == {"plan": "starter"}
    assert anurag.source.kind == "import" and "contacts.csv" in anurag.source.name
    assert GroupMember.objects.filter(group=group).count() == 2
    created = Event.objects.filter(type="contact.created")
    assert created.count() == 2
    data = created.get(data__id=str(anurag.pk)).data
    assert data["phone"] == "+919999999999" and data["tags"] == ["india", "saas"]
    assert data["created_at"].endswith("Z") and data["updated_at"] is None


def test_existing_phones_are_updated_or_skipped_as_chosen(in_acme):
    existing = make_contact(first_name="Old", phone="+919999999999", tags=["vip"])
    job = run(upload(GOOD), on_existing="update")
    existing.refresh_from_db()
    assert (job.created_count, job.updated_count) == (1, 1)
    assert existing.first_name == "Anurag" and existing.tags == ["vip", "india", "saas"]
    assert existing.updated_at is not None
    event = Event.objects.get(type="contact.updated", data__id=str(existing.pk))
    assert "tags" in event.data["changed"]

    job = run(upload(GOOD), on_existing="skip")
    assert (job.created_count, job.updated_count, job.skipped_count) == (0, 0, 2)


def test_bad_rows_are_reported_with_reasons_and_the_rest_imported(in_acme):
    content = (
        "first_name,phone,email\n"
        "Good,+919812345678,good@acme.test\n"
        ",+919812345679,\n"
        "Bad phone,12,\n"
        "Bad mail,,not-an-email\n"
        "Twin,+919812345678,\n"
        "Extra,+919812345670,,surplus\n"
    )
    job = run(upload(content))
    assert (job.created_count, job.failed_count, job.rows_processed) == (1, 5, 6)
    reasons = dict(ImportFailure.objects.filter(job=job).values_list("row_number", "reason"))
    assert reasons[3] == "first_name must be at least 1 character"
    assert "phone" in reasons[4] and "email" in reasons[5]
    assert reasons[6] == "The phone number is already on row 2 of the file."
    assert "more cells" in reasons[7]
    lines = "".join(import_failures_csv_rows(job=job)).lstrip("\ufeff").splitlines()
    assert lines[0] == "first_name,phone,email,row,error"
    reason = "phone is not a valid number in international format (e.g. +919999999999)"
    assert lines[2] == f"Bad phone,12,,4,{reason}"


def test_semicolon_files_and_a_bom_are_understood(in_acme):
    job = upload("\ufefffirst_name;phone\nAna;+919812345678\n")
    assert job.delimiter == ";" and job.headers == ["first_name", "phone"]
    assert run(job).created_count == 1


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00IHDR", "binary"),
        ("first_name,città\nAnna,Roma\n".encode("latin-1"), "not UTF-8"),
        (b"+919999999999,anurag@acme.test\n", "header"),
        (b"first_name,,phone\n", "needs a name"),
        (b"name,name\n", "unique"),
    ],
)
def test_bad_files_are_refused_with_a_clear_message(in_acme, content, message):
    with pytest.raises(ValidationFailed, match=message):
        upload(content)
    assert not ImportJob.objects.exists()


def test_a_file_over_the_limit_is_refused(in_acme, monkeypatch):
    monkeypatch.setattr(imports, "MAX_BYTES", 10)
    with pytest.raises(ValidationFailed, match="limit"):
        upload(GOOD)


def test_the_mapping_needs_a_first_name_and_each_field_once(in_acme):
    job = upload(GOOD)
    with pytest.raises(ValidationFailed, match="First name"):
        import_start(job=job, mapping={"0": "", "2": "phone"})
    with pytest.raises(ValidationFailed, match="map each field once"):
        import_start(job=job, mapping={"0": "first_name", "1": "first_name"})


def test_the_preview_validates_the_first_rows(in_acme):
    make_contact(phone="+14155552671")
    job = upload(GOOD + "Bad,,12,,,,\n")
    rows = import_preview(job=job, mapping=job.mapping)
    assert [r.number for r in rows] == [2, 3, 4]
    assert rows[0].contact["phone"] == "+919999999999" and not rows[0].existing
    assert rows[1].existing
    assert "phone" in rows[2].error


def test_an_interrupted_import_keeps_its_report_true_and_resumes(in_acme, monkeypatch):
    monkeypatch.setattr(imports, "BATCH_ROWS", 2)
    lines = ["first_name,phone"] + [f"P{n},+9198123450{n:02d}" for n in range(5)]
    job = import_start(
        job=upload("\n".join(lines) + "\n"), mapping={"0": "first_name", "1": "phone"}
    )

    original = imports._write_staged
    calls = {"n": 0}

    def crash_on_second_batch(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("worker lost")
        return original(*args, **kwargs)

    monkeypatch.setattr(imports, "_write_staged", crash_on_second_batch)
    with pytest.raises(RuntimeError):
        import_run(job_id=job.pk)
    job.refresh_from_db()
    # The first batch committed with its counters; the second left nothing behind.
    assert (job.status, job.rows_processed, job.created_count) == ("running", 2, 2)
    assert Contact.objects.count() == 2
    assert Event.objects.filter(type="contact.created").count() == 2

    monkeypatch.setattr(imports, "_write_staged", original)
    job = import_run(job_id=job.pk)
    assert (job.status, job.rows_processed, job.created_count) == ("completed", 5, 5)
    assert Contact.objects.count() == 5
    assert Event.objects.filter(type="contact.created").count() == 5
    # Running it again changes nothing.
    assert import_run(job_id=job.pk).created_count == 5


def test_a_file_that_turns_to_bad_bytes_midway_fails_with_a_true_report(in_acme, monkeypatch):
    monkeypatch.setattr(imports, "BATCH_ROWS", 1)
    content = b"first_name,phone\nAna,+919812345678\n" + b"x" * 70000 + b"\nBad\xff\xfe,\n"
    job = run(upload(content), mapping={"0": "first_name", "1": "phone"})
    assert job.status == "failed" and "UTF-8" in job.error
    assert job.created_count == Contact.objects.count() == 1


def test_the_import_source_is_recorded_and_counted(in_acme):
    job = run(upload(GOOD))
    assert Source.objects.get(pk=job.source_id).contacts.count() == 2


def test_updated_contacts_join_the_group_and_skipped_ones_do_not(in_acme):
    existing = make_contact(first_name="Old", phone="+919999999999")
    group = group_create(name="Imported")

    job = run(upload(GOOD), on_existing="skip", group=group)
    assert (job.created_count, job.skipped_count) == (1, 1)
    assert not GroupMember.objects.filter(group=group, contact=existing).exists()

    job = run(upload(GOOD), on_existing="update", group=group)
    assert (job.created_count, job.updated_count) == (0, 2)
    assert GroupMember.objects.filter(group=group).count() == 2
    assert GroupMember.objects.filter(group=group, contact=existing).exists()


def test_a_phone_taken_while_the_import_runs_fails_only_its_row(in_acme, monkeypatch):
    # Given a contact that appears after the batch looked for existing phones (as if another
    # request created it in between)
    taken = make_contact(first_name="Racer", phone="+919999999999")
    monkeypatch.setattr(imports, "_find_existing", lambda cursor: 0)
    group = group_create(name="Imported")

    # When the file holding its phone is imported
    job = run(upload(GOOD), group=group)

    # Then that row fails with its reason, and the rest of the batch is imported
    assert (job.status, job.created_count, job.updated_count, job.failed_count) == (
        "completed", 1, 0, 1,
    )  # fmt: skip
    failure = ImportFailure.objects.get(job=job)
    assert failure.row_number == 2
    assert failure.reason == "Another contact took this phone number while the import ran."
    assert Contact.objects.filter(phone="+919999999999").get() == taken
    lara = Contact.objects.get(phone="+14155552671")
    assert list(GroupMember.objects.filter(group=group).values_list("contact", flat=True)) == [
        lara.pk
    ]
    created = Event.objects.filter(type="contact.created").values_list("data__id", flat=True)
    assert sorted(created) == sorted([str(taken.pk), str(lara.pk)])


def test_tags_and_custom_fields_keep_quotes_backslashes_braces_and_accents(in_acme):
    content = (
        "first_name,phone,tags,Note\n"
        'Zoë,+919812345678,"say ""hi""; back\\slash; {braced}; NULL","tab\there, ""q"" \\N é"\n'
    )
    job = run(upload(content))
    assert (job.created_count, job.failed_count) == (1, 0)
    contact = Contact.objects.get(phone="+919812345678")
    assert contact.first_name == "Zoë"
    assert contact.tags == ['say "hi"', "back\\slash", "{braced}", "NULL"]
    assert contact.custom_fields == {"note": 'tab\there, "q" \\N é'}
    event = Event.objects.get(type="contact.created", data__id=str(contact.pk))
    assert event.id.startswith("evt_") and len(event.id) == 28
    assert event.data["tags"] == contact.tags
    assert event.data["custom_fields"] == contact.custom_fields
