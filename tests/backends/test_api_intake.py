"""Claimant intake through the HTTP API, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from makegood.adapters.db import schema

from .claims_data import claim_body
from .conftest import Api


def count_claims(api: Api) -> int:
    with api.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(schema.claims)).scalar_one())


def test_submitted_claim_gets_an_id_a_receipt_token_and_its_checks(api: Api) -> None:
    r = api.submit()
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "submitted"
    assert body["verification"] == "verified"
    codes = [c["code"] for c in body["checks"]]
    assert codes == ["ACCOUNT_FOUND", "SERVICE_HELD", "OVERLAP", "FREE", "LEDGER_NOT_COVERED"]
    assert len(body["receipt_token"]) >= 30


def test_receipt_token_reads_the_claim_and_shows_the_payout_account_masked(api: Api) -> None:
    receipt = api.submit().json()
    r = api.client.get(f"/claims/{receipt['claim_id']}",
                       headers={"X-Receipt-Token": receipt["receipt_token"]})
    assert r.status_code == 200, r.text
    claim = r.json()
    assert claim["status"] == "submitted"
    assert claim["payout_account"] == "********6789"
    assert "110-123-456789" not in r.text


def test_another_claims_token_does_not_read_a_claim(api: Api) -> None:
    first = api.submit().json()
    second = api.submit(email="other@example.com").json()
    r = api.client.get(f"/claims/{first['claim_id']}",
                       headers={"X-Receipt-Token": second["receipt_token"]})
    assert r.status_code == 404
    # Without a token the answer is 401 (main 271f129), and says nothing about the claim.
    r = api.client.get(f"/claims/{first['claim_id']}")
    assert r.status_code == 401
    assert first["claim_id"] not in r.text


def test_payout_account_is_stored_encrypted(api: Api) -> None:
    api.submit()
    with api.engine.connect() as conn:
        row = conn.execute(sa.select(schema.claims.c.payout_encrypted,
                                     schema.claims.c.payout_masked)).one()
    assert "456789" not in row.payout_encrypted
    assert row.payout_masked.endswith("6789")


def test_retry_with_the_same_idempotency_key_returns_the_first_answer_and_creates_nothing(
        api: Api) -> None:
    first = api.submit(headers={"Idempotency-Key": "retry-1"})
    again = api.submit(headers={"Idempotency-Key": "retry-1"})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert count_claims(api) == 1


def test_idempotency_key_reused_for_a_different_claim_is_a_conflict(api: Api) -> None:
    api.submit(headers={"Idempotency-Key": "k"})
    r = api.submit(headers={"Idempotency-Key": "k"}, amount="5000")
    assert r.status_code == 409
    assert count_claims(api) == 1


def test_late_claim_is_refused_with_a_clear_message(api: Api) -> None:
    api.clock.now = datetime(2022, 11, 7, 0, 0, tzinfo=UTC)  # 09:00 KST, after the deadline
    r = api.submit()
    assert r.status_code == 422
    body = r.json()
    assert body["code"] == "intake_closed"
    assert "late claims are not accepted" in body["errors"][0]["message"]
    assert body["errors"][0]["field"] == "incident_id"


def test_extended_deadline_accepts_a_claim_that_was_late(api: Api) -> None:
    api.clock.now = datetime(2022, 11, 8, tzinfo=UTC)
    assert api.submit().status_code == 422
    api.login("admin")  # the clock moved past the session's 12 hours
    r = api.client.patch("/staff/incidents/kakao-2022-10-15/intake", headers=api.as_("admin"),
                         json={"closes": "2022-11-20T00:00:00+09:00"})
    assert r.status_code == 200, r.text
    assert api.submit().status_code == 201


def test_naive_timestamp_is_refused_with_the_field_named(api: Api) -> None:
    r = api.submit(start="2022-10-15T16:00:00")
    assert r.status_code == 422
    assert r.json()["errors"] == [{"field": "start",
                                   "message": "needs a time zone offset such as +09:00 or Z"}]


def test_errors_are_in_korean_when_the_client_prefers_korean(api: Api) -> None:
    body = claim_body(email="not-an-email")
    r = api.client.post("/claims", json=body, headers={"Accept-Language": "ko-KR,ko;q=0.9,en;q=0.8"})
    assert r.status_code == 422
    error = r.json()["errors"][0]
    assert error["field"] == "email"
    assert error["message"].startswith("올바른 이메일 주소가 아닙니다")


def test_missing_consent_is_refused(api: Api) -> None:
    r = api.submit(consent=False)
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "consent"
    assert count_claims(api) == 0


def test_korean_text_is_stored_in_nfc(api: Api) -> None:
    import unicodedata

    decomposed = unicodedata.normalize("NFD", "김민수")
    receipt = api.submit(name=decomposed).json()
    with api.engine.connect() as conn:
        name = conn.execute(sa.select(schema.claims.c.name)
                            .where(schema.claims.c.id == receipt["claim_id"])).scalar_one()
    assert name == "김민수"
    assert name != decomposed


def test_unknown_account_is_flagged_but_the_claim_is_kept(api: Api) -> None:
    body = api.submit(account_id="nobody").json()
    assert body["verification"] == "flagged"
    assert body["checks"][0]["code"] == "ACCOUNT_UNKNOWN"


def test_claimed_time_outside_the_outage_is_flagged(api: Api) -> None:
    body = api.submit(start="2022-10-17T10:00:00+09:00", end="2022-10-17T11:00:00+09:00").json()
    assert "NO_OVERLAP" in [c["code"] for c in body["checks"]]
    assert body["verification"] == "flagged"


def test_paid_service_already_in_the_ledger_is_flagged_against_double_payment(api: Api) -> None:
    body = api.submit(account_id="acct-paid", service="music", category="paid_service").json()
    ledger = next(c for c in body["checks"] if c["name"] == "ledger")
    assert ledger["code"] == "LEDGER_COVERED"
    assert ledger["outcome"] == "fail"
    assert "PAID" in [c["code"] for c in body["checks"]]


def test_subscription_that_ended_before_the_outage_does_not_hold_the_service(api: Api) -> None:
    body = api.submit(account_id="acct-old", service="music", category="paid_service").json()
    assert "SERVICE_NOT_HELD" in [c["code"] for c in body["checks"]]


def small_business(outage: str, best: str) -> dict[str, object]:
    return {"outage_week": outage, "baseline": [
        {"week_start": "2022-09-03", "amount": "1000000"},
        {"week_start": "2022-09-24", "amount": best},
    ]}


def test_small_business_loss_of_250000_falls_in_the_30000_bracket(api: Api) -> None:
    body = api.submit(claimant_kind="small_business", account_id="acct-shop", service="payments",
                      category="business_sales", amount="250000",
                      sales=small_business("950000", "1200000")).json()
    loss = next(c for c in body["checks"] if c["name"] == "loss")
    assert loss["code"] == "LOSS_BRACKET"
    assert "loss 250,000" in loss["detail"]
    assert loss["detail"].endswith("-> 30,000")


def test_small_business_loss_above_500000_goes_to_individual_review(api: Api) -> None:
    body = api.submit(claimant_kind="small_business", account_id="acct-shop", service="payments",
                      category="business_sales", amount="700000",
                      sales=small_business("500000", "1200000")).json()
    loss = next(c for c in body["checks"] if c["name"] == "loss")
    assert loss["code"] == "LOSS_REVIEW"


def test_small_business_sales_claim_without_sales_is_refused(api: Api) -> None:
    r = api.submit(claimant_kind="small_business", account_id="acct-shop", service="payments",
                   category="business_sales")
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "sales"


def test_submissions_are_rate_limited_per_client_address(api: Api) -> None:
    api.client.app.state.ctx.limiter.__init__(2)  # two a minute for this test
    assert api.submit().status_code == 201
    assert api.submit().status_code == 201
    r = api.submit()
    assert r.status_code == 429
    assert int(r.headers["Retry-After"]) >= 1


def test_openapi_document_is_served(api: Api) -> None:
    r = api.client.get("/openapi.json")
    assert r.status_code == 200
    assert "/claims" in r.json()["paths"]


def test_json_with_a_charset_is_accepted(api: Api) -> None:
    import json

    r = api.client.post("/claims", content=json.dumps(claim_body()).encode(),
                        headers={"Content-Type": "application/json; charset=utf-8"})
    assert r.status_code == 201, r.text
    assert count_claims(api) == 1


def test_unreachable_postgresql_gets_a_503_with_retry_after(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from makegood.adapters.db.engine import make_engine
    from makegood.config import Settings
    from makegood.entrypoints.api.app import create_app

    engine = make_engine("postgresql+psycopg://postgres@127.0.0.1:1/nothing")  # nobody listens
    settings = Settings(database_url="unused", evidence_dir=tmp_path / "evidence",
                        secret_key_file=tmp_path / "secret.key")
    with TestClient(create_app(settings, engine=engine)) as client:
        r = client.post("/claims", json=claim_body())
    engine.dispose()
    assert r.status_code == 503, r.text
    assert r.json()["code"] == "unavailable"
    assert r.headers["Retry-After"] == "5"
