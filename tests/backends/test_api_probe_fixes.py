"""Regression tests for the defects a first probe of the claims API found (issue "Reliability and
security drill"), on SQLite and PostgreSQL: each names the probe's request and checks both the
answer and that nothing was stored or changed."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from makegood.adapters.db import schema

from .claims_data import claim_body
from .conftest import ADMIN_PASSWORD, Api

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def team(api: Api) -> Api:
    api.add_staff("rita", "reviewer")
    api.add_staff("sam", "supervisor")
    api.add_staff("sue", "supervisor")
    api.add_staff("aud", "auditor")
    return api


def claim_count(api: Api) -> int:
    with api.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(schema.claims)).scalar_one())


def decide(api: Api, who: str, claim_id: str, **body: object) -> Any:
    return api.client.post(f"/staff/claims/{claim_id}/decision", headers=api.as_(who), json=body)


# 1 and 5: times no driver reads back, or that overflow on the way to UTC -----------------------

@pytest.mark.parametrize(("field", "value"), [
    ("start", "0001-01-01T00:00:00Z"),
    ("end", "9999-12-31T23:59:59.999999Z"),
    ("start", "0001-01-01T00:00:00+09:00"),
    ("end", "9999-12-31T23:59:59-09:00"),
    ("start", "2019-10-15T16:00:00+09:00"),  # a real date, but years before the incident
])
def test_claimed_times_far_from_the_incident_are_refused_and_nothing_is_stored(
        api: Api, field: str, value: str) -> None:
    r = api.submit(**{field: value})
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == field
    assert claim_count(api) == 0
    exports = api.client.get("/staff/exports/roster", headers=api.as_("admin"))
    assert exports.status_code == 200


# 2: formula injection ---------------------------------------------------------------------------

FORMULA = '=HYPERLINK("http://attacker.example/x","click")'


def test_a_formula_as_a_name_is_inert_in_csv_and_xlsx_exports(api: Api) -> None:
    assert api.submit(name=FORMULA, description="+1 line\tdesc").status_code == 201
    r = api.client.get("/staff/exports/roster", headers=api.as_("admin"))
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0]["name"] == "'" + FORMULA
    x = api.client.get("/staff/exports/roster", headers=api.as_("admin"),
                       params={"format": "xlsx"})
    sheet = load_workbook(io.BytesIO(x.content)).active
    assert sheet is not None
    header = [c.value for c in sheet[1]]
    cell = sheet.cell(row=2, column=header.index("name") + 1)
    assert cell.data_type == "s"
    assert cell.value == "'" + FORMULA


# 3: four eyes ----------------------------------------------------------------------------------

def test_the_second_approver_cannot_change_the_reviewed_amount(team: Api) -> None:
    cid = team.submit(category="free_service_loss", amount="600000").json()["claim_id"]
    assert decide(team, "rita", cid, action="approve", amount="600000").json()["status"] == \
        "pending_second_approval"
    r = decide(team, "sam", cid, action="approve", amount="90000000")
    assert r.status_code == 409
    assert "600,000" in r.json()["detail"]
    back = decide(team, "sam", cid, action="send_back", note="amount looks high")
    assert back.status_code == 200, back.text
    assert back.json()["status"] == "submitted"
    assert back.json()["approved_amount"] is None


def test_the_second_approver_confirms_the_same_amount(team: Api) -> None:
    cid = team.submit(category="free_service_loss", amount="600000").json()["claim_id"]
    decide(team, "rita", cid, action="approve", amount="600000")
    r = decide(team, "sam", cid, action="approve", amount="600000")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "approved"
    assert r.json()["approved_amount"] == "600000"


def test_an_appeal_above_the_threshold_needs_a_second_supervisor(team: Api) -> None:
    receipt = team.submit().json()
    cid = receipt["claim_id"]
    decide(team, "rita", cid, action="deny", reason_code="NO_PROOF_OF_LOSS")
    team.client.post(f"/claims/{cid}/appeal", headers={"X-Receipt-Token": receipt["receipt_token"]},
                     json={"reason": "증빙을 첨부합니다"})
    r = decide(team, "sam", cid, action="approve", amount="900000")
    assert r.json()["status"] == "pending_second_approval"
    assert decide(team, "sam", cid, action="approve").status_code == 403
    done = decide(team, "sue", cid, action="approve")
    assert done.json()["status"] == "approved"
    assert done.json()["approved_amount"] == "900000"


# 4: sign-in -------------------------------------------------------------------------------------

def login(api: Api, username: str, password: str) -> Any:
    return api.client.post("/staff/login", json={"username": username, "password": password})


def test_failed_sign_ins_are_audited_and_then_throttled_even_with_the_right_password(
        team: Api) -> None:
    for _ in range(5):
        assert login(team, "rita", "wrong password!").status_code == 403
    blocked = login(team, "rita", ADMIN_PASSWORD)  # five failures: the back-off starts
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) >= 1
    trail = team.client.get("/staff/audit/staff_user/rita", headers=team.as_("admin")).json()
    assert [e["action"] for e in trail].count("user.login_failed") == 5
    team.clock.advance(seconds=2)
    assert login(team, "rita", ADMIN_PASSWORD).status_code == 200


def test_unknown_and_known_names_get_the_same_refusal(team: Api) -> None:
    unknown = login(team, "nobody-here", "wrong password!")
    known = login(team, "rita", "wrong password!")
    assert unknown.status_code == known.status_code == 403
    assert unknown.json()["detail"] == known.json()["detail"]


def test_a_session_expires_after_its_hours(team: Api) -> None:
    assert team.client.get("/staff/claims", headers=team.as_("rita")).status_code == 200
    team.clock.advance(hours=12, seconds=1)  # MAKEGOOD_SESSION_HOURS defaults to 12
    assert team.client.get("/staff/claims", headers=team.as_("rita")).status_code == 401


def test_logout_ends_the_session(team: Api) -> None:
    assert team.client.post("/staff/logout", headers=team.as_("rita")).status_code == 204
    assert team.client.get("/staff/claims", headers=team.as_("rita")).status_code == 401


def test_password_change_ends_every_session_of_the_user(team: Api) -> None:
    old = team.as_("rita")
    team.login("rita")
    second = team.as_("rita")
    r = team.client.post("/staff/password", headers=second,
                         json={"current_password": ADMIN_PASSWORD,
                               "new_password": "a much newer passphrase"})
    assert r.status_code == 204, r.text
    for headers in (old, second):
        assert team.client.get("/staff/claims", headers=headers).status_code == 401
    assert login(team, "rita", "a much newer passphrase").status_code == 200


def test_an_admin_revokes_a_users_sessions(team: Api) -> None:
    r = team.client.delete("/staff/users/rita/sessions", headers=team.as_("admin"))
    assert r.status_code == 200
    assert r.json()["revoked"] == 1
    assert team.client.get("/staff/claims", headers=team.as_("rita")).status_code == 401
    assert team.client.delete("/staff/users/rita/sessions",
                              headers=team.as_("sam")).status_code == 403


# 5: queue filters that overflowed the database ---------------------------------------------------

@pytest.mark.parametrize("params", [{"offset": "9223372036854775808"}, {"amount_min": "1e400"},
                                    {"amount_max": "NaN"}])
def test_out_of_range_queue_filters_get_a_422(api: Api, params: dict[str, str]) -> None:
    r = api.client.get("/staff/claims", headers=api.as_("admin"), params=params)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == next(iter(params))


# 6: every body is limited while it streams ------------------------------------------------------

def test_an_oversized_answer_body_gets_a_413_before_it_is_parsed(api: Api) -> None:
    receipt = api.submit().json()
    big = b'{"text": "' + b"x" * (2 << 20) + b'"}'
    r = api.client.post(f"/claims/{receipt['claim_id']}/answer", content=big,
                        headers={"X-Receipt-Token": receipt["receipt_token"],
                                 "Content-Type": "application/json"})
    assert r.status_code == 413


def test_an_oversized_upload_is_refused_from_its_declared_length(api: Api) -> None:
    receipt = api.submit().json()
    r = api.client.post(f"/claims/{receipt['claim_id']}/evidence",
                        headers={"X-Receipt-Token": receipt["receipt_token"]},
                        files={"file": ("big.pdf", PDF + b"0" * (3 << 20), "application/pdf")})
    assert r.status_code == 413
    claim = api.client.get(f"/claims/{receipt['claim_id']}",
                           headers={"X-Receipt-Token": receipt["receipt_token"]}).json()
    assert claim["evidence"] == []


# 8: evidence is never rendered by the browser ---------------------------------------------------

@pytest.mark.parametrize("data", [b"%PDF-<html><script>alert(1)</script></html>",
                                  b"GIF89a<html><body onload=alert(1)>"])
def test_polyglot_evidence_is_refused(api: Api, data: bytes) -> None:
    receipt = api.submit().json()
    r = api.client.post(f"/claims/{receipt['claim_id']}/evidence",
                        headers={"X-Receipt-Token": receipt["receipt_token"]},
                        files={"file": ("x.pdf", data, "application/pdf")})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "file"


def test_evidence_is_served_as_an_attachment_with_nosniff(team: Api) -> None:
    receipt = team.submit().json()
    evidence = team.client.post(f"/claims/{receipt['claim_id']}/evidence",
                                headers={"X-Receipt-Token": receipt["receipt_token"]},
                                files={"file": ('메일 "x".pdf', PDF, "application/pdf")}).json()
    got = team.client.get(f"/staff/claims/{receipt['claim_id']}/evidence/{evidence['id']}",
                          headers=team.as_("rita"))
    assert got.content == PDF
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    assert got.headers["Content-Disposition"].startswith("attachment;")
    assert '"x"' not in got.headers["Content-Disposition"]


# 9: validation gaps -----------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["\u200b\u200b", "\ufeff", "\u3164", " \u200d "])
def test_names_that_show_nothing_are_empty(api: Api, name: str) -> None:
    r = api.submit(name=name)
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "name"
    assert claim_count(api) == 0


@pytest.mark.parametrize("amount", ["٣٤", "1_000", " 5 ", "-0", "1e3", "NaN", "Infinity", -0.0])
def test_amounts_that_are_not_plain_digits_are_refused(api: Api, amount: object) -> None:
    r = api.submit(amount=amount)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "amount"
    assert claim_count(api) == 0


def test_plain_amounts_are_taken_exactly(api: Api) -> None:
    for amount, stored in (("12.50", "12.50"), (30000, "30000"), ("0", "0")):
        receipt = api.submit(amount=amount).json()
        claim = api.client.get(f"/claims/{receipt['claim_id']}",
                               headers={"X-Receipt-Token": receipt["receipt_token"]}).json()
        assert Decimal(claim["amount"]) == Decimal(stored)


def test_a_repeated_json_key_is_refused(api: Api) -> None:
    text = json.dumps(claim_body())[:-1] + ', "amount": "9000000"}'
    r = api.client.post("/claims", content=text.encode(),
                        headers={"Content-Type": "application/json"})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "amount"
    assert claim_count(api) == 0
    other = api.client.post("/staff/login", content=b'{"username": "admin", "username": "x", '
                            b'"password": "p"}', headers={"Content-Type": "application/json"})
    assert other.status_code == 422


def test_deeply_nested_json_is_refused(api: Api) -> None:
    deep = b'{"text": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    r = api.client.post("/staff/login", content=deep, headers={"Content-Type": "application/json"})
    assert r.status_code == 422


@pytest.mark.postgres
def test_audit_log_refuses_truncate_on_postgres(db_engine: sa.Engine) -> None:
    if db_engine.dialect.name != "postgresql":
        pytest.skip("TRUNCATE is PostgreSQL's")
    from makegood.adapters.db.repository import UnitOfWork

    with UnitOfWork(db_engine) as uow:
        uow.audit.record(actor="staff:a", action="x", entity="claim", entity_id="c1", before=None,
                         after=None, now=datetime(2022, 10, 20, tzinfo=UTC))
        uow.commit()
    with db_engine.connect() as conn, pytest.raises(sa.exc.DBAPIError, match="append-only"):
        conn.execute(sa.text("TRUNCATE audit_log"))
    with UnitOfWork(db_engine) as uow:
        assert len(uow.audit.of("claim", "c1")) == 1


# 10: the OpenAPI document describes what the API does ------------------------------------------

def test_openapi_documents_error_bodies_statuses_and_security(api: Api) -> None:
    doc = api.client.get("/openapi.json").json()
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    assert doc["components"]["securitySchemes"]["staffBearer"]["scheme"] == "bearer"
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            if path != "/health":
                assert responses["422"]["content"]["application/json"]["schema"] == {
                    "$ref": "#/components/schemas/ErrorOut"}, (method, path)
            if path.startswith("/staff") and path != "/staff/login":
                assert {"401", "403", "404", "409"} <= set(responses), (method, path)
                assert operation["security"] == [{"staffBearer": []}]


def test_a_405_lists_every_method_of_the_path(api: Api) -> None:
    r = api.client.delete("/claims")
    assert r.status_code == 405
    assert set(r.headers["Allow"].split(", ")) >= {"POST"}
    r = api.client.patch("/staff/users/rita/sessions", headers=api.as_("admin"))
    assert r.status_code == 405
    assert "DELETE" in r.headers["Allow"].split(", ")


# 5: a pooled intake connection the server terminated ---------------------------------------------

@pytest.mark.postgres
def test_a_terminated_intake_connection_gives_503_then_recovers(api: Api) -> None:
    store = api.client.app.state.ctx.intake  # type: ignore[attr-defined]
    if store is None:
        pytest.skip("the asyncpg intake store serves PostgreSQL only")
    assert api.submit().status_code == 201
    pids = [conn.get_server_pid() for conn in store._idle]
    assert pids
    with api.engine.connect() as conn:
        for pid in pids:  # only this test's own pooled connections
            conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    before = claim_count(api)
    answers = [api.submit() for _ in range(len(pids))]
    statuses = [r.status_code for r in answers]
    assert set(statuses) <= {201, 503}, statuses  # never a 500 (asyncpg InternalClientError)
    assert all(r.headers["Retry-After"] for r in answers if r.status_code == 503)
    assert claim_count(api) == before + statuses.count(201)  # no 2xx for an uncommitted claim
    assert api.submit().status_code == 201  # recovered without a restart


# Drill 8: an idempotency key is bound to the client that used it first -----------------------------

def test_an_idempotency_key_reused_by_another_client_gets_a_422_not_the_receipt(api: Api) -> None:
    from fastapi.testclient import TestClient

    key = {"Idempotency-Key": "phone-retry-1"}
    first = api.submit(headers=key)
    assert first.status_code == 201
    again = api.submit(headers=key)
    assert again.status_code == 201
    assert again.json()["receipt_token"] == first.json()["receipt_token"]
    with TestClient(api.client.app, client=("203.0.113.9", 5555)) as other:
        r = other.post("/claims", json=claim_body(), headers=key)
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "Idempotency-Key"
    assert "receipt_token" not in r.text
    assert claim_count(api) == 1


# Drill 5: uploads ---------------------------------------------------------------------------------

def upload(api: Api, receipt: dict[str, str], name: str, data: bytes) -> Any:
    return api.client.post(f"/claims/{receipt['claim_id']}/evidence",
                           headers={"X-Receipt-Token": receipt["receipt_token"]},
                           files={"file": (name, data, "application/octet-stream")})


def png_header(width: int, height: int) -> bytes:
    import struct
    import zlib

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + ihdr
            + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr)))


def test_an_image_declaring_a_decompression_bomb_is_refused(api: Api) -> None:
    receipt = api.submit().json()
    r = upload(api, receipt, "bomb.png", png_header(100_000, 100_000) + b"\x00" * 64)
    assert r.status_code == 422
    assert "pixels" in r.json()["errors"][0]["message"]
    assert upload(api, receipt, "photo.png", png_header(4000, 3000)).status_code == 201


def test_the_type_comes_from_the_content_not_the_name(api: Api) -> None:
    receipt = api.submit().json()
    r = upload(api, receipt, "invoice.pdf", png_header(10, 10))
    assert r.status_code == 201
    assert r.json()["content_type"] == "image/png"
    assert upload(api, receipt, "photo.png", b"plain text, not an image").status_code == 422


def test_a_pdf_with_javascript_is_flagged_for_reviewers(team: Api) -> None:
    receipt = team.submit().json()
    pdf = b"%PDF-1.4\n1 0 obj<</OpenAction<</S/JavaScript/JS(app.alert(1))>>>>endobj\n%%EOF\n"
    r = upload(team, receipt, "x.pdf", pdf)
    assert r.status_code == 201
    assert r.json()["flags"] == "PDF_ACTIVE_CONTENT"
    detail = team.client.get(f"/staff/claims/{receipt['claim_id']}", headers=team.as_("rita"))
    assert "PDF_ACTIVE_CONTENT" in detail.text
    assert upload(team, receipt, "plain.pdf", PDF).json()["flags"] is None


def test_a_file_name_is_never_a_path(api: Api, tmp_path: Any) -> None:
    receipt = api.submit().json()
    r = upload(api, receipt, "../../../../tmp/escaped.pdf", PDF)
    assert r.status_code == 201
    assert r.json()["filename"] == "../../../../tmp/escaped.pdf"  # kept as text, shown escaped
    stored = [p for p in (tmp_path / "evidence").rglob("*") if p.is_file()]
    assert [p.name for p in stored] == [r.json()["sha256"]]
