"""The web's tables and a claim filed and decided through the pages, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from makegood.adapters.db.repository import UnitOfWork
from makegood.adapters.db.web_store import Contacts, Drafts, Runs

NOW = datetime(2022, 10, 20, 1, 0, tzinfo=UTC)


def test_drafts_expire_and_are_deleted(db_engine: Engine) -> None:
    with UnitOfWork(db_engine) as uow:
        drafts = Drafts(uow.conn)
        drafts.put(token_hash="a" * 64, incident_id="i", data="x", now=NOW,
                   expires_at=NOW + timedelta(days=30))
        drafts.put(token_hash="a" * 64, incident_id="i", data="y", now=NOW,
                   expires_at=NOW + timedelta(days=30))
        uow.commit()
    with UnitOfWork(db_engine) as uow:
        drafts = Drafts(uow.conn)
        found = drafts.get("a" * 64, NOW)
        assert found is not None
        assert found["data"] == "y"
        assert drafts.get("a" * 64, NOW + timedelta(days=31)) is None
        drafts.delete("a" * 64)
        uow.commit()
    with UnitOfWork(db_engine) as uow:
        assert Drafts(uow.conn).get("a" * 64, NOW) is None


def test_contacts_are_replaced_by_a_new_load(db_engine: Engine) -> None:
    with UnitOfWork(db_engine) as uow:
        Contacts(uow.conn).put_many([("acct-1", "1234"), ("acct-2", "5678")])
        Contacts(uow.conn).put_many([("acct-1", "4321")])
        uow.commit()
    with UnitOfWork(db_engine) as uow:
        assert Contacts(uow.conn).phone_last4("acct-1") == "4321"
        assert Contacts(uow.conn).phone_last4("acct-2") == "5678"
        assert Contacts(uow.conn).phone_last4("nobody") is None


def test_runs_record_their_summary(db_engine: Engine) -> None:
    with UnitOfWork(db_engine) as uow:
        runs = Runs(uow.conn)
        runs.add(run_id="r1", params={"engine": "duckdb"}, started_by="kim", now=NOW)
        runs.finish("r1", status="done", summary={"liability": {"KRW": "7550"}},
                    ledger_path="/x/ledger.parquet", error=None, now=NOW)
        uow.commit()
    with UnitOfWork(db_engine) as uow:
        run = Runs(uow.conn).get("r1")
        assert run is not None
        assert run["summary"] == {"liability": {"KRW": "7550"}}
        assert [r["id"] for r in Runs(uow.conn).list_()] == ["r1"]


def test_a_claim_filed_on_the_portal_is_decided_in_the_console(db_engine: Engine,
                                                               tmp_path: Path) -> None:
    from tests.web.conftest import PASSWORD, Clock, load_case, settings_for

    from makegood.entrypoints.api.app import create_app

    clock = Clock(NOW)
    load_case(db_engine, tmp_path, clock)
    app = create_app(settings_for(tmp_path), engine=db_engine, clock=clock)  # type: ignore[arg-type]
    with TestClient(app) as client:
        def post(path: str, data: dict[str, str], page: str | None = None) -> object:
            token = re.search(r'name="csrf_token" value="([0-9a-f]+)"',
                              client.get(page or path).text)
            assert token
            return client.post(path, data={**data, "csrf_token": token.group(1)},
                               follow_redirects=False)

        r = post("/portal/incidents/kakao-2022-10-15/file",
                 {"claimant_kind": "individual", "category": "payment_failed"})
        draft = r.headers["location"]  # type: ignore[attr-defined]
        r = post(draft, {"action": "review", "name": "박지훈", "email": "jihun@example.com",
                         "phone": "010-2222-3333", "account_id": "acct-shop",
                         "service": "payments", "start": "2022-10-15 17:00",
                         "end": "2022-10-15 18:00", "description": "결제가 되지 않았습니다",
                         "amount": "12000", "consent": "yes"})
        assert r.status_code == 303  # type: ignore[attr-defined]
        r = post(f"{draft}/submit", {}, page=f"{draft}/review")
        receipt = r.headers["location"]  # type: ignore[attr-defined]
        claim_id = receipt.split("/")[3]
        post("/console/login", {"username": "rev", "password": PASSWORD})
        r = post(f"/console/claims/{claim_id}/decision", {"action": "approve"},
                 page=f"/console/claims/{claim_id}")
        assert r.status_code == 422  # type: ignore[attr-defined]  # no policy award: an amount
        r = post(f"/console/claims/{claim_id}/decision", {"action": "approve",
                                                          "amount": "12000"},
                 page=f"/console/claims/{claim_id}")
        assert r.status_code == 303  # type: ignore[attr-defined]
        track = client.get(receipt.replace("/receipt/", "/track/")).text
        assert "승인됨" in track
        assert "12,000 KRW" in track


def test_saved_drafts_are_reencrypted_when_keys_rotate(db_engine: Engine) -> None:
    from cryptography.fernet import Fernet

    from makegood.adapters.db.crypto import Cipher
    from makegood.adapters.db.rotation import reencrypt

    old, new = Fernet.generate_key(), Fernet.generate_key()
    with UnitOfWork(db_engine) as uow:
        Drafts(uow.conn).put(token_hash="b" * 64, incident_id="i",
                             data=Cipher(old).encrypt('{"payout_account": "110-123-456789"}'),
                             now=NOW, expires_at=NOW + timedelta(days=30))
        uow.commit()
    reencrypt(db_engine, Cipher(new + b"\n" + old))
    with UnitOfWork(db_engine) as uow:
        found = Drafts(uow.conn).get("b" * 64, NOW)
    assert found is not None
    assert "110-123-456789" not in found["data"]
    assert Cipher(new).decrypt(found["data"]) == '{"payout_account": "110-123-456789"}'
