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
from makegood.adapters.db.engine import current_revision, latest_revision
from makegood.adapters.db.evidence import EvidenceStore
from makegood.adapters.db.repository import UnitOfWork
from makegood.domain.claims import Category, ClaimantKind
from makegood.services import claims

from .conftest import Api

NOW = datetime(2022, 10, 20, 1, 0, tzinfo=UTC)


def test_migrations_bring_an_empty_database_to_the_latest_revision(db_engine: Engine) -> None:
    assert current_revision(db_engine) == latest_revision()


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
        assert [e.actor for e in uow.audit.of("claim", "c1")] == ["staff:a"]


def test_a_taken_user_name_is_a_conflict_and_the_transaction_stores_nothing(
        db_engine: Engine) -> None:
    from makegood.domain.errors import Conflict

    with UnitOfWork(db_engine) as uow:
        uow.staff.add(username="kim", password_hash="h1", role="reviewer", now=NOW)
        uow.commit()
    with UnitOfWork(db_engine) as uow:
        uow.audit.record(actor="staff:a", action="user.add", entity="staff_user",
                         entity_id="kim", before=None, after=None, now=NOW)
        with pytest.raises(Conflict, match="'kim' already exists"):
            uow.staff.add(username="kim", password_hash="h2", role="admin", now=NOW)
    with UnitOfWork(db_engine) as uow:
        stored = uow.staff.get_by_name("kim")
        assert stored is not None
        assert (stored.password_hash, stored.role.value) == ("h1", "reviewer")
        assert uow.audit.of("staff_user", "kim") == []


def test_a_used_idempotency_key_is_a_conflict_at_the_repository(api: Api) -> None:
    from makegood.domain.errors import Conflict
    from makegood.domain.records import IdempotencyRecord

    first = api.submit(headers={"Idempotency-Key": "retry-1"}).json()
    record = IdempotencyRecord(key="retry-1", request_hash="other", claim_id=first["claim_id"],
                               response="x", created_at=NOW)
    with UnitOfWork(api.engine) as uow, pytest.raises(Conflict, match="already in use"):
        uow.idempotency.add(record)
    with UnitOfWork(api.engine) as uow:
        kept = uow.idempotency.get("retry-1")
    assert kept is not None
    assert kept.claim_id == first["claim_id"]
    assert kept.request_hash != "other"


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


# ---------------------------------------------------------------------------------------------
# The async intake store (PostgreSQL): the submission path of the API server.


def _on_postgres(api: Api) -> None:
    if api.engine.dialect.name != "postgresql":
        pytest.skip("the async intake store serves PostgreSQL only")


def _submit_async(api: Api, cipher: Cipher, *calls: dict[str, object]) -> list[object]:
    """Run submissions concurrently on one store; each result is a receipt or the exception."""
    import asyncio

    from makegood.adapters.db.intake_pg import PgIntakeStore
    from makegood.services import claims_intake

    async def main() -> list[object]:
        store = PgIntakeStore(api.engine, size=4)
        try:
            return list(await asyncio.gather(*(
                claims_intake.submit(store=store, cipher=cipher, **call)  # type: ignore[arg-type]
                for call in calls), return_exceptions=True))
        finally:
            await store.close()

    return asyncio.run(main())


def _rows(engine: Engine, table: sa.Table, *, where: sa.ColumnElement[bool]) -> list[dict[str, object]]:
    json_columns = [c for c in table.columns if isinstance(c.type, sa.JSON)]
    with engine.connect() as conn:
        rows = conn.execute(sa.select(table, *(sa.cast(c, sa.Text).label(f"{c.name}_text")
                                               for c in json_columns)).where(where)).mappings()
        return [dict(r) for r in rows]


def test_async_intake_writes_the_same_rows_as_the_unit_of_work(api: Api, tmp_path: Path) -> None:
    _on_postgres(api)
    cipher = Cipher(load_key(None, tmp_path / "k"))
    sync = claims.submit(uow=UnitOfWork(api.engine), claim=claim_input(), cipher=cipher, now=NOW,
                         client="10.0.0.1", idempotency_key="k-sync")
    [fast] = _submit_async(api, cipher, dict(claim=claim_input(), now=NOW, client="10.0.0.1",
                                             idempotency_key="k-fast"))
    assert isinstance(fast, claims.Receipt), fast
    assert fast.checks == sync.checks
    different = {"id", "receipt_hash", "payout_encrypted", "entity_id", "key", "claim_id",
                 "response"}
    for table, column, ids in ((schema.claims, schema.claims.c.id, (sync.claim_id, fast.claim_id)),
                               (schema.audit_log, schema.audit_log.c.entity_id,
                                (sync.claim_id, fast.claim_id)),
                               (schema.idempotency_keys, schema.idempotency_keys.c.key,
                                ("k-sync", "k-fast"))):
        [a] = _rows(api.engine, table, where=column == ids[0])
        [b] = _rows(api.engine, table, where=column == ids[1])
        assert {k: v for k, v in a.items() if k not in different} == \
            {k: v for k, v in b.items() if k not in different}, table.name


def test_async_intake_retries_with_one_key_create_one_claim_and_replay_its_answer(
        api: Api, tmp_path: Path) -> None:
    _on_postgres(api)
    cipher = Cipher(load_key(None, tmp_path / "k"))
    results = _submit_async(api, cipher, *[dict(claim=claim_input(), now=NOW,
                                                idempotency_key="same")] * 6)
    assert all(isinstance(r, claims.Receipt) for r in results), results
    receipts = [r for r in results if isinstance(r, claims.Receipt)]
    assert len({r.claim_id for r in receipts}) == 1
    assert len({r.receipt_token for r in receipts}) == 1
    assert sum(not r.replayed for r in receipts) == 1
    assert count(api.engine, schema.claims) == 1
    assert count(api.engine, schema.idempotency_keys) == 1


def test_async_intake_key_reused_for_another_claim_is_a_conflict(api: Api, tmp_path: Path) -> None:
    from makegood.domain.errors import Conflict

    _on_postgres(api)
    cipher = Cipher(load_key(None, tmp_path / "k"))
    [first] = _submit_async(api, cipher, dict(claim=claim_input(), now=NOW, idempotency_key="k"))
    [second] = _submit_async(api, cipher, dict(claim=claim_input(amount=Decimal(5)), now=NOW,
                                               idempotency_key="k"))
    assert isinstance(first, claims.Receipt)
    assert isinstance(second, Conflict)
    assert count(api.engine, schema.claims) == 1


def test_async_intake_failing_write_leaves_no_claim_and_no_audit_entry(api: Api, tmp_path: Path
                                                                       ) -> None:
    _on_postgres(api)
    cipher = Cipher(load_key(None, tmp_path / "k"))
    before = count(api.engine, schema.audit_log)
    # The idempotency record is the statement's last insert; a key longer than its column
    # fails it after the claim and the audit entry were inserted: all three roll back.
    [result] = _submit_async(api, cipher, dict(claim=claim_input(), now=NOW,
                                               idempotency_key="k" * 201))
    assert isinstance(result, Exception)
    assert count(api.engine, schema.claims) == 0
    assert count(api.engine, schema.audit_log) == before


def test_async_intake_sees_an_edited_incident_and_a_moved_deadline_at_once(
        api: Api, tmp_path: Path) -> None:
    import asyncio

    from makegood.adapters.db.intake_pg import PgIntakeStore
    from makegood.domain.claims import IntakeClosed
    from makegood.domain.errors import InputError
    from makegood.services import claims_intake, staff

    from .claims_data import INCIDENT

    _on_postgres(api)
    cipher = Cipher(load_key(None, tmp_path / "k"))

    def close_intake() -> None:
        with UnitOfWork(api.engine) as uow:
            uow.incidents.set_intake("kakao-2022-10-15", opens=None,
                                     closes=datetime(2022, 10, 19, tzinfo=UTC))
            uow.commit()

    def drop_messenger() -> None:
        staff.put_incident(uow=UnitOfWork(api.engine),
                           document=INCIDENT.replace('service = "messenger"', 'service = "mail"'),
                           policy_id="kakao-2022-claims", ledger_path=None, intake_opens=None,
                           intake_closes=None, actor=staff.SYSTEM, now=NOW)

    async def main() -> list[object]:
        store = PgIntakeStore(api.engine, size=2)  # one store: its cache lives across the edits
        results: list[object] = []
        try:
            for edit in (None, close_intake, drop_messenger):
                if edit is not None:
                    await asyncio.to_thread(edit)
                try:
                    results.append(await claims_intake.submit(
                        store=store, claim=claim_input(), cipher=cipher, now=NOW))
                except InputError as exc:
                    results.append(exc)
        finally:
            await store.close()
        return results

    ok, late, moved = asyncio.run(main())
    assert isinstance(ok, claims.Receipt), ok
    assert isinstance(late, IntakeClosed), late
    assert isinstance(moved, InputError), moved
    assert moved.field == "service"
