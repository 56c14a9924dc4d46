"""The staff workflow through the HTTP API, on SQLite and PostgreSQL: roles, queue, decisions,
cure deadlines, appeals, the second approver, evidence, bulk import, exports, the audit trail."""

from __future__ import annotations

import csv
import io

import pyarrow.parquet as pq
import pytest
from openpyxl import load_workbook

from .claims_data import claim_body
from .conftest import Api

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def team(api: Api) -> Api:
    api.add_staff("rita", "reviewer")
    api.add_staff("ravi", "reviewer")
    api.add_staff("sam", "supervisor")
    api.add_staff("aud", "auditor")
    return api


def shop_claim(api: Api, outage: str = "950000", amount: str = "250000") -> dict[str, str]:
    r = api.submit(claimant_kind="small_business", account_id="acct-shop", service="payments",
                   category="business_sales", amount=amount,
                   sales={"outage_week": outage,
                          "baseline": [{"week_start": "2022-09-24", "amount": "1200000"}]})
    assert r.status_code == 201, r.text
    return r.json()


def decide(api: Api, who: str, claim_id: str, **body: object) -> object:
    return api.client.post(f"/staff/claims/{claim_id}/decision", headers=api.as_(who), json=body)


def read(api: Api, receipt: dict[str, str]) -> dict[str, object]:
    r = api.client.get(f"/claims/{receipt['claim_id']}",
                       headers={"X-Receipt-Token": receipt["receipt_token"]})
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def test_staff_endpoints_refuse_a_caller_without_a_token(api: Api) -> None:
    r = api.client.get("/staff/claims")
    assert r.status_code == 401
    assert r.json()["code"] == "not_signed_in"


def test_wrong_password_is_refused(api: Api) -> None:
    r = api.client.post("/staff/login", json={"username": "admin", "password": "wrong password"})
    assert r.status_code == 403


def test_approving_with_the_policy_award_pays_the_bracket(team: Api) -> None:
    receipt = shop_claim(team)
    r = decide(team, "rita", receipt["claim_id"], action="approve")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "approved"
    assert r.json()["approved_amount"] == "30000"
    claim = read(team, receipt)
    assert claim["decisions"][0]["amount"] == "30000"  # type: ignore[index]


def test_auditor_reads_the_queue_but_cannot_decide(team: Api) -> None:
    receipt = shop_claim(team)
    assert team.client.get("/staff/claims", headers=team.as_("aud")).status_code == 200
    r = decide(team, "aud", receipt["claim_id"], action="approve")
    assert r.status_code == 403
    assert r.json()["code"] == "forbidden"


def test_reviewer_cannot_add_staff_users(team: Api) -> None:
    r = team.client.post("/staff/users", headers=team.as_("rita"),
                         json={"username": "x", "password": "long enough pw", "role": "admin"})
    assert r.status_code == 403


def test_approval_without_a_policy_award_needs_an_amount(team: Api) -> None:
    receipt = team.submit().json()
    r = decide(team, "rita", receipt["claim_id"], action="approve")
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "amount"


def test_approval_above_the_threshold_waits_for_a_second_approver(team: Api) -> None:
    receipt = team.submit(category="free_service_loss", amount="200000").json()
    first = decide(team, "rita", receipt["claim_id"], action="approve", amount="150000")
    assert first.json()["status"] == "pending_second_approval"
    assert decide(team, "ravi", receipt["claim_id"], action="approve").status_code == 403
    second = decide(team, "sam", receipt["claim_id"], action="approve")
    assert second.status_code == 200, second.text
    assert second.json()["status"] == "approved"
    assert second.json()["approved_amount"] == "150000"


def test_the_first_approver_cannot_give_the_second_approval(team: Api) -> None:
    receipt = team.submit(amount="200000").json()
    decide(team, "sam", receipt["claim_id"], action="approve", amount="150000")
    r = decide(team, "sam", receipt["claim_id"], action="approve")
    assert r.status_code == 403
    assert "another person" in r.json()["detail"]


def test_denial_needs_a_reason_code(team: Api) -> None:
    receipt = team.submit().json()
    r = decide(team, "rita", receipt["claim_id"], action="deny")
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "reason_code"


def test_denied_claimant_appeals_once_and_a_supervisor_decides(team: Api) -> None:
    receipt = team.submit().json()
    cid, token = receipt["claim_id"], {"X-Receipt-Token": receipt["receipt_token"]}
    decide(team, "rita", cid, action="deny", reason_code="NO_PROOF_OF_LOSS")
    r = team.client.post(f"/claims/{cid}/appeal", headers=token,
                         json={"reason": "면접 안내 메일을 첨부합니다"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "appealed"
    assert decide(team, "rita", cid, action="approve", amount="10000").status_code == 403
    r = decide(team, "sam", cid, action="deny", reason_code="NO_PROOF_OF_LOSS", note="upheld")
    assert r.json()["status"] == "denied"
    again = team.client.post(f"/claims/{cid}/appeal", headers=token, json={"reason": "again"})
    assert again.status_code == 409


def test_only_a_denied_claim_can_be_appealed(team: Api) -> None:
    receipt = team.submit().json()
    r = team.client.post(f"/claims/{receipt['claim_id']}/appeal",
                         headers={"X-Receipt-Token": receipt["receipt_token"]}, json={"reason": "x"})
    assert r.status_code == 409


def test_request_for_information_is_answered_before_the_cure_deadline(team: Api) -> None:
    receipt = team.submit().json()
    cid = receipt["claim_id"]
    r = decide(team, "rita", cid, action="request_info", cure_days=30,
               note="면접 안내 메일의 사본을 보내 주세요")
    assert r.json()["status"] == "info_requested"
    assert r.json()["cure_deadline"].startswith("2022-11-19")
    team.clock.advance(days=10)
    r = team.client.post(f"/claims/{cid}/answer", headers={"X-Receipt-Token": receipt["receipt_token"]},
                         json={"text": "첨부했습니다"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "submitted"
    assert r.json()["messages"][0]["text"] == "첨부했습니다"


def test_answer_after_the_cure_deadline_is_refused(team: Api) -> None:
    receipt = team.submit().json()
    decide(team, "rita", receipt["claim_id"], action="request_info", cure_days=30, note="proof")
    team.clock.advance(days=31)
    r = team.client.post(f"/claims/{receipt['claim_id']}/answer",
                         headers={"X-Receipt-Token": receipt["receipt_token"]}, json={"text": "late"})
    assert r.status_code == 409
    assert "deadline" in r.json()["detail"]


def test_decided_claim_cannot_be_decided_again(team: Api) -> None:
    receipt = team.submit().json()
    decide(team, "rita", receipt["claim_id"], action="deny", reason_code="NOT_A_CLAIM")
    r = decide(team, "ravi", receipt["claim_id"], action="approve", amount="1")
    assert r.status_code == 409


def test_queue_filters_by_status_category_verification_and_amount(team: Api) -> None:
    shop_claim(team, amount="250000")
    team.submit(amount="1000")
    team.submit(account_id="nobody", amount="5000")
    q = team.client.get("/staff/claims", headers=team.as_("rita"),
                        params={"category": "business_sales"}).json()
    assert q["total"] == 1
    q = team.client.get("/staff/claims", headers=team.as_("rita"),
                        params={"verification": "flagged"}).json()
    assert [c["account_id"] for c in q["claims"]] == ["nobody"]
    q = team.client.get("/staff/claims", headers=team.as_("rita"),
                        params={"amount_min": "2000", "amount_max": "300000"}).json()
    assert sorted(c["amount"] for c in q["claims"]) == ["250000", "5000"]
    q = team.client.get("/staff/claims", headers=team.as_("rita"),
                        params={"status": "submitted", "incident": "kakao-2022-10-15"}).json()
    assert q["total"] == 3


def test_reviewer_takes_a_claim_and_the_queue_shows_it_as_theirs(team: Api) -> None:
    receipt = team.submit().json()
    r = team.client.post(f"/staff/claims/{receipt['claim_id']}/assign", headers=team.as_("rita"),
                         json={"username": "rita"})
    assert r.status_code == 200, r.text
    mine = team.client.get("/staff/claims", headers=team.as_("rita"), params={"assigned": "me"})
    assert mine.json()["total"] == 1
    unassigned = team.client.get("/staff/claims", headers=team.as_("rita"),
                                 params={"assigned": "none"})
    assert unassigned.json()["total"] == 0


def test_reviewer_cannot_assign_a_claim_to_someone_else(team: Api) -> None:
    receipt = team.submit().json()
    r = team.client.post(f"/staff/claims/{receipt['claim_id']}/assign", headers=team.as_("rita"),
                         json={"username": "ravi"})
    assert r.status_code == 403


def test_every_state_change_is_in_the_audit_trail_with_who_before_and_after(team: Api) -> None:
    receipt = team.submit().json()
    cid = receipt["claim_id"]
    decide(team, "rita", cid, action="deny", reason_code="NOT_A_CLAIM")
    trail = team.client.get(f"/staff/audit/claim/{cid}", headers=team.as_("aud")).json()
    assert [e["action"] for e in trail] == ["claim.submit", "claim.deny"]
    deny = trail[1]
    assert deny["actor"] == "staff:rita"
    assert deny["before"]["status"] == "submitted"
    assert deny["after"]["status"] == "denied"
    assert deny["after"]["reason_code"] == "NOT_A_CLAIM"


def test_reverification_records_new_accounts_data(team: Api) -> None:
    receipt = team.submit(account_id="late-import").json()
    assert receipt["verification"] == "flagged"
    subs = ("subscription_id,account_id,segment,service,plan,paid,fee,currency,billing_period,"
            "channel,start,end\n"
            "s-9,late-import,individual,messenger,free,false,0,KRW,month,other,"
            "2020-01-01T00:00:00+09:00,\n")
    r = team.client.post("/staff/accounts/import", headers=team.as_("admin"),
                         files={"subscriptions": ("subs.csv", subs.encode(), "text/csv")})
    assert r.json() == {"accounts": 1}
    r = team.client.post(f"/staff/claims/{receipt['claim_id']}/verify", headers=team.as_("rita"))
    assert r.status_code == 200, r.text
    assert r.json()["verification_result"] == "verified"


def test_claimant_attaches_a_pdf_and_staff_read_the_same_bytes(team: Api) -> None:
    receipt = team.submit().json()
    r = team.client.post(f"/claims/{receipt['claim_id']}/evidence",
                         headers={"X-Receipt-Token": receipt["receipt_token"]},
                         files={"file": ("메일.pdf", PDF, "application/pdf")})
    assert r.status_code == 201, r.text
    evidence = r.json()
    assert evidence["content_type"] == "application/pdf"
    got = team.client.get(f"/staff/claims/{receipt['claim_id']}/evidence/{evidence['id']}",
                          headers=team.as_("rita"))
    assert got.content == PDF


def test_evidence_that_is_not_a_pdf_or_an_image_is_refused(team: Api) -> None:
    receipt = team.submit().json()
    r = team.client.post(f"/claims/{receipt['claim_id']}/evidence",
                         headers={"X-Receipt-Token": receipt["receipt_token"]},
                         files={"file": ("x.pdf", b"MZ\x90\x00 not a pdf", "application/pdf")})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "file"


def test_evidence_above_the_size_limit_is_refused(team: Api) -> None:
    receipt = team.submit().json()
    big = PDF + b"0" * (64 * 1024)
    r = team.client.post(f"/claims/{receipt['claim_id']}/evidence",
                         headers={"X-Receipt-Token": receipt["receipt_token"]},
                         files={"file": ("big.pdf", big, "application/pdf")})
    assert r.status_code == 422


def csv_rows(*rows: dict[str, object]) -> bytes:
    from makegood.services.claims_import import COLUMNS

    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS)
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
    return out.getvalue().encode()


def import_row(**changes: object) -> dict[str, object]:
    body = claim_body()
    body.pop("sales", None)
    body["consent"] = "true"
    body.update(changes)
    return body


def test_bulk_import_reports_each_row_accepted_or_refused_with_the_field(team: Api) -> None:
    data = csv_rows(import_row(), import_row(email="broken"), import_row(start="2022-10-15 16:00"),
                    import_row(claimant_kind="small_business", account_id="acct-shop",
                               service="payments", category="business_sales",
                               sales_outage_week="950000", sales_baseline="2022-09-24=1200000"))
    r = team.client.post("/staff/claims/import", headers=team.as_("sam"),
                         files={"file": ("association.csv", data, "text/csv")})
    assert r.status_code == 200, r.text
    report = r.json()
    assert (report["accepted"], report["refused"]) == (2, 2)
    rows = {row["row"]: row for row in report["rows"]}
    assert rows[2]["status"] == "accepted"
    assert rows[2]["receipt_token"]
    assert rows[3]["errors"][0]["field"] == "email"
    assert rows[4]["errors"][0]["field"] == "start"
    assert rows[5]["status"] == "accepted"


def test_bulk_import_needs_a_supervisor(team: Api) -> None:
    r = team.client.post("/staff/claims/import", headers=team.as_("rita"),
                         files={"file": ("a.csv", csv_rows(import_row()), "text/csv")})
    assert r.status_code == 403


def approved_and_denied(team: Api) -> None:
    receipt = shop_claim(team)
    decide(team, "rita", receipt["claim_id"], action="approve")
    other = team.submit().json()
    decide(team, "rita", other["claim_id"], action="deny", reason_code="NOT_A_CLAIM")
    team.submit(account_id="acct-paid", service="music", category="paid_service")


def test_decisions_export_as_csv_carries_amounts_and_masked_accounts(team: Api) -> None:
    approved_and_denied(team)
    r = team.client.get("/staff/exports/decisions", headers=team.as_("aud"),
                        params={"format": "csv"})
    assert r.status_code == 200
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert sorted(row["status"] for row in rows) == ["approved", "denied"]
    approved = next(row for row in rows if row["status"] == "approved")
    assert approved["amount"] == "30000"
    assert approved["payout_account"] == "********6789"
    assert approved["decided_by"] == "rita"


def test_decisions_export_as_parquet_and_xlsx(team: Api) -> None:
    approved_and_denied(team)
    parquet = team.client.get("/staff/exports/decisions", headers=team.as_("aud"),
                              params={"format": "parquet"})
    table = pq.read_table(io.BytesIO(parquet.content))
    assert table.num_rows == 2
    assert "30000" in table.column("amount").to_pylist()
    xlsx = team.client.get("/staff/exports/decisions", headers=team.as_("aud"),
                           params={"format": "xlsx"})
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None
    assert sheet.max_row == 3  # header + 2


def test_roster_groups_claimants_by_legal_basis(team: Api) -> None:
    approved_and_denied(team)
    r = team.client.get("/staff/exports/roster", headers=team.as_("aud"))
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    bases = [row["legal_basis"] for row in rows]
    assert bases == ["paid_contract", "business_special_damages", "none"]


def test_unknown_export_format_is_a_field_error(team: Api) -> None:
    r = team.client.get("/staff/exports/roster", headers=team.as_("aud"), params={"format": "pdf"})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "format"
