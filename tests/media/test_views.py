from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from apps.media.models import Media
from tests.media import samples

BASE = "/acme/media/"


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def upload(client, data: bytes, name: str, **headers):
    return client.post(f"{BASE}upload/", {"file": SimpleUploadedFile(name, data)}, **headers)


def media_rows(acme):
    connection.set_tenant(acme)
    return Media.objects.all()


def test_a_drop_zone_upload_answers_the_new_card(alice_client, acme):
    response = upload(alice_client, samples.png(), "a.png", HTTP_X_REQUESTED_WITH="XMLHttpRequest")
    assert response.status_code == 201
    media = media_rows(acme).get()
    assert f'id="media-{media.id}"'.encode() in response.content
    assert b"/thumbnail/" in response.content


def test_a_refused_upload_explains_why(alice_client, acme):
    response = upload(alice_client, samples.pdf(), "a.jpg", HTTP_X_REQUESTED_WITH="XMLHttpRequest")
    assert response.status_code == 422
    assert b"application/pdf" in response.content
    assert not media_rows(acme).exists()


def test_a_plain_form_upload_redirects_with_a_message(alice_client, acme):
    response = upload(alice_client, samples.pdf(), "terms.pdf", follow=True)
    assert b"uploaded" in response.content
    assert media_rows(acme).get().kind == "document"


def test_the_grid_filters_by_type(alice_client, acme):
    upload(alice_client, samples.png(), "pic.png")
    upload(alice_client, samples.pdf(), "doc.pdf")
    page = alice_client.get(BASE, {"kind": "document"}, HTTP_HX_REQUEST="true")
    assert b"doc.pdf" in page.content and b"pic.png" not in page.content


def test_files_and_thumbnails_are_served_to_members(alice_client, bob_client, acme):
    upload(alice_client, samples.png(), "pic.png")
    media = media_rows(acme).get()
    original = bob_client.get(f"{BASE}{media.id}/file/")
    assert original.status_code == 200 and original["Content-Type"] == "image/png"
    assert b"".join(original.streaming_content) == samples.png()
    assert bob_client.get(f"{BASE}{media.id}/thumbnail/").status_code == 200


def test_delete(alice_client, acme):
    upload(alice_client, samples.png(), "pic.png")
    media = media_rows(acme).get()
    assert alice_client.post(f"{BASE}{media.id}/delete/").status_code == 302
    assert not media_rows(acme).exists()


def test_it_rejects_the_outsider(alice_client, charlie_client, acme):
    upload(alice_client, samples.png(), "pic.png")
    media = media_rows(acme).get()
    assert charlie_client.get(BASE).status_code == 404
    assert charlie_client.get(f"{BASE}{media.id}/file/").status_code == 404
    assert charlie_client.get(f"{BASE}{media.id}/thumbnail/").status_code == 404
    assert charlie_client.post(f"{BASE}{media.id}/delete/").status_code == 404
    assert upload(charlie_client, samples.png(), "x.png").status_code == 404
    assert media_rows(acme).count() == 1


def test_a_viewer_cannot_write(alice_client, bob_client, acme):
    upload(alice_client, samples.png(), "pic.png")
    media = media_rows(acme).get()
    assert upload(bob_client, samples.png(), "x.png").status_code == 403
    assert bob_client.post(f"{BASE}{media.id}/delete/").status_code == 403
    assert media_rows(acme).count() == 1
