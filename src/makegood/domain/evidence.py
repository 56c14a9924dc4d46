"""Evidence files a claimant uploads: the type judged by content, never by name; polyglots and
decompression bombs refused; active PDF content flagged for reviewers. Standard library only."""

from __future__ import annotations

import re

from makegood.domain.errors import InputError

EVIDENCE_TYPES = {
    b"%PDF-": "application/pdf",
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"\xff\xd8\xff": "image/jpeg",
    b"GIF87a": "image/gif",
    b"GIF89a": "image/gif",
}


def sniff_evidence(data: bytes, *, max_bytes: int) -> str:
    """The content type of an evidence file judged by its first bytes; PDF and images only."""
    if not data:
        raise InputError("the file is empty", field="file")
    if len(data) > max_bytes:
        raise InputError(f"the file has {len(data):,} bytes; the limit is {max_bytes:,}",
                         field="file")
    found: str | None = None
    for magic, content_type in EVIDENCE_TYPES.items():
        if data.startswith(magic):
            found = content_type
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        found = "image/webp"
    if found is None:
        raise InputError("only PDF, PNG, JPEG, GIF and WebP files are accepted", field="file")
    if _MARKUP.search(data[:_MARKUP_WINDOW]):
        # A polyglot (%PDF-<html><script>, GIF89a<html>): a browser sniffing it would run it.
        raise InputError("the file holds web page markup after its header; send the document "
                         "itself (a PDF or an image)", field="file")
    size = image_size(data, found)
    if size is not None and size[0] * size[1] > MAX_PIXELS:
        # A decompression bomb: a few kilobytes that unpack to gigabytes in a viewer.
        raise InputError(f"the image declares {size[0]:,} x {size[1]:,} pixels; the limit is "
                         f"{MAX_PIXELS:,} pixels", field="file")
    return found


MAX_PIXELS = 50_000_000  # 50 megapixels: any phone photo or scan, not a decompression bomb
_PDF_ACTIVE = re.compile(rb"/(JavaScript|JS|Launch|EmbeddedFile|RichMedia|XFA)\b")


def evidence_flags(data: bytes, content_type: str) -> tuple[str, ...]:
    """What a reviewer should know before opening a file: ``PDF_ACTIVE_CONTENT`` for a PDF that
    carries JavaScript, launch actions, embedded files, rich media or XFA forms."""
    if content_type == "application/pdf" and _PDF_ACTIVE.search(data):
        return ("PDF_ACTIVE_CONTENT",)
    return ()


def image_size(data: bytes, content_type: str) -> tuple[int, int] | None:
    """Width and height an image header declares (PNG, GIF, JPEG, WebP), read without decoding."""
    if content_type == "image/png" and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if content_type == "image/gif" and len(data) >= 10:
        return int.from_bytes(data[6:8], "little"), int.from_bytes(data[8:10], "little")
    if content_type == "image/webp" and len(data) >= 30:
        chunk = data[12:16]
        if chunk == b"VP8X":
            return (int.from_bytes(data[24:27], "little") + 1,
                    int.from_bytes(data[27:30], "little") + 1)
        if chunk == b"VP8L" and len(data) >= 25:
            bits = int.from_bytes(data[21:25], "little")
            return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
        if chunk == b"VP8 ":
            return (int.from_bytes(data[26:28], "little") & 0x3FFF,
                    int.from_bytes(data[28:30], "little") & 0x3FFF)
    if content_type == "image/jpeg":
        i = 2
        while i + 9 <= len(data):
            if data[i] != 0xFF:
                return None
            marker = data[i + 1]
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                return (int.from_bytes(data[i + 7:i + 9], "big"),
                        int.from_bytes(data[i + 5:i + 7], "big"))
            i += 2 + int.from_bytes(data[i + 2:i + 4], "big")
    return None


_MARKUP_WINDOW = 4096
_MARKUP = re.compile(rb"<\s*(html|script|body|svg|iframe|object|embed|!doctype|\?xml)[\s>/]",
                     re.IGNORECASE)
