"""Secret links by email, on SQLite and PostgreSQL: the receipt with its tracking link, the
resume link of a saved claim, and the draft reminders. The links travel sealed (encrypted) in
the outbox, reach a real SMTP server, open the pages they point to, and are wiped once sent."""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from tests.notify_servers import HttpSink, SmtpSink
from tests.web.conftest import Clock, Web, load_case, settings_for

from makegood import bootstrap
from makegood.adapters.db import schema
from makegood.adapters.db.crypto import Cipher, token_hash
from makegood.adapters.db.notice_tables import notices
from makegood.adapters.db.repository import UnitOfWork
from makegood.adapters.db.rotation import reencrypt, stale
from makegood.adapters.db.web_store import Drafts
from makegood.adapters.notify.config import NotifyConfig
from makegood.config import Settings
from makegood.services.notice_campaigns import draft_reminder_campaign
from makegood.services.notices import Worker, close_senders, senders_for

from .conftest import Api
from .notify_support import notify_config

PUBLIC = "http://testserver"
INCIDENT = "kakao-2022-10-15"
CLAIM = {"name": "박지훈", "email": "jihun@example.com", "phone": "010-2222-3333",
         "account_id": "acct-shop", "service": "payments", "start": "2022-10-15 17:00",
         "end": "2022-10-15 18:00", "description": "결제가 되지 않았습니다", "amount": "12000",
         "consent": "yes"}
LINK = re.compile(r"http://testserver(/portal/[a-z]+/[A-Za-z0-9_/-]+)")


@dataclasses.dataclass
class Portal:
    web: Web
    settings: Settings
    config: NotifyConfig

    @property
    def cipher(self) -> Cipher:
        return bootstrap.cipher(self.settings)  # the server's key file

    def start(self) -> str:
        r = self.web.post(f"/portal/incidents/{INCIDENT}/file",
                          {"claimant_kind": "individual", "category": "payment_failed"})
        assert r.status_code == 303  # type: ignore[attr-defined]
        return str(r.headers["location"])  # type: ignore[attr-defined]

    def file(self, draft: str) -> str:
        """Review and submit a draft; the receipt page's path."""
        r = self.web.post(draft, {"action": "review", **CLAIM})
        assert r.status_code == 303, r.text  # type: ignore[attr-defined]
        r = self.web.post(f"{draft}/submit", {}, page=f"{draft}/review")
        assert r.status_code == 303  # type: ignore[attr-defined]
        return str(r.headers["location"])  # type: ignore[attr-defined]

    def deliver(self, *, public_url: str | None = PUBLIC, cipher: Cipher | None = None) -> None:
        """A delivery worker with the service's key, until the outbox is empty."""
        senders = senders_for(self.config)
        worker = Worker(uow=lambda: UnitOfWork(self.web.engine), config=self.config,
                        senders=senders, clock=lambda: self.web.clock() + timedelta(seconds=1),
                        cipher=cipher or self.cipher, public_url=public_url)
        try:
            for _ in range(200):
                if not worker.run_once():
                    with UnitOfWork(self.web.engine) as uow:
                        if uow.outbox.pending() == 0:
                            break
                    time.sleep(0.02)
        finally:
            worker.close()
            close_senders(senders)


def _portal(engine: Engine, root: Path, smtp: SmtpSink, http: HttpSink,
            public_url: str | None = PUBLIC) -> Iterator[Portal]:
    from makegood.entrypoints.api.app import create_app

    clock = Clock(datetime(2022, 10, 20, 1, 0, tzinfo=UTC))
    load_case(engine, root, clock)
    settings = dataclasses.replace(settings_for(root), public_url=public_url)  # type: ignore[type-var]
    app = create_app(settings, engine=engine, clock=clock)  # type: ignore[arg-type]
    config = notify_config(root, smtp_port=smtp.port, http_url=http.url)
    with TestClient(app) as client:
        yield Portal(Web(client, clock, engine, root), settings, config)  # type: ignore[arg-type]


@pytest.fixture
def portal(db_engine: Engine, tmp_path: Path, smtp: SmtpSink, http: HttpSink
           ) -> Iterator[Portal]:
    yield from _portal(db_engine, tmp_path, smtp, http)


def _in_clear(engine: Engine, secret: str) -> list[str]:
    """Every column of every table that holds ``secret`` as it is."""
    found = []
    with engine.connect() as conn:
        for table in schema.metadata.sorted_tables:
            for row in conn.execute(sa.select(table)).mappings():
                found += [f"{table.name}.{k}" for k, v in row.items() if secret in str(v)]
    return found


def _notices(engine: Engine, kind: str) -> list[dict[str, object]]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(
            sa.select(notices).where(notices.c.kind == kind).order_by(notices.c.id)).mappings()]


def _link(message: dict[str, str]) -> str:
    found = LINK.search(message["text"])
    assert found, message["text"]
    assert found.group(0) in message["html"]
    return found.group(1)


def test_the_receipt_is_emailed_with_a_tracking_link_that_opens_the_claim(
        portal: Portal, smtp: SmtpSink, http: HttpSink) -> None:
    receipt = portal.file(portal.start())
    _, _, _, claim_id, token = receipt.split("/")
    page = portal.web.client.get(receipt).text
    assert "ji***@example.com" in page
    assert "010" in page
    [notice] = _notices(portal.web.engine, "claim_received")
    assert notice["sealed"]
    assert token not in str(notice["sealed"])
    assert portal.cipher.decrypt(str(notice["sealed"])) == f"/portal/track/{claim_id}/{token}"
    assert _in_clear(portal.web.engine, token) == []  # only ciphertext and hashes are stored

    portal.deliver()
    [mail] = [m for m in smtp.messages if m["to"] == "jihun@example.com"]
    assert claim_id in mail["subject"]
    path = _link(mail)
    assert path == f"/portal/track/{claim_id}/{token}"
    tracked = portal.web.client.get(path)
    assert tracked.status_code == 200
    assert claim_id in tracked.text
    [sent] = _notices(portal.web.engine, "claim_received")
    assert sent["status"] == "delivered"
    assert sent["sealed"] is None
    page = portal.web.client.get(receipt).text
    assert "It was delivered." in page or "전송이 완료되었습니다." in page
    assert _in_clear(portal.web.engine, token) == []
    assert http.sent == {}  # delivered by email, the first step: no SMS


def test_a_saved_claim_is_resumed_from_the_emailed_link(portal: Portal,
                                                        smtp: SmtpSink) -> None:
    draft = portal.start()
    token = draft.rsplit("/", 1)[1]
    assert 'name="resume_email"' in portal.web.client.get(draft).text
    saved = {"action": "save", "name": "박지훈", "email": "jihun@example.com",
             "resume_email": "later@example.com"}
    r = portal.web.post(draft, saved)
    assert r.status_code == 200  # type: ignore[attr-defined]
    assert "la***@example.com" in r.text  # type: ignore[attr-defined]
    portal.web.post(draft, saved)  # saved again to the same address: no second email
    [notice] = _notices(portal.web.engine, "resume_link")
    assert notice["email"] == "later@example.com"
    assert notice["sealed"]
    assert _in_clear(portal.web.engine, token) == []

    portal.deliver()
    [mail] = [m for m in smtp.messages if m["to"] == "later@example.com"]
    path = _link(mail)
    assert path == f"/portal/drafts/{token}"
    resumed = portal.web.client.get(path)
    assert resumed.status_code == 200
    assert "박지훈" in resumed.text
    assert _notices(portal.web.engine, "resume_link")[0]["sealed"] is None
    # The resumed claim goes on to a receipt.
    assert portal.file(path).startswith("/portal/receipt/")


def test_a_bad_address_for_the_link_is_refused_on_the_page(portal: Portal) -> None:
    draft = portal.start()
    r = portal.web.post(draft, {"action": "save", "resume_email": "not-an-address"})
    assert r.status_code == 422  # type: ignore[attr-defined]
    assert 'id="e-resume_email"' in r.text  # type: ignore[attr-defined]
    assert _notices(portal.web.engine, "resume_link") == []


def test_draft_reminders_once_per_draft_with_the_deadline_and_withdrawn_on_submit(
        portal: Portal, smtp: SmtpSink) -> None:
    engine, cipher, now = portal.web.engine, portal.cipher, portal.web.clock()
    with_email = portal.start()
    portal.web.post(with_email, {"action": "save", "email": "minji@example.com",
                                 "resume_email": ""})  # no link asked for; a contact kept
    portal.start()  # no contact: no reminder
    expired = "e" * 64
    with UnitOfWork(engine) as uow:
        Drafts(uow.conn).put(token_hash=expired, incident_id=INCIDENT, data=cipher.encrypt("{}"),
                             now=now - timedelta(days=40), expires_at=now - timedelta(days=10),
                             contact=cipher.encrypt('{"email": "old@example.com"}'),
                             sealed=cipher.encrypt("old-token"))
        uow.commit()
    assert _notices(engine, "resume_link") == []

    first = draft_reminder_campaign(engine=engine, cipher=cipher, incident_id=INCIDENT, now=now)
    again = draft_reminder_campaign(engine=engine, cipher=cipher, incident_id=INCIDENT, now=now)
    assert (first.accounts, first.enqueued) == (1, 1)
    assert (again.accounts, again.enqueued) == (1, 0)  # run twice: nothing new
    assert first.campaign_id == again.campaign_id
    portal.deliver()
    [mail] = smtp.messages
    assert mail["to"] == "minji@example.com"
    assert "2022-11-07 00:00 KST" in mail["text"]  # the incident's intake deadline
    path = _link(mail)
    assert path == with_email
    assert portal.web.client.get(path).status_code == 200
    assert _notices(engine, "draft_reminder")[0]["sealed"] is None

    # A reminder not sent yet is withdrawn when its draft is submitted.
    other = portal.start()
    portal.web.post(other, {"action": "save", "email": "sora@example.com"})
    later = draft_reminder_campaign(engine=engine, cipher=cipher, incident_id=INCIDENT,
                                    now=now + timedelta(days=1))
    assert later.enqueued == 1
    portal.file(other)
    key = [n for n in _notices(engine, "draft_reminder") if n["email"] == "sora@example.com"]
    assert [(n["status"], n["sealed"]) for n in key] == [("cancelled", None)]
    portal.deliver()
    # The claim was filed with jihun@example.com: its receipt went there, no reminder to sora.
    assert [m["to"] for m in smtp.messages[1:]] == ["jihun@example.com"]
    assert draft_reminder_campaign(engine=engine, cipher=cipher, incident_id=INCIDENT,
                                   now=now + timedelta(days=1)).accounts == 1  # minji's only
    with engine.connect() as conn:
        left = {r["token_hash"] for r in Drafts(conn).reachable(INCIDENT, now)}
    assert token_hash(other.rsplit("/", 1)[1]) not in left
    assert token_hash(with_email.rsplit("/", 1)[1]) in left


def test_key_rotation_reencrypts_sealed_links_and_draft_contacts(
        portal: Portal, smtp: SmtpSink) -> None:
    from cryptography.fernet import Fernet

    draft = portal.start()
    portal.web.post(draft, {"action": "save", "email": "minji@example.com",
                            "resume_email": "minji@example.com"})
    receipt = portal.file(portal.start())
    old = portal.cipher
    new = Cipher(Fernet.generate_key() + b"\n" + b"\n".join(old.keys))
    engine = portal.web.engine
    with engine.connect() as conn:
        before = {r[0] for r in conn.execute(sa.select(notices.c.sealed)).all() if r[0]}
    assert stale(engine, new) >= 5  # 2 sealed links, a draft's contact and token, the rest
    reencrypt(engine, new)
    assert stale(engine, new) == 0
    with engine.connect() as conn:
        after = {r[0] for r in conn.execute(sa.select(notices.c.sealed)).all() if r[0]}
        kept = conn.execute(sa.select(schema.web_drafts.c.contact,
                                      schema.web_drafts.c.sealed)).all()
    assert len(after) == 2
    assert after.isdisjoint(before)
    assert all(new.is_current(v) for row in kept for v in row if v)
    portal.deliver(cipher=Cipher(new.keys[0]))  # the old key is gone: the links still open
    paths = sorted(_link(m) for m in smtp.messages)
    assert paths == sorted([draft, receipt.replace("/receipt/", "/track/")])


def test_without_a_public_address_notices_say_where_to_go_instead(
        db_engine: Engine, tmp_path: Path, smtp: SmtpSink, http: HttpSink) -> None:
    for portal in _portal(db_engine, tmp_path, smtp, http, public_url=None):
        draft = portal.start()
        assert 'name="resume_email"' not in portal.web.client.get(draft).text
        receipt = portal.file(draft)
        portal.deliver(public_url=None)
        [mail] = smtp.messages
        assert "/portal/" not in mail["text"]
        assert "접수증의 신청 번호와 접수 코드로" in mail["text"]  # the claimant writes Korean
        assert receipt.split("/")[3] in mail["subject"]
        assert _notices(db_engine, "claim_received")[0]["sealed"] is None


def test_an_api_claim_seals_its_tracking_link_in_the_outbox(api: Api, tmp_path: Path) -> None:
    r = api.submit()  # on PostgreSQL through the asynchronous intake store
    assert r.status_code == 201, r.text
    receipt = r.json()
    [notice] = _notices(api.engine, "claim_received")
    cipher = bootstrap.cipher(Settings(secret_key_file=tmp_path / "secret.key"))
    assert cipher.decrypt(str(notice["sealed"])) == \
        f"/portal/track/{receipt['claim_id']}/{receipt['receipt_token']}"
    assert _in_clear(api.engine, receipt["receipt_token"]) == []


def test_a_link_that_cannot_be_delivered_is_wiped_when_the_notice_gives_up(
        portal: Portal, smtp: SmtpSink) -> None:
    draft = portal.start()
    portal.web.post(draft, {"action": "save", "resume_email": "refuse@example.com"})
    portal.deliver()  # the mail server refuses the address: nothing else to try
    [notice] = _notices(portal.web.engine, "resume_link")
    assert notice["status"] == "permanent_failure"
    assert notice["sealed"] is None
    assert smtp.messages == []
