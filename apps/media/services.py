"""Media services.

Rules owned here: a file's type is decided by its content (magic bytes), never its name, and
a name that claims another type is refused; only WhatsApp's types and sizes are accepted
(image jpeg/png ≤ 5 MB; video mp4/3gpp ≤ 16 MB; audio aac/amr/mpeg/mp4/ogg ≤ 16 MB; document
pdf/office/text ≤ 100 MB; sticker webp ≤ 100 KB static, 500 KB animated); files are stored
through Django's storage API under the workspace's own prefix; images get a thumbnail; the
Meta media id is uploaded for lazily and reused until it expires; media used by a scheduled
or running campaign cannot be deleted (409).
"""

from __future__ import annotations

import hashlib
import io
import os
import re
from datetime import timedelta
from typing import IO

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from PIL import Image, UnidentifiedImageError

from apps.core.errors import Conflict, ValidationFailed
from apps.media.models import Kind, Media
from apps.media.selectors import media_active_campaign_uses
from apps.media.sniffing import name_contradicts, sniff
from apps.whatsapp.providers import WhatsAppProvider

KB, MB = 1024, 1024 * 1024
SIZE_LIMITS = {
    Kind.IMAGE: 5 * MB,
    Kind.VIDEO: 16 * MB,
    Kind.AUDIO: 16 * MB,
    Kind.DOCUMENT: 100 * MB,
}
STICKER_LIMIT = 100 * KB
ANIMATED_STICKER_LIMIT = 500 * KB
MAX_UPLOAD = max(SIZE_LIMITS.values())
THUMBNAIL_SIZE = (320, 320)
# Meta keeps an uploaded media id for 30 days; a day's margin avoids using one that expires
# while a campaign is being sent.
META_MEDIA_ID_LIFETIME = timedelta(days=29)


def _human(size: int) -> str:
    return f"{size // MB} MB" if size >= MB else f"{size // KB} KB"


def _clean_name(name: str) -> str:
    base = os.path.basename(name or "").strip() or "file"
    base = re.sub(r"[^\w.\- ]+", "_", base)
    return base[:200]


def _limit_for(kind: str, animated: bool) -> int:
    if kind == Kind.STICKER:
        return ANIMATED_STICKER_LIMIT if animated else STICKER_LIMIT
    return SIZE_LIMITS[kind]


def _thumbnail(data: bytes) -> tuple[bytes, int, int]:
    """(PNG thumbnail bytes, width, height) of an image; refuses a damaged image."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            width, height = image.size
            image.thumbnail(THUMBNAIL_SIZE)
            if image.mode not in {"RGB", "RGBA"}:
                image = image.convert("RGBA")
            out = io.BytesIO()
            image.save(out, format="PNG", optimize=True)
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as error:
        raise ValidationFailed("The image is damaged or incomplete.", field="file") from error
    return out.getvalue(), width, height


def media_create(*, file: IO[bytes], name: str, actor_id: int | None = None) -> Media:
    name = _clean_name(name)
    size = getattr(file, "size", None)
    if size is not None and size > MAX_UPLOAD:
        raise ValidationFailed(f"Files are at most {_human(MAX_UPLOAD)}.", field="file")
    data = file.read(MAX_UPLOAD + 1)
    if not data:
        raise ValidationFailed("The file is empty.", field="file")
    if len(data) > MAX_UPLOAD:
        raise ValidationFailed(f"Files are at most {_human(MAX_UPLOAD)}.", field="file")
    sniffed = sniff(data, filename=name)
    if sniffed is None:
        raise ValidationFailed(
            "WhatsApp does not accept this type of file. Images are JPEG or PNG; videos MP4 or "
            "3GPP; audio AAC, AMR, MP3, M4A or OGG; documents PDF, Office or text; stickers WebP.",
            field="file",
        )
    if name_contradicts(sniffed, name):
        raise ValidationFailed(
            f"“{name}” is named like another type of file, but its content is {sniffed.mime_type}. "
            "Rename it or upload the right file.",
            field="file",
        )
    limit = _limit_for(sniffed.kind, sniffed.animated)
    if len(data) > limit:
        label = f"{'animated ' if sniffed.animated else ''}{sniffed.kind}"
        raise ValidationFailed(
            f"WhatsApp accepts a {label} of at most {_human(limit)} ({_human(len(data))} given).",
            field="file",
        )
    media = Media(
        name=name,
        kind=sniffed.kind,
        mime_type=sniffed.mime_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        animated=sniffed.animated,
        uploaded_by_id=actor_id,
    )
    thumbnail = None
    if sniffed.kind in {Kind.IMAGE, Kind.STICKER}:
        thumbnail, media.width, media.height = _thumbnail(data)
    media.file.save(name, ContentFile(data), save=False)
    try:
        if thumbnail is not None:
            media.thumbnail.save("thumbnail.png", ContentFile(thumbnail), save=False)
        media.save()
    except Exception:
        _remove_files(media)
        raise
    return media


def _remove_files(media: Media) -> None:
    for field in (media.file, media.thumbnail):
        if field and field.name and field.storage.exists(field.name):
            field.storage.delete(field.name)


@transaction.atomic
def media_delete(*, media: Media) -> None:
    uses = media_active_campaign_uses(media=media)
    if uses:
        raise Conflict(
            f"“{media.name}” is used by a campaign still to send ({', '.join(uses)}).",
            details={"campaigns": uses},
        )
    media.delete()
    # Files go once the row is surely gone.
    transaction.on_commit(lambda: _remove_files(media))


def media_meta_id(*, media: Media, provider: WhatsAppProvider) -> str:
    """Meta's id for this media, uploading it the first time (or once the last id expired)."""
    now = timezone.now()
    if (
        media.meta_media_id
        and media.meta_media_id_expires_at
        and media.meta_media_id_expires_at > now
    ):
        return media.meta_media_id
    with media.file.open("rb") as handle:
        content = handle.read()
    media.meta_media_id = provider.upload_media(
        content=content, mime_type=media.mime_type, filename=media.name
    )
    media.meta_media_id_expires_at = now + META_MEDIA_ID_LIFETIME
    media.save(update_fields=["meta_media_id", "meta_media_id_expires_at"])
    return media.meta_media_id
