"""Property: with injected failures and a worker killed with SIGKILL at random points and
restarted, every notice reaches its recipient at most once per channel and every deliverable
recipient gets exactly one successful notice; undeliverable ones end as permanent failures.

"At most once per channel" is what the recipient sees: the SMS provider (a real HTTP server
here) honours the ``Idempotency-Key`` that stays the same on every retry of a notice on a
channel, and an e-mail sent again after a crash carries the same Message-ID. Raw SMTP
transactions may repeat only for attempts the worker recorded as "outcome unknown" (killed
between the server's 250 and the commit): the test checks that bound too.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from tests.notify_servers import HttpSink, SmtpSink

from makegood.adapters.db.engine import make_engine
from makegood.adapters.db.notice_tables import notice_attempts, notices
from makegood.adapters.db.repository import UnitOfWork
from makegood.adapters.notify.config import load
from makegood.domain.notices import Channel, provider_key
from makegood.services.notice_campaigns import award_campaign
from makegood.services.notices import Worker, senders_for

from .notify_support import NOW, notify_config, put_2022_incident, write_contacts, write_ledger

KST = ZoneInfo("Asia/Seoul")
LIVES = 6  # workers killed with SIGKILL before the one that finishes


@pytest.fixture
def http() -> Iterator[HttpSink]:
    sink = HttpSink()
    sink.behaviour.fail_rate = 0.05
    yield sink
    sink.stop()


def _work(url: str, config_path: Path, at: datetime, ready: Any) -> None:
    """A delivery worker in a process of its own: its own engine, runs until killed."""
    engine = make_engine(url, pool_size=2)
    config = load(config_path)
    worker = Worker(uow=lambda: UnitOfWork(engine), config=config, senders=senders_for(config),
                    clock=lambda: datetime.now(UTC), incident_clock=lambda: at)
    ready.set()
    while True:
        if not worker.run_once():
            time.sleep(0.02)


def _contacts(rng: random.Random, n: int) -> list[tuple[str, str, str, str]]:
    rows = []
    for i in range(n):
        email = rng.choice(["a{i}@gmail.com", "flaky{i}@gmail.com", "refuse{i}@gmail.com",
                            "b{i}@hanmail.net"]).format(i=i)
        phone = rng.choice(["+8210{i:08d}", "+8210{i:08d}", "+82bad{i}", ""]).format(i=i)
        rows.append((f"A{i:04d}", email, phone, "ko"))
    return rows


def _deliverable(email: str, phone: str) -> bool:
    # 21 Oct: Daum Mail is back; refuse* gets 550; a bad number gets 400.
    return bool(phone and "bad" not in phone) or "refuse" not in email


def test_sigkilled_workers_never_deliver_twice_and_miss_nobody(
        db_url: str, db_engine: Engine, tmp_path: Path, smtp: SmtpSink, http: HttpSink,
        record_property: Any) -> None:
    rng = random.Random(20221015)
    incident = put_2022_incident(db_engine)
    rows = _contacts(rng, 80)
    accounts = [r[0] for r in rows]
    award_campaign(engine=db_engine, incident=incident,
                   ledger=write_ledger(tmp_path / "ledger.parquet", accounts), run_id="r",
                   contacts=write_contacts(tmp_path / "contacts.csv", rows), now=NOW)
    notify_config(tmp_path, smtp_port=smtp.port, http_url=http.url, chain='"sms", "email"',
                  lease=0.6, batch=4, max_tries=4)
    at = datetime(2022, 10, 21, 12, tzinfo=KST)
    # spawn, not fork: this process runs the servers' threads, and forking a threaded process can
    # copy a lock held by one of them (Python 3.12 warns).
    spawn = multiprocessing.get_context("spawn")
    for life in range(LIVES + 1):
        ready = spawn.Event()
        proc = spawn.Process(target=_work, args=(db_url, tmp_path / "notify.toml", at, ready))
        proc.start()
        assert ready.wait(30)
        if life < LIVES:  # killed at a random point of its work
            time.sleep(rng.uniform(0.05, 0.4))
        else:  # the last life runs until nothing is left
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                with UnitOfWork(db_engine) as uow:
                    if uow.outbox.pending() == 0:
                        break
                time.sleep(0.05)
        assert proc.pid is not None
        os.kill(proc.pid, signal.SIGKILL)
        proc.join()
    with UnitOfWork(db_engine) as uow:
        assert uow.outbox.pending() == 0, "the campaign did not finish"

    with db_engine.connect() as conn:
        final = {r["account_id"]: r for r in conn.execute(sa.select(notices)).mappings()}
        unknown = Counter(
            r[0] for r in conn.execute(
                sa.select(notices.c.account_id).join(notice_attempts,
                                                     notice_attempts.c.notice_id == notices.c.id)
                .where(notice_attempts.c.detail.like("worker stopped%"),
                       notice_attempts.c.channel == "email")))
    record_property("attempts_with_unknown_outcome", sum(unknown.values()))
    sms_by_key = {key: True for key in http.sent}
    mail_raw = Counter(m["message_id"] for m in smtp.received)
    delivered_channels: dict[str, set[str]] = {}
    for account, email, phone, _ in rows:
        key = str(final[account]["key"])
        channels = set()
        if provider_key(key, Channel.SMS) in sms_by_key:
            channels.add("sms")
        message_id = f"<{provider_key(key, Channel.EMAIL)}@makegood.invalid>"
        if mail_raw[message_id]:
            channels.add("email")
            assert mail_raw[message_id] <= 1 + unknown[account], (account, mail_raw[message_id])
        delivered_channels[account] = channels
        if _deliverable(email, phone):
            assert len(channels) == 1, (account, email, phone, channels)
            assert final[account]["status"] == "delivered"
            assert {str(final[account]["channel"])} == channels
        else:
            assert channels == set(), (account, channels)
            assert final[account]["status"] == "permanent_failure"
