"""The claimant portal through the test client: notice, check my compensation, filing with a
draft and evidence, receipt, tracking; CSRF, headers and languages."""

from __future__ import annotations

import re

import sqlalchemy as sa

from .conftest import Web

INCIDENT = "/portal/incidents/kakao-2022-10-15"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(200)
DETAILS = {"action": "review", "details": "1", "name": "김민수", "email": "minsu@example.com",
           "phone": "010-1234-5678", "account_id": "acct-free", "service": "messenger",
           "start": "2022-10-15T16:00", "end": "2022-10-15T20:00",
           "description": "면접 안내 메일을 받지 못했습니다", "amount": "0",
           "payout_method": "bank", "payout_account": "110-123-456789", "consent": "yes"}


def start_draft(web: Web, **choice: str) -> str:
    r = web.post(f"{INCIDENT}/file", {"claimant_kind": "individual",
                                      "category": "missed_communication", **choice})
    assert r.status_code == 303, r.text
    return str(r.headers["location"])


def file_claim(web: Web, *, evidence: tuple[str, bytes, str] = ("캡처.png", PNG, "image/png"),
               **changes: str) -> tuple[str, str]:
    draft = start_draft(web)
    r = web.post(draft, {**DETAILS, **changes}, files=[("evidence", evidence)])
    assert r.status_code == 303, r.text
    r = web.post(f"{draft}/submit", {}, page=f"{draft}/review")
    assert r.status_code == 303, r.text
    _, _, _, claim_id, token = str(r.headers["location"]).split("/")
    return claim_id, token


def test_notice_names_services_in_local_time_and_the_deadline_in_korean(web: Web) -> None:
    r = web.client.get(INCIDENT)
    assert r.status_code == 200
    assert '<html lang="ko">' in r.text
    assert "2022-10-15 15:30 KST" in r.text
    assert "2022-10-16 01:31 KST" in r.text
    assert "2022-11-07 00:00 KST까지 신청을 받습니다" in r.text
    assert "멜론 유료 구독: 장애가 있었다면 이용 기간 3일 연장" in r.text  # the policy, in Korean
    assert "<td>멜론</td>" in r.text  # services by the names people know


def test_english_by_accept_language_and_by_the_switch(web: Web) -> None:
    r = web.client.get(INCIDENT, headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert "paid subscriptions to music: +3 days for any outage" in r.text  # the policy's words
    assert '<html lang="en">' in r.text
    assert "Claims are accepted until" in r.text
    r = web.client.get(f"/lang/ko?next={INCIDENT}", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == INCIDENT
    r = web.client.get(INCIDENT, headers={"Accept-Language": "en"})
    assert '<html lang="ko">' in r.text  # the switch's cookie wins over the header


def test_language_switch_never_redirects_off_site(web: Web) -> None:
    r = web.client.get("/lang/en?next=//evil.example/x", follow_redirects=False)
    assert r.headers["location"] == "/portal"


def test_check_shows_the_accounts_awards_in_words(web: Web) -> None:
    r = web.post("/portal/check", {"account_id": "acct-paid", "phone_last4": "5678",
                                   "incident_id": "kakao-2022-10-15"})
    assert r.status_code == 200
    assert "<strong>멜론</strong>" in r.text
    assert "인정된 장애 시간: 15시간 30분" in r.text
    assert "멜론 유료 구독: 장애가 있었다면 이용 기간 3일 연장" in r.text
    # DOMAIN.md's music window (15 Oct 15:30 - 16 Oct 07:00 KST), explained in Korean
    assert ("멜론: 10월 15일 15:30 ~ 10월 16일 07:00 KST 장애, 15시간 30분; 규칙 music-web; "
            "장애 기간 중 구독 → 이용 기간 3일 연장") in r.text
    assert "down 15 Oct" not in r.text
    assert 'lang="en"' not in r.text.split("<main", 1)[1]  # nothing on the result reads English


def test_check_in_english_explains_in_english(web: Web) -> None:
    web.client.cookies.set("mg_lang", "en")
    r = web.post("/portal/check", {"account_id": "acct-paid", "phone_last4": "5678",
                                   "incident_id": "kakao-2022-10-15"})
    assert r.status_code == 200
    assert "<strong>Melon</strong>" in r.text
    assert ("music: down 15 Oct 15:30 - 16 Oct 07:00 KST, 15 h 30 min; rule music-web; "
            "subscriber during the outage -&gt; +3 days") in r.text


def test_check_with_wrong_digits_says_nothing_about_the_account(web: Web) -> None:
    wrong = web.post("/portal/check", {"account_id": "acct-paid", "phone_last4": "0000",
                                       "incident_id": "kakao-2022-10-15"})
    unknown = web.post("/portal/check", {"account_id": "nobody", "phone_last4": "0000",
                                         "incident_id": "kakao-2022-10-15"})
    assert wrong.status_code == unknown.status_code == 422
    assert "일치하지 않습니다" in wrong.text
    assert "일치하지 않습니다" in unknown.text
    assert "3 days" not in wrong.text


def test_check_stops_guessing_after_five_wrong_answers(web: Web) -> None:
    from makegood.entrypoints.web import portal

    portal.limiter._fails.clear()
    for digits in ("0001", "0002", "0003", "0004", "0005"):
        r = web.post("/portal/check", {"account_id": "acct-shop", "phone_last4": digits,
                                       "incident_id": "kakao-2022-10-15"})
        assert r.status_code == 422
    r = web.post("/portal/check", {"account_id": "acct-shop", "phone_last4": "4321",
                                   "incident_id": "kakao-2022-10-15"})
    assert r.status_code == 429  # even the right answer waits now
    portal.limiter._fails.clear()


def test_a_claim_is_filed_with_evidence_and_tracked_with_its_token(web: Web) -> None:
    claim_id, token = file_claim(web)
    receipt = web.client.get(f"/portal/receipt/{claim_id}/{token}")
    assert receipt.status_code == 200
    assert claim_id in receipt.text
    assert token in receipt.text
    assert "캡처.png" in receipt.text
    track = web.client.get(f"/portal/track/{claim_id}/{token}")
    assert "계정을 찾았습니다" in track.text  # verification in plain words
    assert "*" * 8 + "6789" in track.text  # the payout account masked
    with web.engine.connect() as conn:
        source = conn.execute(sa.text("select source from claims where id = :i"),
                              {"i": claim_id}).scalar()
        drafts = conn.execute(sa.text("select count(*) from web_drafts")).scalar()
    assert source == "web"
    assert drafts == 0


def test_a_wrong_token_finds_no_claim(web: Web) -> None:
    claim_id, _token = file_claim(web)
    assert web.client.get(f"/portal/track/{claim_id}/not-the-token").status_code == 404
    r = web.post("/portal/track", {"claim_id": claim_id, "token": "not-the-token"})
    assert r.status_code == 404
    assert "해당하는 신청이 없습니다" in r.text


def test_a_saved_draft_resumes_from_its_link(web: Web) -> None:
    draft = start_draft(web)
    r = web.post(draft, {"action": "save", "details": "1", "name": "이영희",
                         "email": "not-yet"})
    assert r.status_code == 200
    link = re.search(r'class="link"><a href="([^"]+)"', r.text)
    assert link
    assert link.group(1).endswith(draft)
    web.client.cookies.clear()  # another browser, later
    resumed = web.client.get(draft)
    assert resumed.status_code == 200
    assert 'value="이영희"' in resumed.text


def test_review_shows_every_field_error_next_to_its_field_in_both_languages(web: Web) -> None:
    draft = start_draft(web)
    bad = {**DETAILS, "email": "minsu", "start": "yesterday", "amount": "-5", "consent": ""}
    del bad["consent"]
    r = web.post(draft, bad)
    assert r.status_code == 422
    for field, ko in (("email", "이메일 주소"), ("start", "날짜와 시각"), ("amount", "음수"),
                      ("consent", "동의")):
        assert re.search(rf'id="e-{field}"[^>]*>.*?{ko}', r.text, re.DOTALL), field
    web.client.cookies.set("mg_lang", "en")
    r = web.post(draft, bad)
    assert "Enter an email address" in r.text
    assert "cannot be negative" in r.text


def test_a_post_without_the_csrf_token_changes_nothing(web: Web) -> None:
    web.client.get("/portal/check")
    r = web.client.post(f"{INCIDENT}/file", data={"claimant_kind": "individual",
                                                  "category": "other"},
                        follow_redirects=False)
    assert r.status_code == 403
    with web.engine.connect() as conn:
        assert conn.execute(sa.text("select count(*) from web_drafts")).scalar() == 0


def test_pages_send_security_headers_and_secure_cookies(web: Web) -> None:
    web.client.cookies.clear()
    r = web.client.get("/portal/check")
    csp = r.headers["content-security-policy"]
    assert "unsafe-inline" not in csp
    assert "script-src 'self'" in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "no-referrer"
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "<script>" not in r.text
    assert " style=" not in r.text


def test_receipt_and_tracking_keep_claimant_data_out_of_urls(web: Web) -> None:
    draft = start_draft(web)
    r = web.post(draft, DETAILS)
    assert "minsu" not in r.headers["location"]
    assert "acct-free" not in r.headers["location"]
