"""The outbox on both backends: campaigns enqueue once, the worker delivers down the fallback
chain past the incident's blast radius, and claim events write their notices with the claim."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from tests.notify_servers import HttpSink, SmtpSink

from makegood.adapters.db.notice_tables import notices
from makegood.adapters.db.repository import UnitOfWork
from makegood.adapters.notify.config import NotifyConfig
from makegood.domain.errors import DataError
from makegood.services.notice_campaigns import award_campaign
from makegood.services.notices import Worker, close_senders, senders_for

from .conftest import Api
from .notify_support import (
    NOW,
    notify_config,
    put_2022_incident,
    write_contacts,
    write_ledger,
)

KST = ZoneInfo("Asia/Seoul")


def _rows(engine: Engine) -> list[dict[str, object]]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.select(notices).order_by(notices.c.account_id))
                .mappings()]


def _drain(engine: Engine, config: NotifyConfig, at: datetime,
           later: timedelta = timedelta(0)) -> Worker:
    """Run a worker until nothing is due within a second (``later`` moves its clock on)."""
    senders = senders_for(config)
    worker = Worker(uow=lambda: UnitOfWork(engine), config=config, senders=senders,
                    clock=lambda: datetime.now(NOW.tzinfo) + later, incident_clock=lambda: at)
    try:
        for _ in range(300):
            if not worker.run_once():
                with UnitOfWork(engine) as uow:
                    if uow.outbox.pending(due_by=worker.clock() + timedelta(seconds=1)) == 0:
                        break
                time.sleep(0.03)
    finally:
        worker.close()
        close_senders(senders)
    return worker


def test_award_campaign_enqueues_one_notice_per_account_and_a_rerun_adds_nothing(
        db_engine: Engine, tmp_path: Path) -> None:
    incident = put_2022_incident(db_engine)
    ledger = write_ledger(tmp_path / "ledger.parquet", ["A1", "A2", "A3"])
    contacts = write_contacts(tmp_path / "contacts.csv", [
        ("A1", "kim@hanmail.net", "+821011112222", "ko"), ("A2", "lee@gmail.com", "", "en")])
    first = award_campaign(engine=db_engine, incident=incident, ledger=ledger, run_id="run-1",
                           contacts=contacts, now=NOW)
    again = award_campaign(engine=db_engine, incident=incident, ledger=ledger, run_id="run-1",
                           contacts=contacts, now=NOW)
    assert (first.accounts, first.enqueued, first.without_contact) == (3, 2, 1)
    assert again.enqueued == 0
    assert again.campaign_id == first.campaign_id
    rows = _rows(db_engine)
    assert [r["key"] for r in rows] == ["award_granted|kakao-2022-10-15|A1|run-1",
                                        "award_granted|kakao-2022-10-15|A2|run-1"]
    payload = json.loads(str(rows[0]["payload"]))
    assert [a["service"] for a in payload["awards"]] == ["music", "messenger"]
    assert payload["run_id"] == "run-1"
    assert rows[1]["language"] == "en"
    assert rows[1]["phone"] is None  # an empty cell is no contact point


def test_a_campaign_another_process_is_enqueuing_is_not_started_twice(
        db_engine: Engine, tmp_path: Path) -> None:
    from datetime import UTC

    from makegood.adapters.db.notice_tables import notice_campaigns
    from makegood.domain.errors import Conflict
    from makegood.services.notice_campaigns import award_campaign_id, live_progress

    incident = put_2022_incident(db_engine)
    ledger = write_ledger(tmp_path / "ledger.parquet", ["A1", "A2"])
    contacts = write_contacts(tmp_path / "contacts.csv", [("A1", "a@b.kr", "", "ko"),
                                                          ("A2", "c@d.kr", "", "ko")])
    campaign_id = award_campaign_id(incident.id, "run-1")
    with UnitOfWork(db_engine) as uow:  # another process started it and is at work
        uow.outbox.start_campaign(campaign_id=campaign_id, kind="awards", incident_id=incident.id,
                                  run_id="run-1", source=str(ledger), now=NOW)
        uow.outbox.heartbeat(campaign_id, read=1234, new=1000)
        uow.commit()
    with UnitOfWork(db_engine) as uow:
        assert live_progress(uow.outbox.campaign(campaign_id)) == (1234, 1000)
    with pytest.raises(Conflict, match="being enqueued by another process"):
        award_campaign(engine=db_engine, incident=incident, ledger=ledger, run_id="run-1",
                       contacts=contacts, now=NOW)
    assert _rows(db_engine) == []
    # It falls silent (killed): after a minute it is interrupted and starting it resumes it.
    with db_engine.begin() as conn:
        conn.execute(notice_campaigns.update().values(
            heartbeat_at=datetime.now(UTC) - timedelta(minutes=2)))
    with UnitOfWork(db_engine) as uow:
        assert live_progress(uow.outbox.campaign(campaign_id)) is None
    result = award_campaign(engine=db_engine, incident=incident, ledger=ledger, run_id="run-1",
                            contacts=contacts, now=NOW)
    assert result.enqueued == 2
    with UnitOfWork(db_engine) as uow:
        done = uow.outbox.campaign(campaign_id)
    assert (done["status"], done["heartbeat_at"], live_progress(done)) == ("enqueued", None, None)


def test_contacts_with_an_unknown_language_are_refused_with_the_row(
        db_engine: Engine, tmp_path: Path) -> None:
    incident = put_2022_incident(db_engine)
    ledger = write_ledger(tmp_path / "ledger.parquet", ["A1"])
    contacts = write_contacts(tmp_path / "contacts.csv", [("A1", "a@b.kr", "", "ko"),
                                                          ("A2", "c@d.kr", "", "fr")])
    with pytest.raises(DataError) as info:
        award_campaign(engine=db_engine, incident=incident, ledger=ledger, run_id="r",
                       contacts=contacts, now=NOW)
    assert (info.value.row, info.value.field) == (2, "language")
    assert _rows(db_engine) == []


def test_worker_skips_the_operators_mail_while_it_is_down_and_falls_back_to_sms(
        db_engine: Engine, tmp_path: Path, smtp: SmtpSink, http: HttpSink) -> None:
    incident = put_2022_incident(db_engine)
    ledger = write_ledger(tmp_path / "ledger.parquet", ["A1", "A2", "A3"])
    contacts = write_contacts(tmp_path / "contacts.csv", [
        ("A1", "kim@hanmail.net", "+821011112222", "ko"),
        ("A2", "lee@gmail.com", "+821033334444", "en"),
        ("A3", "park@daum.net", "", "ko")])
    award_campaign(engine=db_engine, incident=incident, ledger=ledger, run_id="r", now=NOW,
                   contacts=contacts)
    config = notify_config(tmp_path, smtp_port=smtp.port, http_url=http.url,
                           extra_worker="blocked_wait_seconds = 600")
    _drain(db_engine, config, at=datetime(2022, 10, 17, 12, tzinfo=KST))
    rows = {r["account_id"]: r for r in _rows(db_engine)}
    assert (rows["A1"]["status"], rows["A1"]["channel"]) == ("delivered", "sms")
    assert (rows["A2"]["status"], rows["A2"]["channel"]) == ("delivered", "email")
    assert rows["A3"]["status"] == "temporary_failure"  # only daum.net: waits for Daum Mail
    assert [m["to"] for m in smtp.received] == ["lee@gmail.com"]
    assert [s["body"]["to"] for s in http.sent.values()] == ["+821011112222"]
    with UnitOfWork(db_engine) as uow:
        report = uow.outbox.report(incident_id=incident.id)
    assert {"channel": "email", "reason": "blast radius: daum_mail down",
            "attempts": 2} in report["skipped"]
    assert report["fallbacks_taken"] == 1
    # Daum Mail is back on 21 October: the waiting notice goes out by email.
    _drain(db_engine, config, at=datetime(2022, 10, 21, 12, tzinfo=KST),
           later=timedelta(minutes=11))
    rows = {r["account_id"]: r for r in _rows(db_engine)}
    assert (rows["A3"]["status"], rows["A3"]["channel"]) == ("delivered", "email")
    assert sorted(m["to"] for m in smtp.received) == ["lee@gmail.com", "park@daum.net"]


def test_smtp_server_gone_mid_campaign_opens_the_circuit_and_sms_takes_over(
        db_engine: Engine, tmp_path: Path, smtp: SmtpSink, http: HttpSink) -> None:
    incident = put_2022_incident(db_engine)
    accounts = [f"A{i}" for i in range(1, 31)]
    ledger = write_ledger(tmp_path / "ledger.parquet", accounts)
    contacts = write_contacts(tmp_path / "contacts.csv", [
        (a, f"{a.lower()}@gmail.com", f"+82100000{i:04d}", "ko")
        for i, a in enumerate(accounts)])
    award_campaign(engine=db_engine, incident=incident, ledger=ledger, run_id="r", now=NOW,
                   contacts=contacts)
    config = notify_config(tmp_path, smtp_port=smtp.port, http_url=http.url, batch=10,
                           breaker_threshold=3)
    senders = senders_for(config)
    worker = Worker(uow=lambda: UnitOfWork(db_engine), config=config, senders=senders,
                    clock=lambda: datetime.now(NOW.tzinfo),
                    incident_clock=lambda: datetime(2022, 11, 1, tzinfo=KST))
    try:
        worker.run_once()  # the first 10 go by email
        smtp.stop()  # the mail server disappears
        for _ in range(300):
            if not worker.run_once():
                with UnitOfWork(db_engine) as uow:
                    if uow.outbox.pending() == 0:
                        break
                time.sleep(0.03)
    finally:
        worker.close()
        close_senders(senders)
    rows = _rows(db_engine)
    by_channel = {c: sum(1 for r in rows if r["channel"] == c) for c in ("email", "sms")}
    assert all(r["status"] == "delivered" for r in rows)
    assert by_channel == {"email": 10, "sms": 20}
    assert len(smtp.received) == 10
    with UnitOfWork(db_engine) as uow:
        report = uow.outbox.report()
    reasons = {s["reason"] for s in report["skipped"]}
    assert reasons == {"circuit open"}  # after 3 technical failures email was not tried


def test_a_claim_and_its_decision_write_their_notices_with_them(api: Api) -> None:
    receipt = api.submit(name="김민수").json()
    r = api.client.post(f"/staff/claims/{receipt['claim_id']}/decision",
                        headers=api.as_("admin"),
                        json={"action": "deny", "reason_code": "OUTSIDE_OUTAGE"})
    assert r.status_code == 200, r.text
    rows = _rows(api.engine)
    assert [(r["kind"], r["language"], r["email"]) for r in rows] == [
        ("claim_received", "ko", "minsu@example.com"), ("decision", "ko", "minsu@example.com")]
    assert rows[0]["key"] == f"claim_received|kakao-2022-10-15|acct-free|{receipt['claim_id']}" \
        ":received"
    assert json.loads(str(rows[1]["payload"]))["outcome"] == "denied"


def test_a_replayed_submission_adds_no_second_notice(api: Api) -> None:
    headers = {"Idempotency-Key": "retry-1"}
    first = api.submit(headers=headers)
    second = api.submit(headers=headers)
    assert first.status_code == second.status_code == 201
    assert len(_rows(api.engine)) == 1



def test_a_campaign_resumed_after_a_crash_adds_only_what_is_missing(
        db_engine: Engine, tmp_path: Path) -> None:
    incident = put_2022_incident(db_engine)
    ledger = write_ledger(tmp_path / "ledger.parquet", ["A1", "A2", "A3"])
    contacts = write_contacts(tmp_path / "contacts.csv", [
        ("A1", "a@gmail.com", "", "ko"), ("A2", "b@gmail.com", "", "ko"),
        ("A3", "c@gmail.com", "", "ko")])
    award_campaign(engine=db_engine, incident=incident, ledger=ledger, run_id="r", now=NOW,
                   contacts=contacts, batch_rows=1)
    with db_engine.begin() as conn:  # as if the last batch had not committed
        conn.execute(notices.delete().where(notices.c.account_id == "A3"))
    resumed = award_campaign(engine=db_engine, incident=incident, ledger=ledger, run_id="r",
                             now=NOW, contacts=contacts, batch_rows=1)
    assert resumed.enqueued == 1
    assert [r["account_id"] for r in _rows(db_engine)] == ["A1", "A2", "A3"]


def test_reminders_go_to_claims_waiting_for_information_once_a_day(api: Api) -> None:
    from makegood.services.notice_campaigns import reminder_campaign

    receipt = api.submit(name="Jane Doe").json()
    r = api.client.post(f"/staff/claims/{receipt['claim_id']}/decision", headers=api.as_("admin"),
                        json={"action": "request_info", "note": "a receipt, please",
                              "cure_days": 5})
    assert r.status_code == 200, r.text
    now = api.clock()
    first = reminder_campaign(engine=api.engine, incident_id="kakao-2022-10-15", now=now)
    again = reminder_campaign(engine=api.engine, incident_id="kakao-2022-10-15", now=now)
    assert (first.accounts, first.enqueued, again.enqueued) == (1, 1, 0)
    kinds = [(r["kind"], r["language"]) for r in _rows(api.engine)]
    assert sorted(kinds) == [("claim_received", "en"), ("deadline_reminder", "en"),
                             ("information_requested", "en")]
