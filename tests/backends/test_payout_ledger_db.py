"""The payout ledger in the database keeps its invariants over random sequences of the real use
cases (hypothesis stateful, SQLite): awards, top-ups, batches released by two people, bank
reports that pay, reject or return, new details and reissues."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from makegood.adapters.db.crypto import Cipher, load_key
from makegood.adapters.db.engine import make_engine, upgrade
from makegood.adapters.db.payout_store import PayoutUnitOfWork
from makegood.adapters.db.repository import UnitOfWork
from makegood.adapters.payouts import bank_sim
from makegood.adapters.payouts.details import NoNameCheck
from makegood.domain.errors import Conflict
from makegood.domain.payout_batches import BatchStatus
from makegood.domain.payouts import Method, check_invariants
from makegood.domain.staff import Role
from makegood.services import payout_batches, payout_files, payouts, staff

from .claims_data import INCIDENT

INCIDENT_ID = "kakao-2022-10-15"
PASSWORD = "a long enough password"


class PayoutDatabaseMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = tempfile.TemporaryDirectory()
        root = Path(self.dir.name)
        self.engine = make_engine(f"sqlite:///{root / 'payouts.db'}", pool_size=2)
        upgrade(self.engine)
        self.now = datetime(2023, 3, 2, tzinfo=UTC)
        staff.put_incident(uow=UnitOfWork(self.engine), document=INCIDENT, policy_id=None,
                           ledger_path=None, intake_opens=None, intake_closes=None,
                           actor=staff.SYSTEM, now=self.now)
        self.kim = staff.add_user(uow=UnitOfWork(self.engine), username="kim", password=PASSWORD,
                                  role=Role.SUPERVISOR, actor=staff.SYSTEM, now=self.now)
        self.lee = staff.add_user(uow=UnitOfWork(self.engine), username="lee", password=PASSWORD,
                                  role=Role.SUPERVISOR, actor=staff.SYSTEM, now=self.now)
        self.cipher = Cipher(load_key(None, root / "secret.key"))
        self.accounts = 0
        self.reports = 0

    def teardown(self) -> None:
        self.engine.dispose()
        self.dir.cleanup()

    def tick(self) -> datetime:
        self.now += timedelta(minutes=1)
        return self.now

    def open_items(self) -> list[tuple[str, str]]:
        """(batch, end-to-end id) of released items still on their way."""
        with PayoutUnitOfWork(self.engine) as uow:
            out = []
            for b in uow.store.batches(INCIDENT_ID):
                if b.status not in (BatchStatus.RELEASED, BatchStatus.WRITTEN):
                    continue
                items = uow.store.items(b.id)
                positions = uow.store.positions([i.award_id for i in items])
                latest = {a: its[-1].attempt for a, its in
                          uow.store.items_of_awards([i.award_id for i in items]).items()}
                out += [(b.id, i.end_to_end_id) for i in items
                        if positions[i.award_id].in_batch and latest[i.award_id] == i.attempt]
            return out

    @initialize()
    def a_funded_incident_with_awards(self) -> None:
        for amount in (30000, 50000, 30000):
            self.award(amount)
        self.top_up(200000)

    @rule(amount=st.sampled_from([30000, 50000, 12345]))
    def award(self, amount: int) -> None:
        self.accounts += 1
        account = f"A{self.accounts:04d}"
        payouts.load_awards(engine=self.engine, incident_id=INCIDENT_ID, ledger_rows=[
            payouts.LedgerAward(account, f"S{self.accounts}", "small_business", "sb", "bracket",
                                "cash", Decimal(amount), "KRW")],
            actor=staff.SYSTEM, now=self.tick())
        self.confirm_details(account)

    def confirm_details(self, account: str) -> None:
        payouts.set_payee(engine=self.engine, cipher=self.cipher, name_check=NoNameCheck(),
                          payee_id=account, method=Method.KR_BULK, holder="김민수",
                          details={"bank_code": "090", "account_number": f"3333{account[1:]:0>9}"},
                          actor=staff.SYSTEM, now=self.tick())

    @rule(amount=st.sampled_from([10000, 60000, 200000]))
    def top_up(self, amount: int) -> None:
        payouts.fund(engine=self.engine, incident_id=INCIDENT_ID, amount=Decimal(amount),
                     currency="KRW", reserve=False, actor=staff.SYSTEM, now=self.tick())

    @rule()
    def batch(self) -> None:
        prepared = payout_batches.prepare(engine=self.engine, incident_id=INCIDENT_ID,
                                          method=Method.KR_BULK, currency="KRW", actor=self.kim,
                                          now=self.tick())
        if prepared.batch is None:
            return
        bid = prepared.batch.id
        payout_batches.review(engine=self.engine, batch_id=bid, actor=self.kim, now=self.tick())
        try:
            payout_batches.release(engine=self.engine, batch_id=bid, actor=self.lee,
                                   now=self.tick(), four_eyes_above=Decimal(0))
        except Conflict:  # the fund does not cover it: cancel, the awards are payable again
            payout_batches.cancel(engine=self.engine, batch_id=bid, actor=self.kim,
                                  now=self.tick())

    @rule(data=st.data())
    def pay_round(self, data: st.DataObject) -> None:
        """A batch goes out and the bank answers for some or all of what is on its way."""
        self.batch()
        self.bank_report(data)

    @precondition(lambda self: self.accounts > 0)
    @rule(data=st.data())
    def bank_report(self, data: st.DataObject) -> None:
        items = self.open_items()
        if not items:
            return
        chosen = data.draw(st.lists(st.sampled_from(items), min_size=1, max_size=len(items),
                                    unique=True))
        rows = [(e2e, data.draw(st.sampled_from(["paid", "rejected", "returned"])), Decimal(0),
                 "KRW", "AC04") for _, e2e in chosen]
        self.reports += 1
        path = Path(self.dir.name) / f"returns-{self.reports}.csv"
        path.write_bytes(bank_sim.csv_returns(rows).replace(b",0,KRW", b",,KRW"))
        payout_files.reconcile(engine=self.engine, path=path, actor=self.kim, now=self.tick())

    @precondition(lambda self: self.accounts > 0)
    @rule(data=st.data())
    def new_details(self, data: st.DataObject) -> None:
        n = data.draw(st.integers(min_value=1, max_value=self.accounts))
        try:
            self.confirm_details(f"A{n:04d}")
        except Conflict:  # refused only while a payment to the payee is on its way
            with PayoutUnitOfWork(self.engine) as uow:
                assert uow.store.in_flight(f"A{n:04d}") is not None

    @invariant()
    def ledger_holds(self) -> None:
        with PayoutUnitOfWork(self.engine) as uow:
            check_invariants(uow.store.entries(INCIDENT_ID), money_units=["KRW"])

    @invariant()
    def no_award_in_two_open_batches(self) -> None:
        with self.engine.connect() as conn:
            doubled = conn.execute(sa.text(
                "SELECT i.award_id FROM payout_items i JOIN payout_batches b ON b.id = i.batch_id "
                "WHERE b.status IN ('prepared', 'reviewed') GROUP BY i.award_id "
                "HAVING COUNT(*) > 1")).all()
        assert doubled == []
        opened = [e2e for _, e2e in self.open_items()]
        assert len(opened) == len(set(opened))


TestPayoutDatabase = PayoutDatabaseMachine.TestCase
TestPayoutDatabase.settings = settings(max_examples=12, stateful_step_count=12, deadline=None)
