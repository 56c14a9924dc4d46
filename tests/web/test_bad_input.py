"""No page answers a bad form with a 500: each bad input gets a page (4xx) and nothing is half
written."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from .conftest import Web
from .test_portal import DETAILS, INCIDENT, start_draft

BAD_DETAILS = [
    {"name": "\x00"},
    {"name": "김" * 10_000},
    {"email": "a@b"},
    {"phone": "전화"},
    {"start": "2022-13-45T99:99"},
    {"end": "2022-10-15T15:00"},  # before the start
    {"amount": "1e400"},
    {"amount": "NaN"},
    {"amount": "-Infinity"},
    {"amount": "1,000,000,000,000,000,000"},
    {"service": "not-a-service"},
    {"payout_account": "<script>"},
    {"payout_method": "cash-in-hand"},
    {"claimant_kind": "robot"},
    {"category": "'; drop table claims; --"},
    {"description": ""},
    {"start": "2022-10-15T16:00+25:00"},
]


@pytest.mark.parametrize("change", BAD_DETAILS, ids=lambda c: next(iter(c)))
def test_bad_claim_details_get_field_messages_not_a_500(web: Web, change: dict[str, str]) -> None:
    draft = start_draft(web)
    r = web.post(draft, {**DETAILS, **change})
    assert r.status_code == 422, r.text[:500]
    assert 'class="error"' in r.text
    with web.engine.connect() as conn:
        assert conn.execute(sa.text("select count(*) from claims")).scalar() == 0


def test_small_business_sales_lines_are_checked_line_by_line(web: Web) -> None:
    draft = start_draft(web, claimant_kind="small_business", category="business_sales")
    r = web.post(draft, {**DETAILS, "account_id": "acct-shop", "service": "payments",
                         "outage_week_sales": "950000",
                         "baseline": "2022-09-03 1200000\nlast week: lots"})
    assert r.status_code == 422
    assert "2번째 줄" in r.text


@pytest.mark.parametrize(("path", "data"), [
    ("/portal/check", {"account_id": "x" * 5000, "phone_last4": "12345678901"}),
    ("/portal/check", {"incident_id": "nope", "account_id": "a", "phone_last4": "1234"}),
    (f"{INCIDENT}/file", {"claimant_kind": "", "category": ""}),
    ("/portal/track", {"claim_id": "../../etc/passwd", "token": "\x00"}),
    ("/console/login", {"username": "", "password": ""}),
    ("/console/login", {"username": "admin", "password": "wrong"}),
])
def test_bad_forms_are_answered_with_a_page(web: Web, path: str, data: dict[str, str]) -> None:
    r = web.post(path, data)
    assert 400 <= r.status_code < 500
    assert "<html" in r.text


def test_a_file_that_is_not_evidence_is_refused_next_to_the_field(web: Web) -> None:
    draft = start_draft(web)
    r = web.post(draft, {**DETAILS, "action": "save"},
                 files=[("evidence", ("run.exe", b"MZ\x90\x00" * 50, "image/png"))])
    assert r.status_code == 422
    assert 'id="e-evidence"' in r.text


def test_too_many_files_in_one_form_is_refused_whole(web: Web) -> None:
    draft = start_draft(web)
    files = [("evidence", (f"{i}.png", b"\x89PNG\r\n\x1a\n", "image/png")) for i in range(20)]
    r = web.post(draft, {**DETAILS, "action": "save"}, files=files)
    assert r.status_code == 413


def test_unknown_pages_and_ids_are_404_pages(web: Web) -> None:
    for path in ("/portal/incidents/nope", "/portal/drafts/nope", "/portal/receipt/a/b",
                 "/static/../pyproject.toml", "/static/nope.css"):
        r = web.client.get(path)
        assert r.status_code == 404, path


def test_portal_forms_share_the_apis_rate_limit(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from makegood.adapters.db.engine import make_engine, upgrade
    from makegood.entrypoints.api.app import create_app

    from .conftest import Clock, load_case, settings_for

    engine = make_engine(f"sqlite:///{tmp_path / 'web.db'}")
    upgrade(engine)
    clock = Clock(datetime(2022, 10, 20, 1, 0, tzinfo=UTC))
    load_case(engine, tmp_path, clock)
    app = create_app(settings_for(tmp_path, per_minute=3), engine=engine,  # type: ignore[arg-type]
                     clock=clock)
    with TestClient(app) as client:
        web = Web(client, clock, engine, tmp_path)
        answers = [web.post("/portal/track", {"claim_id": "x", "token": "y"}).status_code
                   for _ in range(4)]
    engine.dispose()
    assert answers == [404, 404, 404, 429]


def test_tracking_without_the_receipt_code_asks_for_it(web: Web) -> None:
    r = web.post("/portal/track", {"claim_id": "abc", "token": " "})
    assert r.status_code == 422
    assert 'id="e-token"' in r.text


@pytest.mark.parametrize("accounts", ["\x00", "김" * 2000], ids=["nul", "too-long"])
def test_a_run_on_an_unusable_accounts_path_gets_a_field_message(web: Web, accounts: str
                                                                  ) -> None:
    web.login("admin")
    r = web.post("/console/runs", {"incident": "kakao-2022-10-15", "policy": "kakao-2022-claims",
                                   "accounts": accounts, "engine": "reference"})
    assert r.status_code == 422  # type: ignore[attr-defined]
    assert 'id="e-accounts"' in r.text  # type: ignore[attr-defined]
