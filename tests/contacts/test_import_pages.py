import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import schema_context

from apps.contacts.models import Contact, ImportJob
from apps.contacts.services import imports
from apps.contacts.tasks import contact_import_task

CSV = b"First Name,Phone,Tags\nAnurag,+919999999999,india\nBad,12,\n"


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path)},
        },
    }


def acme_schema():
    return schema_context("acme")


def upload(client, content=CSV, name="people.csv"):
    return client.post(
        "/acme/contacts/imports/upload/", {"file": SimpleUploadedFile(name, content)}
    )


def test_the_whole_import_journey(alice_client, acme, django_capture_on_commit_callbacks):
    response = upload(alice_client)
    assert response.status_code == 302
    with acme_schema():
        job = ImportJob.objects.get()
    page = alice_client.get(response["Location"])
    assert b"Which column is which" in page.content
    assert b'name="map_0"' in page.content

    mapping = {"map_0": "first_name", "map_1": "phone", "map_2": "tags", "on_existing": "update"}
    preview = alice_client.post(
        f"/acme/contacts/imports/{job.pk}/preview/", mapping, HTTP_HX_REQUEST="true"
    )
    assert preview.status_code == 200
    assert b"+919999999999" in preview.content
    assert b"phone is not a valid number" in preview.content

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        started = alice_client.post(f"/acme/contacts/imports/{job.pk}/start/", mapping)
    assert started.status_code == 302 and len(callbacks) == 1
    contact_import_task.apply(args=["acme", str(job.pk)])

    progress = alice_client.get(f"/acme/contacts/imports/{job.pk}/", HTTP_HX_REQUEST="true")
    assert b"Import finished" in progress.content
    assert b"every 1s" not in progress.content
    failed = alice_client.get(f"/acme/contacts/imports/{job.pk}/failed-rows.csv")
    body = b"".join(failed.streaming_content).decode("utf-8-sig")
    assert "Bad,12,,3,phone is not a valid number" in body
    with acme_schema():
        assert Contact.objects.get(phone="+919999999999").tags == ["india"]


def test_a_running_import_polls_for_progress(alice_client, acme):
    upload(alice_client)
    with acme_schema():
        job = ImportJob.objects.get()
        ImportJob.objects.filter(pk=job.pk).update(status="running", bytes_processed=10)
    page = alice_client.get(f"/acme/contacts/imports/{job.pk}/", HTTP_HX_REQUEST="true")
    assert b'hx-trigger="every 1s"' in page.content and b"Importing" in page.content


def test_a_bad_file_gets_a_clear_message(alice_client, acme):
    response = upload(alice_client, content=b"\x00\x01\x02binary")
    assert response.status_code == 422
    assert b"binary file" in response.content
    response = upload(alice_client, content="é,ü\n".encode("latin-1"))
    assert b"not UTF-8" in response.content


def test_an_oversized_upload_is_refused_before_reading_it(alice_client, acme, monkeypatch):
    monkeypatch.setattr(imports, "MAX_BYTES", 1000)
    response = upload(alice_client, content=b"first_name\n" + b"x\n" * 40000)
    assert response.status_code == 413
    assert b"the limit is" in response.content
    with acme_schema():
        assert not ImportJob.objects.exists()


def test_starting_without_first_name_shows_the_error(alice_client, acme):
    upload(alice_client)
    with acme_schema():
        job = ImportJob.objects.get()
    response = alice_client.post(
        f"/acme/contacts/imports/{job.pk}/start/",
        {"map_0": "", "map_1": "phone", "on_existing": "update"},
    )
    assert response.status_code == 422 and b"First name" in response.content


def test_a_viewer_cannot_import(bob_client, acme):
    assert bob_client.get("/acme/contacts/imports/").status_code == 403
    assert upload(bob_client).status_code == 403


def test_the_outsider_cannot_see_or_start_imports(alice_client, charlie_client, acme):
    upload(alice_client)
    with acme_schema():
        job = ImportJob.objects.get()
    for url in ("/acme/contacts/imports/", f"/acme/contacts/imports/{job.pk}/"):
        assert charlie_client.get(url).status_code == 404
    assert charlie_client.post(f"/acme/contacts/imports/{job.pk}/start/").status_code == 404
    assert charlie_client.get(f"/globex/contacts/imports/{job.pk}/").status_code == 404


def test_the_upload_still_checks_csrf(alice, acme):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(alice, backend="django.contrib.auth.backends.ModelBackend")
    response = upload(client)
    assert response.status_code == 403
    with acme_schema():
        assert not ImportJob.objects.exists()
