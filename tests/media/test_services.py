from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from apps.core.errors import Conflict, ValidationFailed
from apps.media import selectors as media_selectors
from apps.media import services as media_services
from apps.media.models import Media
from apps.media.services import media_create, media_delete, media_meta_id
from apps.whatsapp.services import whatsapp_provider_get
from tests.media import samples


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path, acme):
    from django.db import connection

    settings.MEDIA_ROOT = tmp_path
    connection.set_tenant(acme)
    return tmp_path


def upload(data: bytes, name: str) -> Media:
    return media_create(file=io.BytesIO(data), name=name, actor_id=7)


def test_an_image_is_stored_per_workspace_with_a_thumbnail(acme):
    media = upload(samples.png((800, 400)), "banner.png")

    assert (media.kind, media.mime_type, media.width, media.height) == (
        "image",
        "image/png",
        800,
        400,
    )
    assert media.file.name.startswith(f"tenants/{acme.schema_name}/media/{media.id}/")
    assert default_storage.exists(media.file.name)
    assert default_storage.exists(media.thumbnail.name)
    from PIL import Image

    with default_storage.open(media.thumbnail.name) as handle:
        assert max(Image.open(handle).size) <= 320
    assert media.size == len(samples.png((800, 400))) and len(media.sha256) == 64


def test_a_jpg_that_is_really_a_pdf_is_refused(acme):
    with pytest.raises(ValidationFailed) as caught:
        upload(samples.pdf(), "holiday.jpg")
    assert "application/pdf" in caught.value.message
    assert not Media.objects.exists()


def test_the_type_comes_from_the_content_not_the_name(acme):
    media = upload(samples.pdf(), "invoice")
    assert media.mime_type == "application/pdf" and media.kind == "document"
    assert not media.thumbnail


def test_an_unsupported_type_is_refused(acme):
    with pytest.raises(ValidationFailed):
        upload(b"GIF89a" + b"\x00" * 100, "anim.gif")


def test_an_image_over_5_mb_is_refused(acme):
    data = samples.jpeg() + b"\x00" * (5 * 1024 * 1024)
    with pytest.raises(ValidationFailed) as caught:
        upload(data, "big.jpg")
    assert "5 MB" in caught.value.message


def test_a_static_sticker_over_100_kb_is_refused(acme):
    data = samples.webp() + b"\x00" * (100 * 1024)
    with pytest.raises(ValidationFailed) as caught:
        upload(data, "sticker.webp")
    assert "100 KB" in caught.value.message


def test_a_video_over_16_mb_is_refused(acme):
    with pytest.raises(ValidationFailed) as caught:
        upload(samples.mp4() + b"\x00" * (16 * 1024 * 1024), "clip.mp4")
    assert "16 MB" in caught.value.message


def test_a_file_over_100_mb_is_refused_before_it_is_read(acme):
    class Huge(io.BytesIO):
        size = 101 * 1024 * 1024

        def read(self, *args):
            raise AssertionError("must not be read")

    with pytest.raises(ValidationFailed):
        media_create(file=Huge(), name="huge.pdf")


def test_a_damaged_image_is_refused(acme):
    with pytest.raises(ValidationFailed):
        upload(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10, "broken.png")


def test_delete_removes_the_row_and_its_files(acme, django_capture_on_commit_callbacks):
    media = upload(samples.png(), "a.png")
    with django_capture_on_commit_callbacks(execute=True):
        media_delete(media=media)
    assert not Media.objects.exists()
    assert not default_storage.exists(media.file.name)
    assert not default_storage.exists(media.thumbnail.name)


def test_delete_is_refused_while_a_campaign_uses_it(acme, monkeypatch):
    media = upload(samples.png(), "a.png")
    monkeypatch.setattr(media_services, "media_active_campaign_uses", lambda *, media: ["May sale"])

    with pytest.raises(Conflict) as caught:
        media_delete(media=media)

    assert caught.value.status == 409
    assert caught.value.details == {"campaigns": ["May sale"]}
    assert Media.objects.filter(pk=media.pk).exists()


def test_only_campaigns_still_to_send_with_the_media_in_their_header_hold_it(acme):
    from apps.campaigns.models import Campaign, CampaignStatus
    from tests.messaging.helpers import approved_template

    media, other = upload(samples.png(), "a.png"), upload(samples.png(), "b.png")
    template = approved_template(
        name="promo",
        components=[{"type": "HEADER", "format": "IMAGE"}, {"type": "BODY", "text": "Hi"}],
    )

    def campaign(name, status, header_media):
        Campaign.objects.create(
            name=name,
            template=template,
            status=status,
            variable_mapping={"header": {"media_id": str(header_media.pk)}},
        )

    assert media_selectors.media_active_campaign_uses(media=media) == []
    campaign("May sale", CampaignStatus.SCHEDULED, media)
    campaign("April sale", CampaignStatus.PAUSED, media)
    campaign("March sale", CampaignStatus.COMPLETED, media)
    campaign("Other sale", CampaignStatus.DRAFT, other)
    assert media_selectors.media_active_campaign_uses(media=media) == ["April sale", "May sale"]
    with pytest.raises(Conflict):
        media_delete(media=media)
    assert Media.objects.filter(pk=media.pk).exists()


def test_the_meta_media_id_is_uploaded_lazily_and_cached(cloud_account, fake_graph):
    media = upload(samples.pdf(), "terms.pdf")
    provider = whatsapp_provider_get()

    first = media_meta_id(media=media, provider=provider)
    again = media_meta_id(media=media, provider=provider)

    assert first == again
    assert fake_graph.counts["media_upload"] == 1
    assert fake_graph.media[first] == (samples.pdf(), "application/pdf")


def test_an_expired_meta_media_id_is_replaced(cloud_account, fake_graph):
    media = upload(samples.pdf(), "terms.pdf")
    provider = whatsapp_provider_get()
    first = media_meta_id(media=media, provider=provider)
    media.meta_media_id_expires_at = timezone.now() - timedelta(seconds=1)

    second = media_meta_id(media=media, provider=provider)

    assert second != first
    assert fake_graph.counts["media_upload"] == 2
