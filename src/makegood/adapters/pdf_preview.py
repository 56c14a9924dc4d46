"""A PDF evidence file's first page as a PNG, for the console's claim page (pypdfium2).

Reviewers see a scan or a receipt without downloading it; the PDF itself is never handed to the
browser's viewer. The preview is bounded: files over :data:`MAX_BYTES` are not opened, only the
first page is drawn (forms and annotations' scripts are not run: pdfium here has no JavaScript
engine, and form filling is not started), and the longest side is at most :data:`MAX_SIDE` pixels
whatever size the page declares. A broken, encrypted or empty PDF raises :class:`NoPreview` with
a code the page puts in words. PDFium is not safe to call from two threads at once, so every
call holds one lock; previews are cached by the file's SHA-256 (evidence files never change).
"""

from __future__ import annotations

import struct
import threading
import zlib
from collections import OrderedDict
from dataclasses import dataclass

MAX_BYTES = 20 * 1024 * 1024  # larger files are downloaded, not previewed
MAX_SIDE = 1200  # pixels, the longest side of a preview
DPI = 110  # a readable A4 page: about 910 x 1290 pixels, capped by MAX_SIDE
CACHED = 64  # previews kept in memory (about 100-400 KB each)

_LOCK = threading.Lock()
_CACHE: OrderedDict[str, Preview | NoPreview] = OrderedDict()


class NoPreview(Exception):
    """Why there is no preview: ``too_large``, ``encrypted``, ``unreadable`` or ``no_pages``."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True, slots=True)
class Preview:
    png: bytes
    width: int
    height: int
    pages: int  # pages in the document; only the first is drawn


def first_page(data: bytes, *, sha256: str = "") -> Preview:
    """The first page of the PDF ``data`` as a PNG; :class:`NoPreview` when it cannot be drawn.
    With ``sha256`` (the evidence store's key) the result is cached."""
    with _LOCK:
        if sha256 and sha256 in _CACHE:
            _CACHE.move_to_end(sha256)
            found = _CACHE[sha256]
        else:
            try:
                found = _render(data)
            except NoPreview as exc:
                found = exc
            if sha256:
                _CACHE[sha256] = found
                while len(_CACHE) > CACHED:
                    _CACHE.popitem(last=False)
    if isinstance(found, NoPreview):
        raise NoPreview(found.code)
    return found


def _render(data: bytes) -> Preview:
    if len(data) > MAX_BYTES:
        raise NoPreview("too_large")
    if not data.startswith(b"%PDF-"):
        raise NoPreview("unreadable")
    import pypdfium2 as pdfium

    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        raise NoPreview("encrypted" if "password" in str(exc).lower() else "unreadable") from None
    try:
        pages = len(document)
        if pages < 1:
            raise NoPreview("no_pages")
        page = document[0]
        width, height = page.get_size()
        if not (width > 0 and height > 0):
            raise NoPreview("unreadable")
        scale = min(DPI / 72, MAX_SIDE / max(width, height))
        bitmap = page.render(scale=scale, rev_byteorder=True, may_draw_forms=False,
                             force_bitmap_format=pdfium.raw.FPDFBitmap_BGR)
        png = _png(bytes(bitmap.buffer), bitmap.width, bitmap.height, bitmap.stride)
        return Preview(png, bitmap.width, bitmap.height, pages)
    except pdfium.PdfiumError:
        raise NoPreview("unreadable") from None
    finally:
        document.close()


def _png(rgb: bytes, width: int, height: int, stride: int) -> bytes:
    """An 8-bit RGB PNG of rows ``stride`` bytes apart (standard library only: no imaging
    library is needed for a picture pdfium already drew)."""
    row = width * 3
    raw = b"".join(b"\x00" + rgb[y * stride:y * stride + row] for y in range(height))

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))
