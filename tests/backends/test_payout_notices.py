"""Payouts tell claimants through the notices outbox: sent and failed (returned) payments."""

from __future__ import annotations

import json
from decimal import Decimal

import sqlalchemy as sa

from makegood.adapters.db.notice_tables import notices
from makegood.adapters.payouts import bank_sim
from makegood.adapters.payouts.lines import Originator
from makegood.domain.payouts import Method
from makegood.services import payout_files, payouts
from makegood.services.payout_notices import OutboxPayoutNotices

from .test_payouts import INCIDENT, World, _approve, _batch, _payees, _report, _sent, world

__all__ = ["world"]  # the fixture, used by name


def test_a_booked_payment_and_a_returned_one_each_tell_their_claimant(world: World) -> None:
    w = world
    _approve(w.api, "acct-free", "30000")
    _approve(w.api, "acct-shop", "50000", claimant_kind="small_business")
    payouts.load_awards(engine=w.engine, incident_id=INCIDENT, ledger_rows=[], actor=w.admin,
                        now=w.now)
    payouts.fund(engine=w.engine, incident_id=INCIDENT, amount=Decimal(200000), currency="KRW",
                 reserve=False, actor=w.admin, now=w.now)
    _payees(w)
    kr = _batch(w, Method.KR_BULK, "KRW")
    payout_files.write(engine=w.engine, cipher=w.cipher, batch_id=kr, out_dir=w.out,
                       originator=Originator(), actor=w.admin, now=w.now)
    sent = _sent(w, kr)
    shop = next(s for s in sent if s.amount == 50000)
    payout_files.reconcile(
        engine=w.engine, actor=w.kim, now=w.now, notices=OutboxPayoutNotices(),
        path=_report(w, "camt054.xml", bank_sim.camt054(
            sent, message_id="NTF1", returned={shop.end_to_end_id: "AC04"}, booked=w.now,
            iban=Originator().iban)))
    with w.engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(
            sa.select(notices).where(notices.c.kind.like("payout_%"))
            .order_by(notices.c.kind)).mappings()]
    # the bank booked both, then returned the shop's transfer: the shop hears both
    assert sorted((r["kind"], r["account_id"]) for r in rows) == [
        ("payout_failed", "acct-shop"), ("payout_sent", "acct-free"), ("payout_sent", "acct-shop")]
    failed = json.loads(str(next(r for r in rows if r["kind"] == "payout_failed")["payload"]))
    assert (failed["amount"], failed["currency"], failed["reason"]) == ("50000", "KRW", "AC04")
