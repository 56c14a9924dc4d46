"""Storage on SQLite and PostgreSQL: migrations, exact money, aware time, the append-only audit
log, all-or-nothing submissions, evidence by content hash."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from makegood.adapters.db import schema
from makegood.adapters.db.crypto import Cipher, load_key
from makegood.adapters.db.engine import current_revision
from makegood.adapters.db.evidence import EvidenceStore
from makegood.adapters.db.repository import UnitOfWork
from makegood.domain.claims import Category, ClaimantKind
from makegood.services import claims

from .conftest import Api

NOW = datetime(2022, 10, 20, 1, 0, tzinfo=UTC)


def test_migrations_bring_an_empty_database_to_the_latest_revision(db_engine: Engine) -> None:
    assert current_revision(db_engine) == "0001"


def test_money_comes_back_exactly_as_stored(db_engine: Engine) -> None:
    with UnitOfWork(db_engine) as uow:
        uow.policies.conn.execute(schema.accounts.insert().values(id="a", segment="individual"))
        uow.conn.execute(schema.subscriptions.insert().values(
            id="s", account_id="a", service="music", plan="p", paid=True,
            fee=Decimal("10900.10"), currency="KRW", billing_period="month", channel="web",
            start=NOW, end=None))
        uow.commit()
    with UnitOfWork(db_engine) as uow:
        subs = uow.accounts.subscriptions("a")
    assert subs is not None
    assert subs[0].fee == Decimal("10900.1")
    assert subs[0].start == NOW
    assert subs[0].start.tzinfo is not None


def test_a_naive_timestamp_never_reaches_the_database(db_engine: Engine) -> None:
    from makegood.domain.errors import InputError

    with UnitOfWork(db_engine) as uow, pytest.raises((InputError, sa.exc.StatementError)):
        uow.audit.record(actor="x", action="y", entity="z", entity_id="1", before=None,
                         after=None, now=datetime(2022, 10, 20, 1, 0))


def test_audit_log_refuses_updates_and_deletes(db_engine: Engine) -> None:
    with UnitOfWork(db_engine) as uow:
        uow.audit.record(actor="staff:a", action="claim.deny", entity="claim", entity_id="c1",
                         before={"status": "submitted"}, after={"status": "denied"}, now=NOW)
        uow.commit()
    for statement in (schema.audit_log.update().values(actor="someone else"),
                      schema.audit_log.delete()):
        with db_engine.connect() as conn, pytest.raises(sa.exc.DBAPIError, match="append-only"):
            conn.execute(statement)
    with UnitOfWork(db_engine) as uow:
        assert [e["actor"] for e in uow.audit.of("claim", "c1")] == ["staff:a"]


def claim_input(**changes: object) -> claims.ClaimInput:
    values: dict[str, object] = dict(
        incident_id="kakao-2022-10-15", claimant_kind=ClaimantKind.INDIVIDUAL, name="김민수",
        email="minsu@example.com", phone="010-1234-5678", account_id="acct-free",
        service="messenger", category=Category.MISSED_COMMUNICATION,
        start=datetime(2022, 10, 15, 8, 0, tzinfo=UTC), end=datetime(2022, 10, 15, 9, 0, tzinfo=UTC),
        description="메일을 받지 못했습니다", amount=Decimal(0), currency="KRW", consent=True)
    values.update(changes)
    return claims.ClaimInput(**values)  # type: ignore[arg-type]


def count(engine: Engine, table: sa.Table) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def test_a_failure_during_submission_leaves_no_claim_and_no_audit_entry(api: Api, tmp_path: Path
                                                                         ) -> None:
    cipher = Cipher(load_key(None, tmp_path / "k"))
    before = count(api.engine, schema.audit_log)

    def broken_ledger(path: str, account_id: str) -> None:
        raise OSError("disk vanished")

    with pytest.raises(OSError, match="disk vanished"):
        claims.submit(uow=UnitOfWork(api.engine), claim=claim_input(), cipher=cipher, now=NOW,
                      ledger=broken_ledger)
    assert count(api.engine, schema.claims) == 0
    assert count(api.engine, schema.audit_log) == before


def test_concurrent_retries_with_one_idempotency_key_create_one_claim(api: Api, tmp_path: Path
                                                                      ) -> None:
    cipher = Cipher(load_key(None, tmp_path / "k"))
    receipts: list[str] = []
    errors: list[BaseException] = []

    def send() -> None:
        try:
            receipt = claims.submit(uow=UnitOfWork(api.engine), claim=claim_input(), cipher=cipher,
                                    now=NOW, idempotency_key="same")
            receipts.append(receipt.claim_id)
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=send) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(set(receipts)) == 1
    assert count(api.engine, schema.claims) == 1


def test_evidence_is_stored_once_by_content_hash(tmp_path: Path) -> None:
    store = EvidenceStore(tmp_path)
    first = store.put(b"%PDF-1.4 same")
    second = store.put(b"%PDF-1.4 same")
    assert first == second
    assert store.get(first) == b"%PDF-1.4 same"
    assert len([p for p in tmp_path.rglob("*") if p.is_file()]) == 1


def test_payout_account_round_trips_through_encryption(tmp_path: Path) -> None:
    cipher = Cipher(load_key(None, tmp_path / "k"))
    token = cipher.encrypt("110-123-456789")
    assert "456789" not in token
    assert Cipher(load_key(None, tmp_path / "k")).decrypt(token) == "110-123-456789"
