"""PDF evidence previewed in the console: the first page drawn on the server as a PNG, served
as an attachment with nosniff to staff who may read the claim; a broken or encrypted PDF gets a
message instead, never a server error."""

from __future__ import annotations

import io
import re
import struct

from pypdf import PdfReader, PdfWriter
from weasyprint import HTML

from .conftest import Web
from .test_portal import file_claim


def receipt_pdf() -> bytes:
    return HTML(string="<h1>Receipt</h1><p>Taxi fare 12,000 KRW, 15 Oct 2022</p>").write_pdf()


def encrypted_pdf() -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(receipt_pdf())))
    writer.encrypt("secret")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def claim_with(web: Web, name: str, data: bytes) -> tuple[str, str]:
    """A claim filed with one PDF; its page for a reviewer; the preview's path."""
    claim_id, _token = file_claim(web, evidence=(name, data, "application/pdf"))
    web.login("rev")
    page = web.client.get(f"/console/claims/{claim_id}")
    assert page.status_code == 200
    link = re.search(rf'href="(/console/claims/{claim_id}/evidence/\d+)"', page.text)
    assert link
    return page.text, link.group(1) + "/preview.png"


def test_a_pdf_is_previewed_as_a_png_attachment_with_nosniff(web: Web) -> None:
    page, preview = claim_with(web, "영수증.pdf", receipt_pdf())
    assert f'<img src="{preview}"' in page
    assert "영수증.pdf의 첫 쪽 (모두 1쪽)" in page  # the image's text alternative, in Korean
    r = web.client.get(preview)
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/png"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["content-disposition"].startswith("attachment")
    assert r.content.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = struct.unpack(">II", r.content[16:24])
    assert max(width, height) <= 1200
    assert height > width  # an A4 page, upright
    assert f'width="{width}" height="{height}"' in page


def test_a_corrupt_pdf_says_there_is_no_preview(web: Web) -> None:
    broken = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n" + bytes(300)
    page, preview = claim_with(web, "broken.pdf", broken)
    assert "미리 보기 없음: PDF를 읽을 수 없습니다" in page
    assert f'src="{preview}"' not in page
    r = web.client.get(preview)
    assert r.status_code == 422  # a page that says why, not a server error
    assert "image/png" not in r.headers["content-type"]


def test_an_encrypted_pdf_says_it_needs_a_password(web: Web) -> None:
    page, preview = claim_with(web, "locked.pdf", encrypted_pdf())
    assert "미리 보기 없음: 비밀번호로 보호된 PDF입니다" in page
    assert web.client.get(preview).status_code == 422


def test_an_auditor_sees_the_preview_and_a_stranger_does_not(web: Web) -> None:
    _page, preview = claim_with(web, "receipt.pdf", receipt_pdf())
    web.client.cookies.clear()
    r = web.client.get(preview, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/console/login"
    web.login("aud")
    r = web.client.get(preview)
    assert r.status_code == 200
    assert r.content.startswith(b"\x89PNG")
