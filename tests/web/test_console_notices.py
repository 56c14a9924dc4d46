"""Notice campaigns from the console: the list with progress, starting a campaign (who may, the
field errors in both languages, a campaign started twice), the worker's delivery and the report
with the blast-radius rule, on the 2022 incident as of 17 October 2022 at noon (the messenger
back; Kakao Mail, Daum Mail and the business channel still down)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest

from makegood.adapters.scenario import kakao_2022_incident
from makegood.domain.incident_file import dump_incident

from .conftest import Web

AS_OF = datetime(2022, 10, 17, 3, 0, tzinfo=UTC)  # 12:00 in Seoul
LEDGER = """account_id,subscription_id,service,rule_id,counted_seconds,kind,amount,unit,currency,code
A1,s-1,music,music-web,55800,extension,3,day,,FIXED
A2,s-2,music,music-web,55800,extension,3,day,,FIXED
A3,s-3,emoticon_plus,emo,36060,extension,1,day,,FIXED
A4,s-4,music,music-web,55800,extension,3,day,,FIXED
A5,s-5,music,music-web,55800,extension,3,day,,FIXED
"""
# A1 by push; A2 by phone only (AlimTalk skipped: the business channel is down; then SMS);
# A3 by kakao.com mail only (skipped: Kakao Mail is down; it waits); A4 by naver.com mail;
# A5 has no contact point.
CONTACTS = """account_id,email,phone,push_id,language
A1,,,push-a1,ko
A2,,+821000000002,,en
A3,a3@kakao.com,,,ko
A4,a4@naver.com,,,ko
"""


@pytest.fixture
def case(web: Web) -> Web:
    """The full 2022 incident with a ledger whose summary names its run, and a contacts table
    under the data directory."""
    from makegood.adapters.db.repository import UnitOfWork
    from makegood.services import staff

    (web.root / "awards.csv").write_text(LEDGER, encoding="utf-8")
    (web.root / "awards.csv.summary.json").write_text(json.dumps({"run_id": "run-2022-a"}),
                                                      encoding="utf-8")
    (web.root / "contacts.csv").write_text(CONTACTS, encoding="utf-8")
    web.clock.now = AS_OF
    staff.put_incident(uow=UnitOfWork(web.engine), document=dump_incident(kakao_2022_incident()),
                       policy_id="kakao-2022-claims", ledger_path=str(web.root / "awards.csv"),
                       intake_opens=None, intake_closes=None, actor=staff.SYSTEM, now=AS_OF)
    return web


def start(web: Web, **changes: str) -> object:
    data = {"kind": "awards", "incident": "kakao-2022-10-15",
            "source": "incident:kakao-2022-10-15", "contacts": "contacts.csv",
            "within_days": "7", **changes}
    return web.post("/console/notices", data)


def wait_enqueued(web: Web, campaign_id: str) -> str:
    for _ in range(200):
        page = web.client.get(f"/console/notices/{campaign_id}").text
        if "Enqueuing" not in page and "Starting" not in page and "등록하는 중" not in page \
                and "시작하는 중" not in page:
            return page
        time.sleep(0.05)
    raise AssertionError("the campaign did not finish enqueuing")


def deliver(web: Web, out: object) -> None:
    """One pass of the delivery worker over the outbox, with the shipped 2022 configuration's
    file channels, judging the blast radius at the web clock's instant."""
    import dataclasses
    from pathlib import Path

    from makegood.adapters.db.repository import UnitOfWork
    from makegood.adapters.notify.config import load
    from makegood.services.notices import Worker, close_senders, senders_for

    cfg = dataclasses.replace(load(), base_dir=Path(str(out)))
    senders = senders_for(cfg)
    worker = Worker(uow=lambda: UnitOfWork(web.engine), config=cfg, senders=senders,
                    clock=web.clock)
    try:
        worker.run(until_idle=True)
    finally:
        worker.close()
        close_senders(senders)


def test_a_supervisor_starts_the_award_campaign_and_the_report_shows_delivery_and_skips(
        case: Web) -> None:
    case.login("sup1")
    r = start(case)
    assert r.status_code == 303, r.text  # type: ignore[attr-defined]
    where = r.headers["location"]  # type: ignore[attr-defined]
    campaign_id = where.rsplit("/", 1)[1]
    page = wait_enqueued(case, campaign_id)
    assert "계정 5개, 새 안내 4건, 연락처가 없는 계정 1개" in page  # A5 has no contact point
    deliver(case, case.root / "notices")
    page = case.client.get(where).text
    assert 'id="n-delivered">3<' in page  # push, SMS after AlimTalk, naver.com mail
    assert 'id="n-fallbacks">1<' in page  # SMS, the second step of A2's chain
    assert 'id="n-blast">2<' in page  # A2's AlimTalk, A3's kakao.com mail
    assert "장애 범위: 카카오톡 채널(biz_channel) 중단" in page
    assert "장애 범위: 카카오메일(kakao_mail) 중단" in page
    assert "kakao.com" in page
    assert "kakao_mail" in page
    listing = case.client.get("/console/notices").text
    assert campaign_id in listing
    sms = (case.root / "notices" / "notices-sms.jsonl").read_text(encoding="utf-8")
    assert "+821000000002" in sms


def test_a_campaign_started_twice_is_shown_not_sent_twice(case: Web) -> None:
    case.login("admin")
    first = start(case)
    campaign_id = first.headers["location"].rsplit("/", 1)[1]  # type: ignore[attr-defined]
    wait_enqueued(case, campaign_id)
    again = start(case)
    assert again.status_code == 303  # type: ignore[attr-defined]
    assert again.headers["location"] == f"/console/notices/{campaign_id}?again=1"  # type: ignore[attr-defined]
    page = case.client.get(again.headers["location"]).text  # type: ignore[attr-defined]
    assert "이미 시작한 캠페인" in page
    assert "시작한 사람</dt><dd>admin, " in page  # the audit trail's actor, once
    assert page.count("시작한 사람</dt>") == 1
    from makegood.adapters.db.repository import UnitOfWork

    with UnitOfWork(case.engine) as uow:
        assert uow.outbox.report(campaign_id=campaign_id)["notices"] == 4


def test_reviewers_and_auditors_read_campaigns_but_cannot_start_one(case: Web) -> None:
    for user in ("rev", "aud"):
        case.client.cookies.clear()
        case.login(user)
        page = case.client.get("/console/notices")
        assert page.status_code == 200
        assert 'action="/console/notices"' not in page.text
        r = case.client.post("/console/notices", data={
            "csrf_token": case.csrf("/console/notices"), "kind": "awards"})
        assert r.status_code == 403


def test_bad_input_gets_field_errors_in_korean_and_english(case: Web) -> None:
    case.login("sup1")
    r = start(case, source="run:nope", contacts="../../etc/passwd")
    assert r.status_code == 422  # type: ignore[attr-defined]
    text = r.text  # type: ignore[attr-defined]
    assert 'id="e-source"' in text
    assert 'id="e-contacts"' in text
    assert "이 사고의 원장을 고르십시오" in text
    case.client.cookies.set("mg_lang", "en")
    r = start(case, contacts="missing.csv")
    assert "Give a contacts file or folder under the data directory." in r.text  # type: ignore[attr-defined]
    r = start(case, kind="reminders", within_days="many")
    assert 'id="e-within_days"' in r.text  # type: ignore[attr-defined]
    r = start(case, kind="nothing", incident="nope")
    assert 'id="e-kind"' in r.text
    assert 'id="e-incident"' in r.text


def test_a_contacts_table_that_cannot_be_read_stops_the_campaign_with_its_reason(
        case: Web) -> None:
    (case.root / "contacts.csv").write_text("who,email\nA1,a@b.c\n", encoding="utf-8")
    case.login("sup1")
    case.client.cookies.set("mg_lang", "en")
    r = start(case)
    campaign_id = r.headers["location"].rsplit("/", 1)[1]  # type: ignore[attr-defined]
    page = wait_enqueued(case, campaign_id)
    assert "Stopped:" in page
    assert "account_id" in page


def test_a_reminder_campaign_starts_from_the_same_form(case: Web) -> None:
    case.login("sup1")
    r = start(case, kind="reminders", within_days="3")
    assert r.status_code == 303  # type: ignore[attr-defined]
    page = wait_enqueued(case, r.headers["location"].rsplit("/", 1)[1])  # type: ignore[attr-defined]
    assert "remind-" in page


def test_a_campaign_another_process_is_enqueuing_shows_its_progress_and_is_not_restarted(
        case: Web) -> None:
    """Another server worker (or the command line) is enqueuing it: every process shows the
    progress from the campaign's heartbeat; once the heartbeat stops it is interrupted."""
    from datetime import UTC, datetime, timedelta

    from makegood.adapters.db.notice_tables import notice_campaigns
    from makegood.adapters.db.repository import UnitOfWork
    from makegood.services.notice_campaigns import award_campaign_id

    campaign_id = award_campaign_id("kakao-2022-10-15", "run-2022-a")
    with UnitOfWork(case.engine) as uow:
        uow.outbox.start_campaign(campaign_id=campaign_id, kind="awards",
                                  incident_id="kakao-2022-10-15", run_id="run-2022-a",
                                  source="awards.csv", now=AS_OF)
        uow.outbox.heartbeat(campaign_id, read=1234, new=1000)
        uow.commit()
    case.login("sup1")
    page = case.client.get(f"/console/notices/{campaign_id}").text
    assert "계정 1,234개를 읽고 안내 1,000건을 등록했습니다" in page
    assert 'hx-get="/console/notices/' in page  # it keeps polling
    r = start(case)
    assert r.headers["location"] == f"/console/notices/{campaign_id}?again=1"  # type: ignore[attr-defined]
    with UnitOfWork(case.engine) as uow:
        assert uow.outbox.report(campaign_id=campaign_id)["notices"] == 0  # nothing started
    with case.engine.begin() as conn:
        conn.execute(notice_campaigns.update().values(
            heartbeat_at=datetime.now(UTC) - timedelta(minutes=5)))
    page = case.client.get(f"/console/notices/{campaign_id}").text
    assert "1,234" not in page
    resumed = start(case)
    assert resumed.headers["location"] == f"/console/notices/{campaign_id}"  # type: ignore[attr-defined]
    wait_enqueued(case, campaign_id)
    with UnitOfWork(case.engine) as uow:
        assert uow.outbox.report(campaign_id=campaign_id)["notices"] == 4


def test_an_unknown_campaign_is_not_found(case: Web) -> None:
    case.login("rev")
    assert case.client.get("/console/notices/awards-0000").status_code == 404


@pytest.mark.parametrize("change", [
    {"within_days": "1e400", "kind": "reminders"}, {"within_days": "-1", "kind": "reminders"},
    {"within_days": "9" * 400, "kind": "reminders"}, {"within_days": "\x00", "kind": "reminders"},
    {"contacts": "\x00"}, {"contacts": "김" * 2000}, {"contacts": "/etc"},
    {"source": "'; drop table notices; --"}, {"kind": "<script>"}, {"incident": ""},
], ids=lambda c: "-".join(c))
def test_bad_campaign_input_gets_field_messages_not_a_500(case: Web, change: dict[str, str]
                                                          ) -> None:
    import sqlalchemy as sa

    case.login("admin")
    r = start(case, **change)
    assert r.status_code == 422, r.text[:500]  # type: ignore[attr-defined]
    assert 'class="error-summary"' in r.text  # type: ignore[attr-defined]
    with case.engine.connect() as conn:
        assert conn.execute(sa.text("select count(*) from notice_campaigns")).scalar() == 0


def test_a_draft_reminder_campaign_reaches_a_saved_claim_form(case: Web) -> None:
    from .test_portal import start_draft

    case.clock.now = AS_OF
    draft = start_draft(case)
    saved = case.post(draft, {"action": "save", "email": "minji@example.com"})
    assert saved.status_code in (200, 303)  # type: ignore[attr-defined]
    case.login("sup1")
    r = start(case, kind="drafts")
    assert r.status_code == 303, r.text  # type: ignore[attr-defined]
    page = wait_enqueued(case, r.headers["location"].rsplit("/", 1)[1])  # type: ignore[attr-defined]
    assert "계정 1개, 새 안내 1건" in page


def test_skip_reasons_read_in_the_readers_language() -> None:
    from makegood.entrypoints.web.render import skip_reason

    assert skip_reason("blast radius: biz_channel, messenger down", "ko") == \
        "장애 범위: 카카오톡 채널(biz_channel), 카카오톡(messenger) 중단"
    assert skip_reason("blast radius: kakao_mail down", "en") == \
        "blast radius: Kakao Mail (kakao_mail) down"
    assert skip_reason("blast radius: broadband down", "ko") == "장애 범위: broadband 중단"
    assert skip_reason("circuit open", "ko").startswith("차단기 열림")
    assert skip_reason("something new", "ko") == "something new"
