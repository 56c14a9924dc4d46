"""The final accounting of an incident, computed from the ledgers (never typed).

What a court or a regulator receives after the distribution (DOMAIN.md): the fund and its
reserve; notices sent; claims received, approved, denied and appealed, by category; amounts
awarded and paid by method; returned, reissued and unclaimed; screening outcomes; and the
Kakao-style breakdown of 2022 (reports by claimant kind, paid versus free, monetary versus
non-monetary). Amounts are strings of exact decimals in the JSON.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from makegood.adapters.db import schema as t
from makegood.adapters.db.payout_store import PayoutUnitOfWork as UoW
from makegood.domain.errors import NotFound
from makegood.domain.payouts import ZERO, Ledger, account_totals, check_invariants, sums_by
from makegood.domain.staff import Permission
from makegood.services.staff import StaffUser

MONEY_KINDS = ("cash", "refund")


def _money(d: dict[str, Decimal]) -> dict[str, str]:
    return {k: str(v) for k, v in sorted(d.items())}


def accounting(*, engine: sa.Engine, incident_id: str, actor: StaffUser, now: datetime
               ) -> dict[str, Any]:
    actor.require(Permission.READ)
    with UoW(engine) as uow:
        conn, store = uow.conn, uow.store
        incident = conn.execute(sa.select(t.incidents.c.id, t.incidents.c.title).where(
            t.incidents.c.id == incident_id)).first()
        if incident is None:
            raise NotFound(f"no incident {incident_id!r}")
        entries = store.entries(incident_id)
        awards = {a.id: a for a in store.awards(incident_id)}
        money_units = sorted({a.unit for a in awards.values() if a.kind in MONEY_KINDS}
                             | {line.unit for e in entries for line in e.lines
                                if line.account is Ledger.CONTRIBUTIONS})
        check_invariants(entries, money_units=money_units)  # the report is only made of a sound ledger
        totals = account_totals(entries, sums=sums_by(entries))
        batches = {b.id: b for b in store.batches(incident_id)}

        fund: dict[str, dict[str, str]] = {}
        for unit in money_units:
            fund[unit] = {
                "contributions": str(-totals.get((Ledger.CONTRIBUTIONS, unit), ZERO)),
                "fund_balance": str(totals.get((Ledger.FUND, unit), ZERO)),
                "reserve": str(totals.get((Ledger.RESERVE, unit), ZERO)),
            }

        awarded: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
        for a in awards.values():
            awarded[a.method.value][a.unit] += a.amount
        paid: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
        returned: dict[str, Decimal] = defaultdict(Decimal)
        returned_count = 0
        reasons: Counter[str] = Counter()
        for e in entries:
            if e.kind not in ("settle", "return") or e.batch_id is None:
                continue
            method = batches[e.batch_id].method.value
            for line in e.lines:
                if line.account in (Ledger.FUND, Ledger.CREDITS_ISSUED):
                    paid[method][line.unit] -= line.amount
            if e.kind == "return":
                returned_count += 1
                returned[e.lines[0].unit] += e.lines[0].amount
                reasons[e.memo or "unknown"] += 1
        unclaimed: dict[str, Decimal] = defaultdict(Decimal)
        outstanding: dict[str, Decimal] = defaultdict(Decimal)
        for (account, unit), amount in totals.items():
            if account is Ledger.UNCLAIMED:
                unclaimed[unit] -= amount
            if account in (Ledger.PAYABLE, Ledger.IN_BATCH):
                outstanding[unit] -= amount
        items = conn.execute(sa.text(
            "SELECT award_id, COUNT(*) AS n FROM payout_items i JOIN payout_batches b "
            "ON b.id = i.batch_id WHERE b.incident_id = :i GROUP BY award_id"),
            {"i": incident_id}).all()
        reissued = sum(1 for r in items if r.n > 1)

        claims = conn.execute(sa.select(t.claims.c.category, t.claims.c.status,
                                        t.claims.c.appealed, t.claims.c.claimant_kind,
                                        t.claims.c.paid).where(
            t.claims.c.incident_id == incident_id)).all()
        by_category: dict[str, Counter[str]] = defaultdict(Counter)
        for c in claims:
            row = by_category[c.category]
            row["received"] += 1
            row[c.status if c.status in ("approved", "denied") else "open"] += 1
            row["appealed"] += int(bool(c.appealed))
        kinds = Counter(c.claimant_kind for c in claims)
        paid_free = Counter("paid" if c.paid else "free" if c.paid is False else "unknown"
                            for c in claims)
        monetary: dict[str, Counter[str]] = {"monetary": Counter(), "non_monetary": Counter()}
        monetary_amounts: dict[str, dict[str, Decimal]] = {
            "monetary": defaultdict(Decimal), "non_monetary": defaultdict(Decimal)}
        for a in awards.values():
            side = "monetary" if a.kind in MONEY_KINDS else "non_monetary"
            monetary[side][a.kind] += 1
            monetary_amounts[side][a.unit] += a.amount

        notice_counts = store.notice_counts(incident_id)
        screening = store.screening_outcomes(incident_id)
    return {
        "incident": {"id": incident.id, "title": incident.title},
        "generated_at": now.isoformat(),
        "fund": fund,
        "notices_sent": (notice_counts or {}).get("delivered", 0),
        "notices_by_status": notice_counts or {},
        "notices_source": "notices" if notice_counts is not None
        else "none (the notices outbox has not landed)",
        "claims": {
            "received": len(claims),
            "by_category": {k: dict(v) for k, v in sorted(by_category.items())},
            "approved": sum(v["approved"] for v in by_category.values()),
            "denied": sum(v["denied"] for v in by_category.values()),
            "appealed": sum(v["appealed"] for v in by_category.values()),
        },
        "awards": {"count": len(awards),
                   "awarded_by_method": {m: _money(v) for m, v in sorted(awarded.items())},
                   "paid_by_method": {m: _money(v) for m, v in sorted(paid.items())}},
        "returned": {"count": returned_count, "amount": _money(returned),
                     "reasons": dict(sorted(reasons.items()))},
        "reissued": reissued,
        "unclaimed": _money(unclaimed),
        "outstanding": _money(outstanding),
        "batches": [{"id": b.id, "method": b.method.value, "currency": b.currency,
                     "status": b.status.value, "count": b.count, "total": str(b.total),
                     "prepared_by": b.prepared_by, "reviewed_by": b.reviewed_by,
                     "released_by": b.released_by} for b in batches.values()],
        "screening": screening,
        "breakdown": {
            "by_claimant_kind": dict(sorted(kinds.items())),
            "awards_by_segment": dict(sorted(Counter(
                a.claimant_kind or "unknown" for a in awards.values()).items())),
            "paid_vs_free": dict(sorted(paid_free.items())),
            "monetary_vs_non_monetary": {k: dict(sorted(v.items())) for k, v in monetary.items()},
            "monetary_vs_non_monetary_amounts": {k: _money(v)
                                                 for k, v in monetary_amounts.items()},
        },
    }
