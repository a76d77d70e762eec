import uuid

from django.db import connection, models


class Kind(models.TextChoices):
    IMAGE = "image", "Image"
    VIDEO = "video", "Video"
    AUDIO = "audio", "Audio"
    DOCUMENT = "document", "Document"
    STICKER = "sticker", "Sticker"


def _upload_to(instance: "Media", filename: str) -> str:
    # Per tenant, per file: names never collide and a tenant's files share one prefix.
    return f"tenants/{connection.schema_name}/media/{instance.id}/{filename}"


def _thumbnail_to(instance: "Media", filename: str) -> str:
    return f"tenants/{connection.schema_name}/media/{instance.id}/thumb/{filename}"


class Media(models.Model):
    """A file uploaded for use in messages. Its type was decided by its content, never its
    name. The Meta media id is obtained lazily and reused until Meta expires it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=255)
    kind = models.CharField(max_length=16, choices=Kind.choices, db_index=True)
    mime_type = models.CharField(max_length=128)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    file = models.FileField(upload_to=_upload_to, max_length=500)
    thumbnail = models.FileField(upload_to=_thumbnail_to, max_length=500, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    animated = models.BooleanField(default=False)
    meta_media_id = models.CharField(max_length=64, blank=True)
    meta_media_id_expires_at = models.DateTimeField(null=True, blank=True)
    uploaded_by_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "media"

    def __str__(self) -> str:
        return self.name
