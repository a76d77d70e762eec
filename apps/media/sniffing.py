"""What a file really is, from its first bytes (magic numbers), never from its name.

Only the types WhatsApp accepts are recognised; anything else is `None`. Office documents
are ZIP (2007+) or OLE2 (97-2003) containers, told apart by their content where possible.
"""

from __future__ import annotations

import io
import os
import zipfile
from dataclasses import dataclass


@dataclass(frozen=True)
class Sniffed:
    mime_type: str
    kind: str  # image, video, audio, document, sticker
    animated: bool = False


OLE_BY_EXTENSION = {
    ".doc": "application/msword",
    ".xls": "application/vnd.ms-excel",
    ".ppt": "application/vnd.ms-powerpoint",
}
OOXML = {
    "word/": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xl/": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "ppt/": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}
# Which extensions are consistent with each type: a name that claims another type is refused.
EXTENSIONS = {
    "image/jpeg": {".jpg", ".jpeg", ".jpe", ".jfif"},
    "image/png": {".png"},
    "image/webp": {".webp"},
    "video/mp4": {".mp4", ".m4v"},
    "video/3gpp": {".3gp", ".3gpp"},
    "audio/aac": {".aac"},
    "audio/amr": {".amr"},
    "audio/mpeg": {".mp3", ".mpga"},
    "audio/mp4": {".m4a", ".mp4"},
    "audio/ogg": {".ogg", ".oga", ".opus"},
    "application/pdf": {".pdf"},
    "text/plain": {".txt", ".text", ".log", ".csv"},
    **{mime: {ext} for ext, mime in OLE_BY_EXTENSION.items()},
    OOXML["word/"]: {".docx"},
    OOXML["xl/"]: {".xlsx"},
    OOXML["ppt/"]: {".pptx"},
}
KNOWN_EXTENSIONS = set().union(*EXTENSIONS.values())


def _webp(head: bytes) -> Sniffed:
    # VP8X extended format: flags byte at offset 20, bit 1 (0x02) marks an animation.
    animated = head[12:16] == b"VP8X" and len(head) > 20 and bool(head[20] & 0x02)
    return Sniffed("image/webp", "sticker", animated=animated)


def _iso_media(head: bytes) -> Sniffed | None:
    brand = head[8:12]
    if brand.startswith(b"3g"):
        return Sniffed("video/3gpp", "video")
    if brand in {b"M4A ", b"M4B "}:
        return Sniffed("audio/mp4", "audio")
    if brand in {
        b"isom",
        b"iso2",
        b"mp41",
        b"mp42",
        b"avc1",
        b"M4V ",
        b"dash",
        b"iso4",
        b"iso5",
        b"iso6",
        b"mmp4",
    }:
        return Sniffed("video/mp4", "video")
    return None


def _zip(data: bytes) -> Sniffed | None:
    try:
        names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    except zipfile.BadZipFile:
        return None
    for prefix, mime in OOXML.items():
        if any(name.startswith(prefix) for name in names):
            return Sniffed(mime, "document")
    return None


def _text(head: bytes) -> Sniffed | None:
    if b"\x00" in head:
        return None
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        # A multi-byte character cut at the end of the sample is still text.
        if error.start < len(head) - 4:
            return None
    return Sniffed("text/plain", "document")


def sniff(data: bytes, *, filename: str = "") -> Sniffed | None:
    """The type of `data` (the whole file: ZIP containers are looked into), or None."""
    head = data[:4096]
    if head.startswith(b"\xff\xd8\xff"):
        return Sniffed("image/jpeg", "image")
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return Sniffed("image/png", "image")
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return _webp(head)
    if head[4:8] == b"ftyp":
        return _iso_media(head)
    if head.startswith(b"%PDF-"):
        return Sniffed("application/pdf", "document")
    if head.startswith(b"OggS"):
        return Sniffed("audio/ogg", "audio")
    if head.startswith(b"#!AMR"):
        return Sniffed("audio/amr", "audio")
    if head.startswith(b"ID3") or head[:2] in {b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"}:
        return Sniffed("audio/mpeg", "audio")
    if head[:2] in {b"\xff\xf1", b"\xff\xf9"}:
        return Sniffed("audio/aac", "audio")
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        mime = OLE_BY_EXTENSION.get(os.path.splitext(filename.lower())[1], "application/msword")
        return Sniffed(mime, "document")
    if head.startswith(b"PK\x03\x04"):
        return _zip(data)
    if head:
        return _text(head)
    return None


def name_contradicts(sniffed: Sniffed, filename: str) -> bool:
    """Whether the file's extension names a different known type than its content."""
    extension = os.path.splitext(filename.lower())[1]
    return extension in KNOWN_EXTENSIONS and extension not in EXTENSIONS.get(
        sniffed.mime_type, set()
    )
