import io
import zipfile

import pytest

from apps.media.sniffing import name_contradicts, sniff
from tests.media import samples


@pytest.mark.parametrize(
    ("data", "mime", "kind"),
    [
        (samples.jpeg(), "image/jpeg", "image"),
        (samples.png(), "image/png", "image"),
        (samples.webp(), "image/webp", "sticker"),
        (samples.pdf(), "application/pdf", "document"),
        (samples.mp4(), "video/mp4", "video"),
        (b"\x00\x00\x00\x14ftyp3gp5\x00\x00\x00\x00", "video/3gpp", "video"),
        (b"\x00\x00\x00\x14ftypM4A \x00\x00\x00\x00", "audio/mp4", "audio"),
        (b"OggS\x00\x02" + b"\x00" * 20, "audio/ogg", "audio"),
        (b"#!AMR\n" + b"\x00" * 10, "audio/amr", "audio"),
        (b"ID3\x03\x00" + b"\x00" * 10, "audio/mpeg", "audio"),
        (b"\xff\xf1\x50\x80" + b"\x00" * 10, "audio/aac", "audio"),
        (
            samples.docx(),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "document",
        ),
        ("Plain text, with ünïcode.\n".encode(), "text/plain", "document"),
    ],
)
def test_it_recognises_whatsapps_types_by_content(data, mime, kind):
    sniffed = sniff(data)
    assert (sniffed.mime_type, sniffed.kind) == (mime, kind)


def test_it_refuses_what_whatsapp_does_not_take():
    assert sniff(b"GIF89a" + b"\x00" * 20) is None  # GIF: binary, not text
    assert sniff(b"\x7fELF\x02\x01\x01" + b"\x00" * 20) is None
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("readme.txt", "plain zip")
    assert sniff(out.getvalue()) is None
    assert sniff(b"") is None


def test_an_animated_webp_is_an_animated_sticker():
    head = b"RIFF\x00\x00\x00\x00WEBPVP8X\x0a\x00\x00\x00\x02" + b"\x00" * 20
    assert sniff(head).animated is True


def test_a_pdf_named_jpg_contradicts_its_name():
    sniffed = sniff(samples.pdf(), filename="photo.jpg")
    assert sniffed.mime_type == "application/pdf"
    assert name_contradicts(sniffed, "photo.jpg")
    assert not name_contradicts(sniffed, "invoice.pdf")
    assert not name_contradicts(sniffed, "no-extension")
