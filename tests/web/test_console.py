"""The operator console through the test client: sign-in, the queue, the review workflow with
the claimant's answer and the four-eyes rule, evidence, exports, runs and users."""

from __future__ import annotations

import io
import re
import time
from pathlib import Path

import pyarrow.parquet as pq

from .conftest import Web
from .test_portal import file_claim


def test_console_pages_need_a_sign_in(web: Web) -> None:
    for path in ("/console", "/console/claims", "/console/runs", "/console/users"):
        r = web.client.get(path, follow_redirects=False)
        assert r.status_code == 303, path
        assert r.headers["location"] == "/console/login", path


def test_wrong_password_is_refused_in_the_readers_language(web: Web) -> None:
    r = web.post("/console/login", {"username": "rev", "password": "wrong password"})
    assert r.status_code == 422
    assert "비밀번호가 틀렸습니다" in r.text


def test_the_staff_cookie_is_httponly_and_strict(web: Web) -> None:
    r = web.post("/console/login", {"username": "rev", "password": "correct horse battery"})
    cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith("mg_staff="))
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie


def test_request_for_information_answer_and_four_eyes_approval(web: Web) -> None:
    claim_id, token = file_claim(web, amount="200000")
    web.login("rev")
    queue = web.client.get("/console/claims?status=submitted")
    assert claim_id in queue.text
    r = web.post(f"/console/claims/{claim_id}/decision",
                 {"action": "request_info", "cure_days": "14", "note": "영수증을 보내 주세요"},
                 page=f"/console/claims/{claim_id}")
    assert r.status_code == 303
    track = web.client.get(f"/portal/track/{claim_id}/{token}")
    assert "영수증을 보내 주세요" in track.text
    assert "정보 요청에 답변" in track.text
    r = web.post(f"/portal/track/{claim_id}/{token}/answer", {"text": "첨부했습니다"},
                 page=f"/portal/track/{claim_id}/{token}")
    assert r.status_code == 303
    web.login("sup1")
    r = web.post(f"/console/claims/{claim_id}/decision", {"action": "approve",
                                                          "amount": "200000"},
                 page=f"/console/claims/{claim_id}")
    assert r.status_code == 303  # above the threshold: a second approval is needed
    again = web.post(f"/console/claims/{claim_id}/decision", {"action": "approve"},
                     page=f"/console/claims/{claim_id}")
    assert again.status_code == 403
    assert "다른 사람" in again.text
    web.login("sup2")
    other = web.post(f"/console/claims/{claim_id}/decision", {"action": "approve",
                                                              "amount": "150000"},
                     page=f"/console/claims/{claim_id}")
    assert other.status_code == 409  # four eyes agree on one amount
    assert "검토 단계로 되돌려" in other.text
    r = web.post(f"/console/claims/{claim_id}/decision", {"action": "approve"},
                 page=f"/console/claims/{claim_id}")
    assert r.status_code == 303
    track = web.client.get(f"/portal/track/{claim_id}/{token}")
    assert "승인됨" in track.text
    assert "200,000 KRW" in track.text


def test_a_second_approver_sends_a_claim_back_with_a_reason(web: Web) -> None:
    claim_id, _token = file_claim(web, amount="300000")
    web.login("rev")
    web.post(f"/console/claims/{claim_id}/decision", {"action": "approve", "amount": "300000"},
             page=f"/console/claims/{claim_id}")
    web.login("sup1")
    page = web.client.get(f"/console/claims/{claim_id}").text
    assert "검토 단계로 되돌리기" in page
    r = web.post(f"/console/claims/{claim_id}/decision", {"action": "send_back"},
                 page=f"/console/claims/{claim_id}")
    assert r.status_code == 422
    assert 'id="e-note"' in r.text
    r = web.post(f"/console/claims/{claim_id}/decision", {"action": "send_back",
                                                          "note": "금액 근거가 부족합니다"},
                 page=f"/console/claims/{claim_id}")
    assert r.status_code == 303
    assert "접수됨, 검토 대기 중" in web.client.get(f"/console/claims/{claim_id}").text


def test_a_denial_without_reason_is_a_field_error(web: Web) -> None:
    claim_id, _token = file_claim(web)
    web.login("rev")
    r = web.post(f"/console/claims/{claim_id}/decision", {"action": "deny"},
                 page=f"/console/claims/{claim_id}")
    assert r.status_code == 422
    assert 'id="e-reason_code"' in r.text


def test_denied_claimant_appeals_once(web: Web) -> None:
    claim_id, token = file_claim(web)
    web.login("rev")
    web.post(f"/console/claims/{claim_id}/decision", {"action": "deny",
                                                      "reason_code": "NO_PROOF_OF_LOSS"},
             page=f"/console/claims/{claim_id}")
    track = web.client.get(f"/portal/track/{claim_id}/{token}")
    assert "손해를 증명하는 자료가 없습니다" in track.text
    r = web.post(f"/portal/track/{claim_id}/{token}/appeal", {"text": "증빙을 첨부했습니다"},
                 page=f"/portal/track/{claim_id}/{token}")
    assert r.status_code == 303
    assert "이의 신청됨" in web.client.get(f"/portal/track/{claim_id}/{token}").text


def test_evidence_is_served_as_an_attachment_with_nosniff(web: Web) -> None:
    claim_id, _token = file_claim(web)
    web.login("rev")
    page = web.client.get(f"/console/claims/{claim_id}")
    link = re.search(rf'href="(/console/claims/{claim_id}/evidence/\d+)"', page.text)
    assert link
    r = web.client.get(link.group(1))
    assert r.headers["content-disposition"].startswith("attachment")
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["content-type"] == "image/png"


def test_the_payout_account_is_masked_for_staff(web: Web) -> None:
    claim_id, _token = file_claim(web)
    web.login("rev")
    page = web.client.get(f"/console/claims/{claim_id}").text
    assert "110-123-456789" not in page
    assert "********6789" in page


def test_verification_checks_read_in_the_readers_language(web: Web) -> None:
    claim_id, _token = file_claim(web)
    web.login("rev")
    page = web.client.get(f"/console/claims/{claim_id}").text
    assert "검증: 검증됨" in page or "검증: 주의" in page
    assert "<td>계정</td>" in page
    assert "계정을 찾았습니다" in page or "기록에서 이 계정을 찾지 못했습니다" in page
    english = web.client.get(f"/console/claims/{claim_id}",
                             headers={"Accept-Language": "en"}).text
    assert "<td>account</td>" in english
    assert "We found your account." in english or "We could not find this account" in english


def test_dashboard_draws_charts_with_their_figures(web: Web) -> None:
    file_claim(web)
    web.login("rev")
    r = web.client.get("/console")
    assert r.status_code == 200
    assert r.text.count("<svg") >= 6
    assert "missed_communication" in r.text  # the figures' table


def test_exports_download_as_files(web: Web) -> None:
    file_claim(web)
    web.login("rev")
    r = web.client.get("/console/exports/roster.csv?incident=kakao-2022-10-15")
    assert r.status_code == 200
    assert r.headers["content-disposition"].startswith("attachment")
    assert "김민수" in r.content.decode("utf-8-sig")


def test_only_admins_manage_users(web: Web) -> None:
    web.login("rev")
    assert web.client.get("/console/users").status_code == 403
    web.login("admin")
    r = web.post("/console/users", {"username": "kim", "password": "short", "role": "reviewer"})
    assert r.status_code == 422
    assert 'id="e-password"' in r.text
    r = web.post("/console/users", {"username": "kim", "password": "long enough password",
                                    "role": "reviewer"})
    assert r.status_code == 303
    assert "kim" in web.client.get("/console/users").text


def test_a_run_started_from_the_console_writes_a_ledger_to_download(web: Web) -> None:
    web.login("admin")
    r = web.post("/console/runs", {"incident": "kakao-2022-10-15", "policy": "kakao-2022-claims",
                                   "accounts": "subscriptions.csv", "engine": "reference"})
    assert r.status_code == 303
    run = str(r.headers["location"])
    for _ in range(100):
        page = web.client.get(run).text
        if "원장 내려받기" in page or "실패" in page:
            break
        time.sleep(0.1)
    assert "원장 내려받기" in page, page
    ledger = web.client.get(f"{run}/ledger.parquet")
    assert ledger.status_code == 200
    rows = pq.read_table(io.BytesIO(ledger.content)).to_pylist()
    assert [(r["account_id"], r["kind"], str(r["amount"])) for r in rows] == \
        [("acct-paid", "extension", "3.000000")]
    assert Path(web.root / "runs").is_dir()


def test_a_run_refuses_accounts_outside_the_data_directory(web: Web) -> None:
    web.login("admin")
    r = web.post("/console/runs", {"incident": "kakao-2022-10-15", "policy": "kakao-2022-claims",
                                   "accounts": "../../etc/passwd", "engine": "reference"})
    assert r.status_code == 422
    assert 'id="e-accounts"' in r.text


def test_signing_out_ends_the_session_on_the_server(web: Web) -> None:
    web.login("rev")
    token = web.client.cookies.get("mg_staff")
    r = web.post("/console/logout", {}, page="/console")
    assert r.status_code == 303
    web.client.cookies.set("mg_staff", str(token))  # a copied cookie no longer works
    r = web.client.get("/console", follow_redirects=False)
    assert r.headers["location"] == "/console/login"


def test_two_policies_are_compared_on_the_same_accounts(web: Web) -> None:
    from makegood.adapters.db.repository import UnitOfWork
    from makegood.services import staff
    from tests.backends.claims_data import POLICY

    five_days = POLICY.replace('id = "kakao-2022-claims"', 'id = "five-days"') \
        .replace('extension = "3d"', 'extension = "5d"')
    staff.put_policy(uow=UnitOfWork(web.engine), document=five_days, actor=staff.SYSTEM,
                     now=web.clock())
    web.login("rev")
    r = web.post("/console/compare", {"incident": "kakao-2022-10-15",
                                      "policy_a": "kakao-2022-claims", "policy_b": "five-days",
                                      "accounts": "subscriptions.csv"}, page="/console/runs")
    assert r.status_code == 200
    table = r.text[r.text.index("<caption>비교 결과"):]
    assert re.search(r"extension \(day\)</th><td class=\"num\">3</td><td class=\"num\">5</td>",
                     table), table[:2000]


def test_an_admin_ends_every_session_of_a_user(web: Web) -> None:
    web.login("sup2")
    stolen = web.client.cookies.get("mg_staff")
    web.client.cookies.clear()
    web.login("admin")
    r = web.post("/console/users/sup2/sessions", {}, page="/console/users")
    assert r.status_code == 303
    web.client.cookies.clear()
    web.client.cookies.set("mg_staff", str(stolen))
    assert web.client.get("/console", follow_redirects=False).status_code == 303


def test_the_queue_shows_screening_scores_and_filters_and_sorts_by_them(web: Web) -> None:
    from makegood.adapters.db.crypto import Cipher
    from makegood.adapters.db.repository import UnitOfWork
    from makegood.services.screening import screen_batch

    first, _ = file_claim(web)
    second, _ = file_claim(web)  # the same evidence, payout account and identity: deductions
    cipher = Cipher.configured(None, web.root / "secret.key")
    screen_batch(uow=UnitOfWork(web.engine), cipher=cipher, now=web.clock())
    with UnitOfWork(web.engine) as uow:
        results = uow.screening.results([first, second])
    codes = set(results[first]["codes"].split())
    assert codes, "two claims sharing evidence and a payout account lose points"
    web.login("rev")
    queue = web.client.get("/console/claims?sort=score")
    assert queue.status_code == 200
    assert re.search(rf">{results[first]['score']}[ <]", queue.text)
    code = sorted(codes)[0]
    assert code in queue.text
    both = web.client.get(f"/console/claims?code={code}")
    assert first in both.text
    assert second in both.text
    none = web.client.get("/console/claims?code=NO_SUCH_CODE&recommendation=nonsense")
    assert none.status_code == 200  # unknown values are ignored, never an error
