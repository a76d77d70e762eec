"""Small real files of each type, made in memory."""

from __future__ import annotations

import io
import zipfile

from PIL import Image


def png(size=(40, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", size, (10, 120, 90, 255)).save(out, format="PNG")
    return out.getvalue()


def jpeg(size=(64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, format="JPEG")
    return out.getvalue()


def webp(size=(64, 64)) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", size, (0, 0, 0, 0)).save(out, format="WEBP")
    return out.getvalue()


def pdf() -> bytes:
    return b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def mp4() -> bytes:
    return b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 64


def docx() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return out.getvalue()
