"""Payouts end to end on SQLite and PostgreSQL: approved claims and cash awards into the payout
ledger, batches released by two people, SEPA / NACHA / Korean files, bank reports reconciled
with a rejection and a return, the reissue, the final accounting, and the audit trail."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from lxml import etree
from pypdf import PdfReader

from makegood.adapters.db.crypto import Cipher, load_key
from makegood.adapters.payouts import bank_sim, sepa
from makegood.adapters.payouts.details import RegisterNameCheck
from makegood.adapters.payouts.lines import Originator
from makegood.adapters.payouts.report import write_report
from makegood.domain.errors import Conflict, InputError, PermissionDenied
from makegood.domain.payouts import Method
from makegood.domain.staff import Role
from makegood.services import payout_batches, payout_files, payout_report, payouts, staff
from makegood.services.staff import StaffUser

from .conftest import ADMIN_PASSWORD, Api

INCIDENT = "kakao-2022-10-15"
KR = {"acct-free": ("090", "3333-01-2345678", "김민수"),
      "acct-shop": ("004", "123456-78-901234", "박가게"),
      "acct-paid": ("088", "110-123-456789", "이영희")}
EU = {"acct-eu-1": ("DE89370400440532013000", "COBADEFFXXX", "Anna Schmidt"),
      "acct-eu-2": ("FR1420041010050500013M02606", "", "Jean Dupont")}
US = {"acct-us-1": ("021000021", "000123456789", "Jane Doe")}


@dataclass
class World:
    api: Api
    engine: sa.Engine
    cipher: Cipher
    names: RegisterNameCheck
    admin: StaffUser
    kim: StaffUser
    lee: StaffUser
    out: Path

    @property
    def now(self):  # type: ignore[no-untyped-def]
        return self.api.clock()


def _approve(api: Api, account_id: str, amount: str, **changes: str) -> str:
    r = api.submit(account_id=account_id, category="free_service_loss", amount=amount, **changes)
    assert r.status_code == 201, r.text
    cid = r.json()["claim_id"]
    d = api.client.post(f"/staff/claims/{cid}/decision", headers=api.as_("admin"),
                        json={"action": "approve", "amount": amount, "note": "bracket"})
    assert d.status_code == 200, d.text
    assert d.json()["status"] == "approved"
    return str(cid)


@pytest.fixture
def world(api: Api, tmp_path: Path) -> World:
    now = api.clock()
    admin = StaffUser(1, "admin", Role.ADMIN)
    kim = staff.add_user(uow=_uow(api), username="kim", password=ADMIN_PASSWORD,
                         role=Role.SUPERVISOR, actor=staff.SYSTEM, now=now)
    lee = staff.add_user(uow=_uow(api), username="lee", password=ADMIN_PASSWORD,
                         role=Role.SUPERVISOR, actor=staff.SYSTEM, now=now)
    register = {f"{b}:{a.replace('-', '')}": h for b, a, h in KR.values()}
    register |= {iban: h for iban, _, h in EU.values()}
    register |= {f"{r}:{a}": h for r, a, h in US.values()}
    return World(api, api.engine, Cipher(load_key(None, tmp_path / "secret.key")),
                 RegisterNameCheck(register), admin, kim, lee, tmp_path / "out")


def _uow(api: Api):  # type: ignore[no-untyped-def]
    from makegood.adapters.db.repository import UnitOfWork

    return UnitOfWork(api.engine)


LEDGER = [
    payouts.LedgerAward("acct-eu-1", "s-eu-1", "individual", "eu-refund", "refund", "cash",
                        Decimal("12.50"), "EUR"),
    payouts.LedgerAward("acct-eu-2", "s-eu-2", "individual", "eu-refund", "refund", "cash",
                        Decimal("7.25"), "EUR"),
    payouts.LedgerAward("acct-us-1", "s-us-1", "enterprise", "sla", "credit-tier", "cash",
                        Decimal("100.00"), "USD"),
    payouts.LedgerAward("acct-paid", "s-1", "individual", "kakao-2022-claims", "music-web",
                        "extension", Decimal(3), "day"),
    payouts.LedgerAward("acct-free", "s-2", "individual", "goodwill", "emoticons", "review",
                        Decimal(0), "KRW"),
]


def _payees(w: World) -> None:
    for pid, (bank, account, holder) in KR.items():
        payouts.set_payee(engine=w.engine, cipher=w.cipher, name_check=w.names, payee_id=pid,
                          method=Method.KR_BULK, holder=holder,
                          details={"bank_code": bank, "account_number": account},
                          actor=w.admin, now=w.now)
    for pid, (iban, bic, holder) in EU.items():
        payouts.set_payee(engine=w.engine, cipher=w.cipher, name_check=w.names, payee_id=pid,
                          method=Method.SEPA, holder=holder, details={"iban": iban, "bic": bic},
                          actor=w.admin, now=w.now)
    for pid, (routing, account, holder) in US.items():
        payouts.set_payee(engine=w.engine, cipher=w.cipher, name_check=w.names, payee_id=pid,
                          method=Method.NACHA, holder=holder,
                          details={"routing_number": routing, "account_number": account},
                          actor=w.admin, now=w.now)


def _batch(w: World, method: Method, currency: str) -> str:
    prepared = payout_batches.prepare(engine=w.engine, incident_id=INCIDENT, method=method,
                               currency=currency, actor=w.kim, now=w.now)
    assert prepared.batch is not None, prepared.skipped
    bid = prepared.batch.id
    payout_batches.review(engine=w.engine, batch_id=bid, actor=w.kim, now=w.now)
    with pytest.raises(PermissionDenied, match="four eyes"):
        payout_batches.release(engine=w.engine, batch_id=bid, actor=w.kim, now=w.now,
                        four_eyes_above=Decimal(0))
    payout_batches.release(engine=w.engine, batch_id=bid, actor=w.lee, now=w.now,
                    four_eyes_above=Decimal(0))
    return bid


def _report(w: World, name: str, data: bytes) -> Path:
    w.out.mkdir(parents=True, exist_ok=True)
    path = w.out / name
    path.write_bytes(data)
    return path


def _sent(w: World, bid: str) -> list[bank_sim.Sent]:
    from makegood.adapters.db.payout_store import PayoutUnitOfWork

    with PayoutUnitOfWork(w.engine) as uow:
        return [bank_sim.Sent(i.end_to_end_id, i.amount, i.currency)
                for i in uow.store.items(bid)]


def _position(w: World, award_id: str):  # type: ignore[no-untyped-def]
    from makegood.adapters.db.payout_store import PayoutUnitOfWork

    with PayoutUnitOfWork(w.engine) as uow:
        return uow.store.positions([award_id])[award_id]


def test_awards_are_paid_reconciled_reissued_and_accounted_for(world: World) -> None:
    w = world
    c1 = _approve(w.api, "acct-free", "30000")
    c2 = _approve(w.api, "acct-shop", "50000", claimant_kind="small_business")
    _approve(w.api, "acct-paid", "30000")
    counts = payouts.load_awards(engine=w.engine, incident_id=INCIDENT, ledger_rows=LEDGER,
                                 actor=w.admin, now=w.now)
    assert counts == {"claims": 3, "ledger": 4}  # the "review" row is left to the claims
    assert payouts.load_awards(engine=w.engine, incident_id=INCIDENT, ledger_rows=LEDGER,
                               actor=w.admin, now=w.now) == {"claims": 0, "ledger": 0}
    for amount, unit in ((Decimal(200000), "KRW"), (Decimal(50), "EUR"), (Decimal(100), "USD")):
        payouts.fund(engine=w.engine, incident_id=INCIDENT, amount=amount, currency=unit,
                     reserve=False, actor=w.admin, now=w.now)
    payouts.fund(engine=w.engine, incident_id=INCIDENT, amount=Decimal(20000), currency="KRW",
                 reserve=True, actor=w.admin, now=w.now)

    # Without payment details nothing goes out.
    empty = payout_batches.prepare(engine=w.engine, incident_id=INCIDENT, method=Method.KR_BULK,
                            currency="KRW", actor=w.kim, now=w.now)
    assert empty.batch is None
    assert empty.skipped == {"no payment details": 3}
    _payees(w)

    kr = _batch(w, Method.KR_BULK, "KRW")
    eu = _batch(w, Method.SEPA, "EUR")
    us = _batch(w, Method.NACHA, "USD")
    credits = _batch(w, Method.BILLING_CREDIT, "day")
    origin = Originator()
    files = {b: payout_files.write(engine=w.engine, cipher=w.cipher, batch_id=b, out_dir=w.out,
                                   originator=origin, actor=w.admin, now=w.now)
             for b in (kr, eu, us, credits)}

    xml = files[eu].path.read_bytes()
    sepa.validate(xml)
    doc = etree.fromstring(xml)
    ns = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"}
    assert doc.findtext(".//p:GrpHdr/p:CtrlSum", namespaces=ns) == "19.75"
    assert doc.xpath("//p:EndToEndId/text()", namespaces=ns) == [f"{eu}-000001", f"{eu}-000002"]
    ach = files[us].path.read_text().splitlines()
    assert all(len(r) == 94 for r in ach)
    assert len(ach) % 10 == 0
    assert ach[2][39:54].strip() == f"{us}-000001"
    assert ach[2][29:39] == "0000010000"
    kr_csv = files[kr].path.read_text(encoding="utf-8-sig").splitlines()
    assert kr_csv[0] == "bank_code,account_number,holder,amount,memo,reference"
    assert sorted(r.rsplit(",", 1)[0] for r in kr_csv[1:]) == [
        "004,12345678901234,박가게,50000,장애보상", "088,110123456789,이영희,30000,장애보상",
        "090,3333012345678,김민수,30000,장애보상"]

    # The bank answers: SEPA's second payment rejected (AC01), KR's shop transfer returned (AC04).
    eu_sent, kr_sent = _sent(w, eu), _sent(w, kr)
    shop = next(s for s in kr_sent if s.amount == 50000)
    r1 = payout_files.reconcile(
        engine=w.engine, actor=w.kim, now=w.now,
        path=_report(w, "pain002.xml", bank_sim.pain002(
            eu_sent, message_id=eu, rejected={eu_sent[1].end_to_end_id: "AC01"},
            created=w.now)))
    assert r1.counts == {"accepted": 1, "rejected": 1}
    r2 = payout_files.reconcile(
        engine=w.engine, actor=w.kim, now=w.now,
        path=_report(w, "camt054.xml", bank_sim.camt054(
            [*eu_sent[:1], *kr_sent], message_id="NTF1", returned={shop.end_to_end_id: "AC04"},
            booked=w.now, iban=origin.iban)))
    assert r2.counts == {"booked": 4, "returned": 1}
    with pytest.raises(Conflict, match="already reconciled"):
        payout_files.reconcile(engine=w.engine, actor=w.kim, now=w.now, path=w.out / "camt054.xml")
    r3 = payout_files.reconcile(
        engine=w.engine, actor=w.kim, now=w.now,
        path=_report(w, "returns.csv", bank_sim.csv_returns([
            (f"{us}-000001", "paid", Decimal("100.00"), "USD", ""),
            (f"{credits}-000001", "applied", Decimal(3), "day", ""),
            ("XX-UNKNOWN", "returned", Decimal(5), "USD", "AC04")])))
    assert r3.counts == {"booked": 2, "unmatched": 1}
    assert [u.end_to_end_id for u in r3.unmatched] == ["XX-UNKNOWN"]

    assert _position(w, f"claim:{c2}").payable == 50000  # back to payable with the return
    assert _position(w, f"claim:{c1}").settled == 30000
    assert _position(w, "ledger:acct-eu-2:s-eu-2:eu-refund:refund").payable == Decimal("7.25")

    # Reissue: held until the payee confirms new details, then once by the same method.
    again = payout_batches.prepare(engine=w.engine, incident_id=INCIDENT, method=Method.KR_BULK,
                            currency="KRW", actor=w.kim, now=w.now)
    assert again.batch is None
    assert again.skipped == {"held until the payee confirms new details": 1}
    w.api.clock.advance(days=2)
    payouts.set_payee(engine=w.engine, cipher=w.cipher, name_check=w.names, payee_id="acct-shop",
                      method=Method.KR_BULK, holder="박가게",
                      details={"bank_code": "081", "account_number": "123-456789-01234"},
                      actor=w.admin, now=w.now)
    kr2 = _batch(w, Method.KR_BULK, "KRW")
    payout_files.write(engine=w.engine, cipher=w.cipher, batch_id=kr2, out_dir=w.out,
                       originator=origin, actor=w.admin, now=w.now)
    payout_files.reconcile(engine=w.engine, actor=w.kim, now=w.now,
                           path=_report(w, "camt054-2.xml", bank_sim.camt054(
                               _sent(w, kr2), message_id="NTF2", returned={}, booked=w.now,
                               iban=origin.iban)))
    assert _position(w, f"claim:{c2}").settled == 50000

    # The accounting, from the ledgers; its figures checked by an independent query.
    figures = payout_report.accounting(engine=w.engine, incident_id=INCIDENT, actor=w.kim,
                                       now=w.now)
    assert figures["awards"]["paid_by_method"]["kr_bulk"] == {"KRW": "110000"}
    assert figures["awards"]["paid_by_method"]["sepa"] == {"EUR": "12.5"}
    assert figures["awards"]["paid_by_method"]["billing_credit"] == {"day": "3"}
    assert figures["returned"] == {"count": 1, "amount": {"KRW": "50000"}, "reasons": {"AC04": 1}}
    assert figures["reissued"] == 1  # the shop's transfer; the rejected SEPA refund waits
    assert figures["fund"]["KRW"] == {"contributions": "200000", "fund_balance": "70000",
                                      "reserve": "20000"}
    assert figures["claims"]["approved"] == 3
    with w.engine.connect() as conn:
        paid_krw = conn.execute(sa.text(
            "SELECT SUM(CAST(l.amount AS NUMERIC)) FROM payout_lines l "
            "JOIN payout_entries e ON e.id = l.entry_id "
            "WHERE e.incident_id = :i AND l.account = 'fund' AND l.unit = 'KRW' "
            "AND l.award_id IS NOT NULL"), {"i": INCIDENT}).scalar_one()
        actions = set(conn.execute(sa.text("SELECT action FROM audit_log")).scalars())
        approved = conn.execute(sa.text("SELECT COUNT(*) FROM claims WHERE incident_id = :i "
                                        "AND status = 'approved'"), {"i": INCIDENT}).scalar_one()
        returned = conn.execute(sa.text(
            "SELECT COUNT(*) FROM payout_events WHERE matched AND kind = 'returned'")).scalar_one()
        contributions = conn.execute(sa.text(
            "SELECT SUM(CAST(l.amount AS NUMERIC)) FROM payout_lines l JOIN payout_entries e "
            "ON e.id = l.entry_id WHERE e.incident_id = :i AND l.account = 'contributions' "
            "AND l.unit = 'KRW'"), {"i": INCIDENT}).scalar_one()
        reissued = conn.execute(sa.text(
            "SELECT COUNT(*) FROM (SELECT award_id FROM payout_items GROUP BY award_id "
            "HAVING COUNT(*) > 1) AS twice")).scalar_one()
    assert -Decimal(str(paid_krw)) == Decimal(figures["awards"]["paid_by_method"]["kr_bulk"]["KRW"])
    assert approved == figures["claims"]["approved"]
    assert returned == figures["returned"]["count"]
    assert -Decimal(str(contributions)) == Decimal(figures["fund"]["KRW"]["contributions"])
    assert reissued == figures["reissued"]
    assert {"payout.awards", "payout.top_up", "payout.reserve", "payee.set", "payout.prepare",
            "payout.review", "payout.release", "payout.decrypt", "payout.write",
            "payout.reconcile"} <= actions

    paths = write_report(figures, w.out, "accounting")
    reader = PdfReader(str(paths["pdf"]))
    text = "".join(page.extract_text() for page in reader.pages)
    assert 1 <= len(reader.pages) <= 4
    assert "Final accounting" in text
    assert "110,000" in text
    assert "AC04" in text
    assert "최종 정산" in text


def test_a_released_batch_cannot_be_changed_even_in_sql(world: World) -> None:
    w = world
    _approve(w.api, "acct-free", "30000")
    payouts.load_awards(engine=w.engine, incident_id=INCIDENT, ledger_rows=[], actor=w.admin,
                        now=w.now)
    payouts.fund(engine=w.engine, incident_id=INCIDENT, amount=Decimal(30000), currency="KRW",
                 reserve=False, actor=w.admin, now=w.now)
    _payees(w)
    bid = _batch(w, Method.KR_BULK, "KRW")
    for statement in (
            f"UPDATE payout_batches SET total = '1' WHERE id = '{bid}'",
            f"UPDATE payout_batches SET status = 'prepared' WHERE id = '{bid}'",
            f"UPDATE payout_items SET amount = '1' WHERE batch_id = '{bid}'",
            f"DELETE FROM payout_items WHERE batch_id = '{bid}'",
            "UPDATE payout_lines SET amount = '0'",
            *(["TRUNCATE payout_lines CASCADE", "TRUNCATE payout_batches CASCADE"]
              if w.engine.dialect.name == "postgresql" else [])):
        with pytest.raises(sa.exc.DatabaseError), w.engine.begin() as conn:
            conn.execute(sa.text(statement))
    with pytest.raises(Conflict, match="already released"):
        payout_batches.release(engine=w.engine, batch_id=bid, actor=w.admin, now=w.now,
                        four_eyes_above=None)


def test_a_batch_the_fund_cannot_cover_is_not_released(world: World) -> None:
    w = world
    _approve(w.api, "acct-free", "30000")
    payouts.load_awards(engine=w.engine, incident_id=INCIDENT, ledger_rows=[], actor=w.admin,
                        now=w.now)
    _payees(w)
    prepared = payout_batches.prepare(engine=w.engine, incident_id=INCIDENT, method=Method.KR_BULK,
                               currency="KRW", actor=w.kim, now=w.now)
    assert prepared.batch is not None
    payout_batches.review(engine=w.engine, batch_id=prepared.batch.id, actor=w.kim, now=w.now)
    with pytest.raises(Conflict, match="does not fit"):
        payout_batches.release(engine=w.engine, batch_id=prepared.batch.id, actor=w.lee, now=w.now,
                        four_eyes_above=Decimal(0))


def test_a_reviewer_role_cannot_prepare_and_bad_bank_details_name_the_field(world: World) -> None:
    w = world
    rita = staff.add_user(uow=_uow(w.api), username="rita", password=ADMIN_PASSWORD,
                          role=Role.REVIEWER, actor=staff.SYSTEM, now=w.now)
    with pytest.raises(PermissionDenied):
        payout_batches.prepare(engine=w.engine, incident_id=INCIDENT, method=Method.KR_BULK,
                        currency="KRW", actor=rita, now=w.now)
    with pytest.raises(InputError, match="field 'iban'"):
        payouts.set_payee(engine=w.engine, cipher=w.cipher, name_check=w.names,
                          payee_id="acct-eu-1", method=Method.SEPA, holder="Anna",
                          details={"iban": "DE89370400440532013001"}, actor=w.admin, now=w.now)
    with pytest.raises(InputError, match="field 'routing_number'"):
        payouts.set_payee(engine=w.engine, cipher=w.cipher, name_check=w.names,
                          payee_id="acct-us-1", method=Method.NACHA, holder="Jane",
                          details={"routing_number": "021000022", "account_number": "1234"},
                          actor=w.admin, now=w.now)


def test_a_name_mismatch_blocks_the_release(world: World) -> None:
    w = world
    _approve(w.api, "acct-free", "30000")
    payouts.load_awards(engine=w.engine, incident_id=INCIDENT, ledger_rows=[], actor=w.admin,
                        now=w.now)
    payouts.fund(engine=w.engine, incident_id=INCIDENT, amount=Decimal(30000), currency="KRW",
                 reserve=False, actor=w.admin, now=w.now)
    payouts.set_payee(engine=w.engine, cipher=w.cipher, name_check=w.names, payee_id="acct-free",
                      method=Method.KR_BULK, holder="홍길동",
                      details={"bank_code": "090", "account_number": "3333-01-2345678"},
                      actor=w.admin, now=w.now)
    prepared = payout_batches.prepare(engine=w.engine, incident_id=INCIDENT, method=Method.KR_BULK,
                               currency="KRW", actor=w.kim, now=w.now)
    assert prepared.batch is not None
    summary = payout_batches.review(engine=w.engine, batch_id=prepared.batch.id, actor=w.kim,
                             now=w.now + timedelta(minutes=1))
    assert summary.name_checks == {"mismatch": 1}
    with pytest.raises(Conflict, match="does not match"):
        payout_batches.release(engine=w.engine, batch_id=prepared.batch.id, actor=w.lee, now=w.now,
                        four_eyes_above=Decimal(0))


def _fill(table: sa.Table, values: dict[str, object]) -> dict[str, object]:
    """The given values, and a plain value for every other required column (the tables of the
    screening and notices features may have more columns than this test needs)."""
    from datetime import UTC, datetime

    row = {k: v for k, v in values.items() if k in table.c}
    for col in table.c:
        if col.name in row or col.nullable or col.server_default or (
                col.primary_key and isinstance(col.type, sa.Integer)):
            continue
        try:
            kind = col.type.python_type
        except NotImplementedError:
            kind = str
        row[col.name] = {int: 0, bool: False, float: 0.0, dict: {}, list: [],
                         datetime: datetime(2022, 10, 20, tzinfo=UTC)}.get(kind, "")
    return row


def _screening_and_notices(engine: sa.Engine, flagged: str, incident_id: str) -> None:
    """Rows in the screening and notices tables, creating them when those features have not
    landed (the same names and key columns as theirs)."""
    meta = sa.MetaData()
    with engine.begin() as conn:
        inspector = sa.inspect(conn)
        if not inspector.has_table("claim_screening"):
            sa.Table("claim_screening", meta, sa.Column("claim_id", sa.String(40), primary_key=True),
                     sa.Column("recommendation", sa.String(10), nullable=False),
                     sa.Column("codes", sa.String(400), nullable=False),
                     sa.Column("score", sa.Integer, nullable=False))
        if not inspector.has_table("notices"):
            sa.Table("notices", meta, sa.Column("id", sa.Integer, primary_key=True),
                     sa.Column("incident_id", sa.String(100), nullable=False),
                     sa.Column("status", sa.String(20), nullable=False))
        meta.create_all(conn)
        screening = sa.Table("claim_screening", sa.MetaData(), autoload_with=conn)
        notices = sa.Table("notices", sa.MetaData(), autoload_with=conn)
        conn.execute(screening.insert().values(**_fill(screening, {
            "claim_id": flagged, "recommendation": "reject", "codes": "SAME_ACCOUNT,BURST_IP",
            "score": 640})))
        for n, status in enumerate(("delivered", "delivered", "permanent-failure")):
            conn.execute(notices.insert().values(**_fill(notices, {
                "incident_id": incident_id, "status": status, "key": f"k{n}"})))


def test_screening_flags_show_in_the_review_and_notices_in_the_accounting(world: World) -> None:
    w = world
    flagged = _approve(w.api, "acct-free", "30000")
    _approve(w.api, "acct-shop", "50000")
    _screening_and_notices(w.engine, flagged, INCIDENT)
    payouts.load_awards(engine=w.engine, incident_id=INCIDENT, ledger_rows=[], actor=w.admin,
                        now=w.now)
    _payees(w)
    prepared = payout_batches.prepare(engine=w.engine, incident_id=INCIDENT,
                                      method=Method.KR_BULK, currency="KRW", actor=w.kim,
                                      now=w.now)
    assert prepared.batch is not None
    summary = payout_batches.review(engine=w.engine, batch_id=prepared.batch.id, actor=w.kim,
                                    now=w.now)
    assert [(i.award_id, why) for i, why in summary.flagged] == [
        (f"claim:{flagged}", "reject: SAME_ACCOUNT,BURST_IP")]
    figures = payout_report.accounting(engine=w.engine, incident_id=INCIDENT, actor=w.kim,
                                       now=w.now)
    assert figures["screening"] == {"reject": 1}
    assert figures["notices_sent"] == 2
    # plus the outbox's own: each approved claim's "claim received" and "decision", not sent
    assert figures["notices_by_status"] == {"created": 4, "delivered": 2, "permanent-failure": 1}


def _pay_and_return(w: World, reason: str) -> str:
    """One KRW batch for every payable award, written, booked and returned with ``reason``."""
    bid = _batch(w, Method.KR_BULK, "KRW")
    payout_files.write(engine=w.engine, cipher=w.cipher, batch_id=bid, out_dir=w.out,
                       originator=Originator(), actor=w.admin, now=w.now)
    sent = _sent(w, bid)
    payout_files.reconcile(engine=w.engine, actor=w.kim, now=w.now, path=_report(
        w, f"{bid}-camt054.xml", bank_sim.camt054(
            sent, message_id=bid, returned={s.end_to_end_id: reason for s in sent},
            booked=w.now, iban="DE89370400440532013000")))
    return bid


def test_a_transfer_that_fails_twice_goes_out_as_a_check(world: World) -> None:
    w = world
    cid = _approve(w.api, "acct-free", "30000")
    payouts.load_awards(engine=w.engine, incident_id=INCIDENT, ledger_rows=[], actor=w.admin,
                        now=w.now)
    payouts.fund(engine=w.engine, incident_id=INCIDENT, amount=Decimal(30000), currency="KRW",
                 reserve=False, actor=w.admin, now=w.now)
    _payees(w)
    _pay_and_return(w, "AC04")
    w.api.clock.advance(days=1)
    payouts.set_payee(engine=w.engine, cipher=w.cipher, name_check=w.names, payee_id="acct-free",
                      method=Method.KR_BULK, holder="김민수",
                      details={"bank_code": "088", "account_number": "110-123-456780"},
                      actor=w.admin, now=w.now)
    _pay_and_return(w, "AC06")
    left = payout_batches.prepare(engine=w.engine, incident_id=INCIDENT, method=Method.KR_BULK,
                                  currency="KRW", actor=w.kim, now=w.now)
    assert left.batch is None
    assert left.skipped == {"to be paid by check": 1}  # not held: the fallback is next
    payouts.set_payee(engine=w.engine, cipher=w.cipher, name_check=w.names, payee_id="acct-free",
                      method=Method.CHECK, holder="김민수",
                      details={"address": "서울특별시 중구 세종대로 110"}, actor=w.admin,
                      now=w.now, preferred=False)
    bid = _batch(w, Method.CHECK, "KRW")
    written = payout_files.write(engine=w.engine, cipher=w.cipher, batch_id=bid, out_dir=w.out,
                                 originator=Originator(), actor=w.admin, now=w.now)
    rows = written.path.read_text(encoding="utf-8").splitlines()
    assert rows[0] == "reference,payee_id,holder,amount,currency,address,memo"
    assert rows[1] == f"{bid}-000001,acct-free,김민수,30000,KRW,서울특별시 중구 세종대로 110,장애보상"
    assert _position(w, f"claim:{cid}").in_batch == 30000


def test_a_failed_payment_nobody_claims_becomes_unclaimed_after_the_deadline(world: World) -> None:
    w = world
    _approve(w.api, "acct-free", "30000")
    payouts.load_awards(engine=w.engine, incident_id=INCIDENT, ledger_rows=[], actor=w.admin,
                        now=w.now)
    payouts.fund(engine=w.engine, incident_id=INCIDENT, amount=Decimal(30000), currency="KRW",
                 reserve=False, actor=w.admin, now=w.now)
    _payees(w)
    _pay_and_return(w, "AC04")
    silent = _approve(w.api, "acct-nobody", "50000")  # no details ever given
    payouts.load_awards(engine=w.engine, incident_id=INCIDENT, ledger_rows=[], actor=w.admin,
                        now=w.now)
    deadline = w.now + timedelta(days=90)
    with pytest.raises(Conflict, match="has not passed"):
        payout_files.declare_unclaimed(engine=w.engine, incident_id=INCIDENT, deadline=deadline,
                                       actor=w.admin, now=w.now)
    assert payout_files.declare_unclaimed(engine=w.engine, incident_id=INCIDENT,
                                          deadline=deadline, actor=w.admin,
                                          now=deadline + timedelta(seconds=1)) == 1
    assert _position(w, f"claim:{silent}").payable == 50000
    assert payout_files.declare_unclaimed(engine=w.engine, incident_id=INCIDENT,
                                          deadline=deadline, actor=w.admin, never_paid=True,
                                          now=deadline + timedelta(seconds=2)) == 1
    figures = payout_report.accounting(engine=w.engine, incident_id=INCIDENT, actor=w.kim,
                                       now=w.now)
    assert figures["unclaimed"] == {"KRW": "80000"}
    assert figures["fund"]["KRW"]["fund_balance"] == "30000"  # the money is still in the fund


def test_payees_come_from_the_payout_accounts_claims_gave(world: World) -> None:
    w = world  # w.cipher holds the key the API encrypted the claims' payout accounts with
    _approve(w.api, "acct-eu-1", "10", currency="EUR", payout_account="DE89 3704 0044 0532 0130 00")
    _approve(w.api, "acct-free", "30000", payout_account="088-110-123-456789")
    _approve(w.api, "acct-shop", "50000", payout_account="110-123-456789")  # no bank code
    counts = payouts.payees_from_claims(engine=w.engine, cipher=w.cipher, name_check=w.names,
                                        incident_id=INCIDENT, actor=w.admin, now=w.now)
    assert counts == {"stored": 2, "kept": 0, "needs_details": 1}
    from makegood.adapters.db.payout_store import PayoutUnitOfWork

    with PayoutUnitOfWork(w.engine) as uow:
        eu, kr = uow.store.payee("acct-eu-1"), uow.store.payee("acct-free")
    assert eu is not None
    assert kr is not None
    assert (eu.method, kr.method) == (Method.SEPA, Method.KR_BULK)
    assert kr.masked == "신한은행 ********6789"
    with w.engine.connect() as conn:
        audit = conn.execute(sa.text("SELECT actor FROM audit_log WHERE action = 'payout.decrypt'"
                                     )).scalars().all()
    assert audit == ["staff:admin"]



def test_two_people_preparing_at_once_never_put_an_award_in_two_batches(world: World) -> None:
    import threading

    w = world
    for account in ("acct-free", "acct-shop", "acct-paid"):
        _approve(w.api, account, "30000")
    payouts.load_awards(engine=w.engine, incident_id=INCIDENT, ledger_rows=[], actor=w.admin,
                        now=w.now)
    _payees(w)
    barrier = threading.Barrier(2)
    results: list[object] = []

    def prepare(actor: StaffUser) -> None:
        barrier.wait()
        try:
            results.append(payout_batches.prepare(engine=w.engine, incident_id=INCIDENT,
                                                  method=Method.KR_BULK, currency="KRW",
                                                  actor=actor, now=w.now))
        except Conflict as exc:  # a batch id taken at the same moment: an honest refusal
            results.append(exc)

    threads = [threading.Thread(target=prepare, args=(who,)) for who in (w.kim, w.lee)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    batches = [r.batch for r in results
               if isinstance(r, payout_batches.Prepared) and r.batch is not None]
    assert len(batches) == 1
    assert batches[0].count == 3
    with w.engine.connect() as conn:
        doubled = conn.execute(sa.text("SELECT award_id FROM payout_items GROUP BY award_id "
                                       "HAVING COUNT(*) > 1")).all()
    assert doubled == []


class RecordedNotices:
    """The notices hook as the outbox will receive it: what was sent and what failed."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str]] = []

    def payout_sent(self, store: object, *, award: object, item: object, now: object) -> None:
        self.calls.append(("sent", item.end_to_end_id, ""))  # type: ignore[attr-defined]

    def payout_failed(self, store: object, *, award: object, item: object, reason: str,
                      now: object) -> None:
        self.calls.append(("failed", item.end_to_end_id, reason))  # type: ignore[attr-defined]


def test_the_notices_hook_hears_of_every_payment_sent_and_failed(world: World) -> None:
    w = world
    for account in ("acct-free", "acct-shop", "acct-paid"):
        _approve(w.api, account, "30000")
    payouts.load_awards(engine=w.engine, incident_id=INCIDENT, ledger_rows=[], actor=w.admin,
                        now=w.now)
    payouts.fund(engine=w.engine, incident_id=INCIDENT, amount=Decimal(90000), currency="KRW",
                 reserve=False, actor=w.admin, now=w.now)
    _payees(w)
    bid = _batch(w, Method.KR_BULK, "KRW")
    e1, e2, e3 = (s.end_to_end_id for s in _sent(w, bid))
    notices = RecordedNotices()
    payout_files.reconcile(engine=w.engine, actor=w.kim, now=w.now, notices=notices,
                           path=_report(w, "returns.csv", bank_sim.csv_returns([
                               (e1, "paid", Decimal(30000), "KRW", ""),
                               (e2, "rejected", Decimal(30000), "KRW", "AC01"),
                               (e3, "returned", Decimal(30000), "KRW", "AC04")])))
    assert notices.calls == [("sent", e1, ""), ("failed", e2, "AC01"), ("failed", e3, "AC04")]


def test_a_key_rotation_reencrypts_payee_details_and_files_still_write(world: World) -> None:
    from cryptography.fernet import Fernet

    from makegood.adapters.db.rotation import reencrypt, stale

    w = world
    _approve(w.api, "acct-free", "30000")
    payouts.load_awards(engine=w.engine, incident_id=INCIDENT, ledger_rows=[], actor=w.admin,
                        now=w.now)
    payouts.fund(engine=w.engine, incident_id=INCIDENT, amount=Decimal(30000), currency="KRW",
                 reserve=False, actor=w.admin, now=w.now)
    _payees(w)
    bid = _batch(w, Method.KR_BULK, "KRW")
    new_key = Fernet.generate_key()
    both = Cipher(new_key + b"\n" + w.cipher.keys[0])
    assert stale(w.engine, both) > 0
    reencrypt(w.engine, both)
    assert stale(w.engine, both) == 0
    only_new = Cipher(new_key)  # the old key is gone
    written = payout_files.write(engine=w.engine, cipher=only_new, batch_id=bid, out_dir=w.out,
                                 originator=Originator(), actor=w.admin, now=w.now)
    assert "3333012345678" in written.path.read_text(encoding="utf-8-sig")


def test_payee_account_numbers_are_never_stored_in_clear(world: World) -> None:
    w = world
    _payees(w)
    with w.engine.connect() as conn:
        stored = " ".join(str(row) for table in ("payout_payees", "audit_log")
                          for row in conn.execute(sa.text(f"SELECT * FROM {table}")))
    for _, account, _ in KR.values():
        assert account not in stored
        assert account.replace("-", "") not in stored
    for iban, _, _ in EU.values():
        assert iban not in stored
    assert "****" in stored  # the masked form is what people see


def test_details_cannot_change_while_a_payment_to_the_payee_is_on_its_way(world: World) -> None:
    w = world
    _approve(w.api, "acct-free", "30000")
    payouts.load_awards(engine=w.engine, incident_id=INCIDENT, ledger_rows=[], actor=w.admin,
                        now=w.now)
    payouts.fund(engine=w.engine, incident_id=INCIDENT, amount=Decimal(30000), currency="KRW",
                 reserve=False, actor=w.admin, now=w.now)
    _payees(w)
    bid = _batch(w, Method.KR_BULK, "KRW")
    change = {"engine": w.engine, "cipher": w.cipher, "name_check": w.names,
              "payee_id": "acct-free", "method": Method.KR_BULK, "holder": "김민수",
              "details": {"bank_code": "088", "account_number": "110-123-456789"},
              "actor": w.admin, "now": w.now}
    with pytest.raises(Conflict, match=f"on its way in batch {bid}"):
        payouts.set_payee(**change)  # type: ignore[arg-type]
    payout_files.reconcile(engine=w.engine, actor=w.kim, now=w.now, path=_report(
        w, "booked.csv", bank_sim.csv_returns([(f"{bid}-000001", "paid", Decimal(30000), "KRW",
                                                "")])))
    payouts.set_payee(**change)  # type: ignore[arg-type]
