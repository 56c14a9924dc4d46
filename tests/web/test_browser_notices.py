"""A notice campaign from the console in a real browser, on what ``makegood serve --demo``
prepares (a smaller demo): a supervisor starts the award campaign for the demo incident, the
server's delivery worker (started as ``serve`` starts it, judging the blast radius as of the
demo's instant) delivers through the file channels, and the report shows the delivered notices
and the channels skipped because the operator's own mail and business channel were down.

Pages are checked with axe-core (``wcag2a``, ``wcag2aa``: zero violations) and photographed at
360 px and desktop width into ``test-artifacts/``, as in :mod:`tests.web.test_browser`.
"""

from __future__ import annotations

import dataclasses
import os
import re
import threading
from collections.abc import Iterator

import pytest

from .test_browser import Site, browser, check, serving, watched_page  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

from playwright.sync_api import Browser, Page, expect  # noqa: E402

ENV = ("MAKEGOOD_DATABASE_URL", "MAKEGOOD_EVIDENCE_DIR", "MAKEGOOD_SECRET_KEY_FILE",
       "MAKEGOOD_RUNS_DIR", "MAKEGOOD_NOTIFY_CONFIG", "MAKEGOOD_NOTIFY_AS_OF")


@dataclasses.dataclass
class Demo(Site):
    password: str


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    from makegood.adapters.db.engine import make_engine
    from makegood.config import Settings
    from makegood.entrypoints.api.app import create_app
    from makegood.entrypoints.cli import compensate, web_demo
    from makegood.entrypoints.cli.notify import start_background_worker

    root = tmp_path_factory.mktemp("demo")
    saved = {name: os.environ.get(name) for name in ENV}
    for name in ENV:
        os.environ.pop(name, None)
    compensate.demo(accounts=300, seed=2022, out=root / "out" / "demo")
    env = web_demo.prepare(root / "out" / "demo")
    settings = dataclasses.replace(Settings.from_env(), data_dir=root)
    assert settings.notify_config is not None
    engine = make_engine(settings.database_url, pool_size=4)
    stop = threading.Event()
    worker = start_background_worker(engine, settings.notify_config,
                                     as_of=settings.notify_as_of, stop=stop, idle_sleep=0.2)
    app = create_app(settings, engine=engine, screen_at_intake=False)
    with serving(lambda _url: app) as url:
        yield Demo(url, root, env["password"])
    stop.set()
    worker.join(timeout=10)
    engine.dispose()
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture
def page(browser: Browser, demo: Demo) -> Iterator[Page]:  # noqa: F811
    yield from watched_page(browser, demo.url)


def sign_in(page: Page, username: str, password: str) -> None:
    page.goto("/console/login")
    page.fill("#f-username", username)
    page.fill("#f-password", password)
    page.click("button[type=submit] >> nth=-1")
    page.wait_for_url("**/console")


def number(page: Page, selector: str) -> int:
    return int(re.sub(r"\D", "", page.locator(selector).inner_text()) or 0)


def test_an_operator_starts_the_award_campaign_and_sees_delivery_and_the_blast_radius(
        page: Page, demo: Demo) -> None:
    sign_in(page, "demo-supervisor", demo.password)
    page.click("nav >> text=안내")
    expect(page.locator("h1")).to_have_text("안내")
    expect(page.locator("#f-contacts")).to_have_value("out/demo/scenario/contacts")
    check(page, "notices")
    page.click("#f-kind-awards")
    page.click("text=캠페인 시작하기")
    page.wait_for_url(re.compile(r".*/console/notices/awards-[0-9a-f]+$"))
    # htmx polls the page while notices are waiting or being sent; it stops when none are.
    status = page.locator("#notice-status")
    expect(status).to_contain_text("등록 완료", timeout=60_000)
    expect(status).not_to_have_attribute("hx-get", re.compile(".*"), timeout=120_000)
    delivered = number(page, "#n-delivered")
    assert delivered > 100
    assert number(page, "#n-blast") > 0
    assert number(page, "#n-fallbacks") > 0
    report = page.locator("#notice-status table")
    expect(report.nth(3)).to_contain_text("장애 범위: 카카오메일(kakao_mail) 중단")
    expect(report.nth(3)).to_contain_text("장애 범위: 카카오톡 채널(biz_channel) 중단")
    rules = page.locator("section[aria-labelledby=radius] table")
    expect(rules).to_contain_text("kakao.com 메일")
    expect(rules).to_contain_text("kakao_mail: 2022-10-15 15:30 KST – 2022-10-18 09:00 KST")
    check(page, "notice-report")
    out = demo.root / "out" / "demo"
    sent = sum(len(p.read_text(encoding="utf-8").splitlines())
               for p in out.glob("notices-*.jsonl"))
    assert sent == delivered  # one line per delivered notice, none sent twice
    mail = (out / "notices-email.jsonl").read_text(encoding="utf-8")
    assert "@kakao.com" not in mail  # none sent into the mail service that was down
    page.goto("/console/notices")
    expect(page.locator("table").first).to_contain_text("awards-")
    check(page, "notices-list")


def test_the_page_is_the_same_in_english(page: Page, demo: Demo) -> None:
    page.context.add_cookies([{"name": "mg_lang", "value": "en", "url": demo.url}])
    sign_in(page, "demo-reviewer", demo.password)
    page.goto("/console/notices")
    expect(page.locator("h1")).to_have_text("Notices")
    expect(page.locator("text=Start the campaign")).to_have_count(0)  # reviewers only read
