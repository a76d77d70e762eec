from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from apps.media import services as media_services
from apps.media.models import Media
from tests.media import samples

URL = "/api/v1/public/media"


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def upload(client, data: bytes, name: str):
    return client.post(URL, {"file": SimpleUploadedFile(name, data)}, format="multipart")


def test_it_uploads_and_reads_the_type_from_the_content(api_client, acme):
    response = upload(api_client(acme, scopes=["media:write"]), samples.png((100, 50)), "a.png")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["kind"], body["mime_type"], body["width"], body["height"]) == (
        "image",
        "image/png",
        100,
        50,
    )


def test_a_jpg_that_is_really_a_pdf_is_a_422(api_client, acme):
    response = upload(api_client(acme), samples.pdf(), "photo.jpg")
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "file"


def test_a_missing_file_is_a_400(api_client, acme):
    response = api_client(acme).post(URL, {"name": "x"}, format="multipart")
    assert response.status_code == 400


def test_it_lists_gets_and_deletes(api_client, acme):
    client = api_client(acme)
    image = upload(client, samples.png(), "a.png").json()
    upload(client, samples.pdf(), "b.pdf")

    assert client.get(URL).json()["pagination"]["total_items"] == 2
    assert [m["name"] for m in client.get(URL, {"kind": "document"}).json()["data"]] == ["b.pdf"]
    assert client.get(f"{URL}/{image['id']}").json()["sha256"] == image["sha256"]
    assert client.delete(f"{URL}/{image['id']}").status_code == 204
    assert client.get(f"{URL}/{image['id']}").status_code == 404
    assert client.get(f"{URL}/not-a-uuid").status_code == 404


def test_delete_is_409_while_a_campaign_uses_it(api_client, acme, monkeypatch):
    client = api_client(acme)
    image = upload(client, samples.png(), "a.png").json()
    monkeypatch.setattr(media_services, "media_active_campaign_uses", lambda *, media: ["May sale"])

    response = client.delete(f"{URL}/{image['id']}")

    assert response.status_code == 409
    assert response.json()["error"]["details"] == {"campaigns": ["May sale"]}


def test_it_rejects_the_outsider(api_client, acme, globex):
    image = upload(api_client(acme), samples.png(), "a.png").json()
    outsider = api_client(globex)
    assert outsider.get(f"{URL}/{image['id']}").status_code == 404
    assert outsider.delete(f"{URL}/{image['id']}").status_code == 404
    assert outsider.get(URL).json()["data"] == []
    connection.set_tenant(acme)
    assert Media.objects.filter(pk=image["id"]).exists()


def test_a_read_only_key_cannot_write(api_client, acme):
    image = upload(api_client(acme), samples.png(), "a.png").json()
    reader = api_client(acme, scopes=["media:read"])
    assert upload(reader, samples.png(), "b.png").status_code == 403
    assert reader.delete(f"{URL}/{image['id']}").status_code == 403
