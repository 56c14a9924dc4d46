"""Whole flows in a real browser (Debian's Chromium, headless) against a real server: a
claimant checks their automatic compensation, files a claim in Korean with an attachment by
keyboard alone and gets a receipt; a reviewer requests information; the claimant answers; two
supervisors approve (four eyes); the claimant sees the decision; an operator starts a
compensation run and downloads its ledger.

Every page is checked with axe-core (``wcag2a``, ``wcag2aa``: zero violations) and
photographed at 360 px and desktop width into ``test-artifacts/``. One server and one browser
serve the whole module.
"""

from __future__ import annotations

import dataclasses
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from .conftest import PASSWORD, Clock, load_case, settings_for

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).parents[2] / "test-artifacts" / "web"
VIEWPORTS = {"phone": {"width": 360, "height": 740}, "desktop": {"width": 1280, "height": 900}}


def _png() -> bytes:
    """A real 8x8 PNG (the console previews it)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + \
            struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\x1d\x4f\x86" * 8 for _ in range(8))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


PNG = _png()

if not CHROMIUM.exists():
    if os.environ.get("CI"):
        raise RuntimeError("CI needs /usr/bin/chromium for the browser tests (.ci/run installs it)")
    pytest.skip("Debian chromium is not installed", allow_module_level=True)

from axe_playwright_python.sync_playwright import Axe  # noqa: E402
from playwright.sync_api import Browser, Page, expect, sync_playwright  # noqa: E402


@dataclass
class Site:
    url: str
    root: Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    from makegood.adapters.db.engine import make_engine, upgrade
    from makegood.entrypoints.api.app import create_app

    root = tmp_path_factory.mktemp("site")
    engine = make_engine(f"sqlite:///{root / 'web.db'}", pool_size=4)
    upgrade(engine)
    clock = Clock(datetime(2022, 10, 20, 1, 0, tzinfo=UTC))
    load_case(engine, root, clock)
    # Links in notices (the receipt, the resume link) point back at this server.
    with serving(lambda url: create_app(
            dataclasses.replace(settings_for(root), public_url=url),  # type: ignore[type-var]
            engine=engine, clock=clock)) as url:
        yield Site(url, root)
    engine.dispose()


@contextmanager
def serving(make_app: Callable[[str], Any]) -> Iterator[str]:
    """The app ``make_app`` builds for its base URL, served by uvicorn on a free loopback port
    on a thread; the base URL."""
    import uvicorn

    port = _free_port()
    app = make_app(f"http://127.0.0.1:{port}")
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           ws="none", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True,
            args=["--no-sandbox", "--disable-background-networking", "--disable-component-update",
                  "--no-first-run", "--disable-dev-shm-usage"])
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser, site: Site) -> Iterator[Page]:
    yield from watched_page(browser, site.url)


def watched_page(browser: Browser, url: str) -> Iterator[Page]:
    """A Korean desktop page on ``url`` that fails the test on any browser error."""
    context = browser.new_context(base_url=url, locale="ko-KR",
                                  viewport=VIEWPORTS["desktop"], accept_downloads=True)
    page = context.new_page()
    problems: list[str] = []
    # A page answered 4xx on purpose is fine; a missing script, style or image is not.
    page.on("console", lambda m: problems.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource") else None)
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}")
            if r.status >= 400 and r.request.resource_type != "document" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    yield page
    context.close()
    assert not problems, f"browser errors (a CSP violation shows here too): {problems}"


_axe = Axe()


def check(page: Page, name: str) -> None:
    """axe with zero WCAG 2 A/AA violations, and screenshots, at phone and desktop width."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for label, size in VIEWPORTS.items():
        page.set_viewport_size(size)
        results = _axe.run(page, options={"runOnly": {"type": "tag",
                                                      "values": ["wcag2a", "wcag2aa"]}})
        assert results.violations_count == 0, f"{name} at {label}:\n{results.generate_report()}"
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= size["width"], f"{name} scrolls sideways at {label}: {width} px"
        page.screenshot(path=str(ARTIFACTS / f"{name}-{label}.png"), full_page=True)
    page.set_viewport_size(VIEWPORTS["desktop"])


def tab_to(page: Page, selector: str, limit: int = 80) -> None:
    """Press Tab until the element matching ``selector`` has the focus."""
    for _ in range(limit):
        if page.evaluate("s => document.activeElement && document.activeElement.matches(s)",
                         selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {selector}")


def type_into(page: Page, selector: str, text: str) -> None:
    tab_to(page, selector)
    page.keyboard.type(text)


def sign_in(page: Page, username: str) -> None:
    page.goto("/console/login")
    page.fill("#f-username", username)
    page.fill("#f-password", PASSWORD)
    page.click("button[type=submit] >> text=로그인")
    expect(page.locator("h1")).to_have_text("현황판")


def test_public_pages_pass_axe_and_render_korean_in_a_korean_font(page: Page) -> None:
    page.goto("/portal")
    check(page, "portal")
    page.goto("/portal/incidents/kakao-2022-10-15")
    expect(page.locator("h2#what")).to_have_text("무슨 일이 있었나요")
    check(page, "notice")
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument")
    node = cdp.send("DOM.querySelector", {"nodeId": root["root"]["nodeId"],
                                          "selector": "h2#what"})
    fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node["nodeId"]})["fonts"]
    assert any("CJK" in f["familyName"] or "KR" in f["familyName"] for f in fonts), fonts
    page.locator("h2#what").screenshot(path=str(ARTIFACTS / "korean-heading.png"))
    page.goto("/portal/track")
    check(page, "track-form")
    page.goto("/console/login")
    check(page, "console-login")
    page.goto("/portal/incidents/no-such-incident")
    expect(page.locator("h1")).to_have_text("찾을 수 없습니다")
    check(page, "not-found")
    page.goto("/portal/check")
    page.click("button[type=submit]")  # nothing filled in: the messages and their summary
    expect(page.locator("#error-summary")).to_be_focused()
    check(page, "check-errors")


def test_claimant_checks_their_automatic_compensation(page: Page) -> None:
    page.goto("/portal/check")
    check(page, "check")
    page.fill("#f-account_id", "acct-paid")
    page.fill("#f-phone_last4", "5678")
    page.click("button[type=submit]")
    expect(page.locator(".awards")).to_contain_text("무료 이용 기간 연장, 3일")
    expect(page.locator(".awards")).to_contain_text("인정된 장애 시간: 15시간 30분")
    check(page, "check-result")


def file_by_keyboard(page: Page, amount: str) -> tuple[str, str]:
    """The whole claimant flow with the keyboard: Tab, type, Space and Enter."""
    page.goto("/portal/incidents/kakao-2022-10-15")
    tab_to(page, "a[href$='/file']")
    page.keyboard.press("Enter")
    page.wait_for_url("**/file")
    check(page, "file-start")
    tab_to(page, "input[name=claimant_kind]")
    page.keyboard.press("Space")  # the first choice: an individual
    tab_to(page, "input[name=category]")
    for _ in range(3):  # arrow keys move through a radio group: missed_communication
        page.keyboard.press("ArrowDown")
    expect(page.locator("#f-category-missed_communication")).to_be_checked()
    tab_to(page, "form button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/portal/drafts/[^/]+$"))
    check(page, "file-details")
    type_into(page, "#f-name", "김민수")
    type_into(page, "#f-email", "minsu@example.com")
    type_into(page, "#f-phone", "010-1234-5678")
    type_into(page, "#f-account_id", "acct-free")
    tab_to(page, "#f-service")
    expect(page.locator("#f-service option[value=messenger]")).to_have_text("카카오톡")
    for _ in range(page.locator("#f-service option").count()):  # a select takes arrow keys
        if page.locator("#f-service").input_value() == "messenger":
            break
        page.keyboard.press("ArrowDown")
    expect(page.locator("#f-service")).to_have_value("messenger")
    type_into(page, "#f-start", "2022-10-15 16:00")
    type_into(page, "#f-end", "2022-10-15 20:00")
    type_into(page, "#f-description", "면접 안내 메일을 받지 못해 면접에 가지 못했습니다")
    type_into(page, "#f-amount", amount)
    tab_to(page, "#f-evidence")
    with page.expect_file_chooser() as chooser:
        page.keyboard.press("Space")
    chooser.value.set_files({"name": "메일-캡처.png", "mimeType": "image/png", "buffer": PNG})
    tab_to(page, "input[name=payout_method]")  # a radio group takes one Tab stop
    page.keyboard.press("ArrowDown")
    expect(page.locator("#f-payout_method-bank")).to_be_checked()
    type_into(page, "#f-payout_account", "110-123-456789")
    tab_to(page, "#f-consent")
    page.keyboard.press("Space")
    tab_to(page, "button[value=review]")
    page.keyboard.press("Enter")
    try:
        page.wait_for_url("**/review", timeout=10_000)
    except Exception:
        print(page.locator("main").inner_text())
        raise
    expect(page.locator("dl.summary")).to_contain_text("메일-캡처.png")
    check(page, "file-review")
    tab_to(page, "form[action$='/submit'] button")
    page.keyboard.press("Enter")
    page.wait_for_url("**/portal/receipt/**")
    check(page, "receipt")
    claim_id = page.locator("#claim-id").inner_text()
    token = page.locator("#receipt-token").inner_text()
    return claim_id, token


def test_a_claim_through_review_answer_and_four_eyes_approval(page: Page, browser: Browser,
                                                              site: Site) -> None:
    claim_id, token = file_by_keyboard(page, amount="200000")
    track = f"/portal/track/{claim_id}/{token}"
    page.goto(track)
    expect(page.locator(".status")).to_have_text("접수됨, 검토 대기 중")
    check(page, "track-submitted")

    staff = browser.new_context(base_url=site.url, locale="ko-KR", accept_downloads=True,
                                viewport=VIEWPORTS["desktop"])
    console = staff.new_page()
    sign_in(console, "rev")
    check(console, "dashboard")
    console.goto("/console/claims")
    console.evaluate("window.notReloaded = true")
    console.focus("#q-status")
    console.keyboard.press("ArrowDown")  # "submitted": htmx swaps the table in, no reload
    expect(console).to_have_url(re.compile(r"status=submitted"))
    expect(console.locator("#queue")).to_contain_text("김민수")
    assert console.evaluate("window.notReloaded === true")
    expect(console.locator("#q-status")).to_be_focused()  # the focus stays where it was
    check(console, "queue")
    console.click(f"a[href='/console/claims/{claim_id}']")
    preview = console.locator("img.preview")
    expect(preview).to_be_visible()
    assert console.evaluate("img => img.naturalWidth", preview.element_handle()) == 8
    check(console, "claim")
    console.check("#f-action-request_info")
    console.fill("#f-cure_days", "14")
    console.fill("#f-note", "면접 안내 메일의 캡처를 더 보내 주세요")
    console.click("text=결정 기록")
    expect(console.locator("[role=status]")).to_have_text("저장했습니다.")

    page.goto(track)
    expect(page.locator(".status")).to_have_text("추가 정보가 필요합니다")
    check(page, "track-info-requested")
    page.fill("#f-text", "메일 캡처를 다시 첨부했습니다")
    page.click("text=답변 보내기")
    expect(page.locator("p.saved")).to_contain_text("답변을 보냈고")

    for supervisor in ("sup1", "sup2"):
        staff.clear_cookies()
        sign_in(console, supervisor)
        console.goto(f"/console/claims/{claim_id}")
        console.check("#f-action-approve")
        if supervisor == "sup1":
            console.fill("#f-amount", "200000")
        console.click("text=결정 기록")
        expect(console.locator("[role=status]")).to_have_text("저장했습니다.")
    staff.close()

    page.goto(track)
    expect(page.locator(".status")).to_have_text("승인됨")
    expect(page.locator("section[aria-labelledby=decisions]")).to_contain_text("200,000 KRW")
    check(page, "track-approved")


def test_an_operator_runs_compensation_and_downloads_the_ledger(page: Page, site: Site) -> None:
    import pyarrow.parquet as pq

    sign_in(page, "admin")
    page.goto("/console/runs")
    check(page, "runs")
    page.select_option("#f-policy", "kakao-2022-claims")
    page.fill("form[action='/console/runs'] #f-accounts", "subscriptions.csv")
    page.select_option("#f-engine", "reference")
    page.click("text=계산 시작 >> nth=-1")
    page.wait_for_url("**/console/runs/*")
    download_link = page.locator("a[href$='/ledger.parquet']")
    expect(download_link).to_be_visible(timeout=20_000)  # htmx polls the progress
    check(page, "run")
    with page.expect_download() as download:
        download_link.click()
    path = site.root / "downloaded-ledger.parquet"
    download.value.save_as(path)
    rows = pq.read_table(path).to_pylist()
    assert [(r["account_id"], r["kind"]) for r in rows] == [("acct-paid", "extension")]
    for name, url in (("incident", "/console/incidents/kakao-2022-10-15"),
                      ("exports", "/console/exports"), ("users", "/console/users")):
        page.goto(url)
        check(page, name)


def _deliver(site: Site, smtp_port: int, http_url: str) -> None:
    """A delivery worker with the site's key and public address, until the outbox is empty."""
    from makegood import bootstrap
    from makegood.adapters.db.engine import make_engine
    from makegood.adapters.db.repository import UnitOfWork
    from makegood.services.notices import Worker, close_senders, senders_for
    from tests.backends.notify_support import notify_config

    engine = make_engine(f"sqlite:///{site.root / 'web.db'}")
    config = notify_config(site.root, smtp_port=smtp_port, http_url=http_url)
    senders = senders_for(config)
    worker = Worker(uow=lambda: UnitOfWork(engine), config=config, senders=senders,
                    clock=lambda: datetime.now(UTC),
                    cipher=bootstrap.cipher(settings_for(site.root)),  # type: ignore[arg-type]
                    public_url=site.url)
    try:
        while worker.run_once():
            pass
    finally:
        worker.close()
        close_senders(senders)
        engine.dispose()


def test_a_claim_saved_on_one_device_is_resumed_from_the_emailed_link_on_another(
        page: Page, browser: Browser, site: Site) -> None:
    from tests.notify_servers import HttpSink, SmtpSink

    smtp, http = SmtpSink(), HttpSink()
    try:
        page.goto("/portal/incidents/kakao-2022-10-15/file")
        page.check("#f-claimant_kind-individual")
        page.check("#f-category-payment_failed")
        page.click("form button[type=submit]")
        page.wait_for_url(re.compile(r".*/portal/drafts/[^/]+$"))
        page.fill("#f-name", "이서연")
        page.fill("#f-email", "seoyeon@example.com")
        page.fill("#f-resume_email", "seoyeon@example.com")
        page.click("button[value=save]")
        expect(page.locator("#link-sent")).to_contain_text("se***@example.com")
        check(page, "draft-link-sent")
        _deliver(site, smtp.port, http.url)
        [mail] = [m for m in smtp.messages if m["to"] == "seoyeon@example.com"]
        assert "이어서 작성하기" in mail["subject"]
        found = re.search(re.escape(site.url) + r"/portal/drafts/[A-Za-z0-9_-]+", mail["text"])
        assert found, mail["text"]
        assert found.group(0) == page.url  # the link of the page it was saved on

        other = browser.new_context(locale="ko-KR", viewport=VIEWPORTS["phone"])
        phone = other.new_page()
        phone.goto(found.group(0))  # another device: nothing but the link
        expect(phone.locator("#f-name")).to_have_value("이서연")
        phone.fill("#f-phone", "010-7777-8888")
        phone.fill("#f-account_id", "acct-shop")
        phone.select_option("#f-service", "payments")
        phone.fill("#f-start", "2022-10-15 17:00")
        phone.fill("#f-end", "2022-10-15 18:00")
        phone.fill("#f-description", "결제가 되지 않았습니다")
        phone.check("#f-consent")
        phone.click("button[value=review]")
        phone.click("form[action$='/submit'] button")
        phone.wait_for_url("**/portal/receipt/**")
        expect(phone.locator("#receipt-sent")).to_contain_text("se***@example.com")
        expect(phone.locator("button[data-print]")).to_be_visible()
        other.close()
        _deliver(site, smtp.port, http.url)
        [receipt] = [m for m in smtp.messages if m["to"] == "seoyeon@example.com"
                     and "피해 접수 완료" in m["subject"]]
        assert "/portal/track/" in receipt["text"]
    finally:
        smtp.stop()
        http.stop()


def test_a_claim_is_filed_without_javascript(browser: Browser, site: Site) -> None:
    context = browser.new_context(base_url=site.url, locale="en-GB", java_script_enabled=False,
                                  viewport=VIEWPORTS["phone"])
    page = context.new_page()
    page.goto("/portal/incidents/kakao-2022-10-15/file")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.check("#f-claimant_kind-individual")
    page.check("#f-category-payment_failed")
    page.click("text=Continue")
    page.fill("#f-name", "Jane Park")
    page.fill("#f-email", "jane@example.com")
    page.fill("#f-phone", "010-5555-0000")
    page.fill("#f-account_id", "acct-shop")
    page.select_option("#f-service", "payments")
    page.fill("#f-start", "2022-10-15 17:00")
    page.fill("#f-end", "2022-10-15 18:00")
    page.fill("#f-description", "The card payment failed at the till")
    page.set_input_files("#f-evidence", files=[{"name": "notice.png", "mimeType": "image/png",
                                                "buffer": PNG}])
    page.click("button[value=save]")  # the file goes up with the form; the draft keeps it
    expect(page.locator(".saved")).to_contain_text("Your claim is saved")
    expect(page.locator("ul.files")).to_contain_text("notice.png")
    page.check("#f-consent")
    page.click("button[value=review]")
    page.click("text=Send my claim")
    expect(page.locator("h1")).to_have_text("Claim received")
    expect(page.locator("dl.summary")).to_contain_text("notice.png")
    context.close()


def test_a_reviewer_sees_a_pdf_previewed_as_its_first_page(browser: Browser, site: Site) -> None:
    from weasyprint import HTML

    # ASCII text: a Hangul font embedded in the PDF would pass the test server's 64 KiB limit
    pdf = HTML(string="<h1>Receipt</h1><p>Card payment failed, 12,000 KRW</p>").write_pdf()
    context = browser.new_context(base_url=site.url, locale="ko-KR", viewport=VIEWPORTS["desktop"])
    page = context.new_page()
    page.goto("/portal/incidents/kakao-2022-10-15/file")
    page.check("#f-claimant_kind-individual")
    page.check("#f-category-payment_failed")
    page.click("form button[type=submit]")
    page.fill("#f-name", "박지은")
    page.fill("#f-email", "jieun@example.com")
    page.fill("#f-phone", "010-5555-0101")
    page.fill("#f-account_id", "acct-shop")
    page.select_option("#f-service", "payments")
    page.fill("#f-start", "2022-10-15 17:00")
    page.fill("#f-end", "2022-10-15 18:00")
    page.fill("#f-description", "결제가 실패했습니다")
    page.set_input_files("#f-evidence", files=[{"name": "영수증.pdf", "mimeType": "application/pdf",
                                                "buffer": pdf}])
    page.check("#f-consent")
    page.click("button[value=review]")
    try:
        page.wait_for_url("**/review", timeout=10_000)
    except Exception:
        print(page.locator("main").inner_text())
        raise
    page.click("form[action$='/submit'] button")
    page.wait_for_url("**/portal/receipt/**")
    claim_id = page.locator("#claim-id").inner_text()
    page.context.clear_cookies()
    sign_in(page, "aud")  # an auditor may read claims
    page.goto(f"/console/claims/{claim_id}")
    preview = page.locator("img.preview.pdf")
    expect(preview).to_be_visible()
    expect(preview).to_have_attribute("alt", "영수증.pdf의 첫 쪽 (모두 1쪽)")
    page.wait_for_function("img => img.complete", arg=preview.element_handle())
    assert page.evaluate("img => img.naturalWidth", preview.element_handle()) > 0
    check(page, "claim-pdf-preview")
    context.close()
