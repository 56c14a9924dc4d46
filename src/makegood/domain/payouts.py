"""The payout ledger: awards carried from "approved" to "paid", in double entry.

Every movement of an award is an :class:`Entry` whose lines add up to zero in each unit (a
currency such as KRW, or a unit of a non-monetary award such as ``day``). Balances are sums of
lines, never stored and never edited. Debits are positive, credits negative; liabilities
therefore have negative balances, and :class:`Position` shows them as positive amounts owed.

The accounts and what moves between them::

    award      expense      ──▶ payable        an approved claim or a cash award is owed
    batch      payable      ──▶ in_batch       the award sits in one payout batch
    unbatch    in_batch     ──▶ payable        the bank rejected it (pain.002 RJCT), or the
                                               batch was cancelled before release
    settle     in_batch     ──▶ fund           the bank booked the transfer (money left the fund)
               in_batch     ──▶ credits_issued the billing system applied the credit (no money left)
    return     fund         ──▶ payable        the transfer came back (camt.054 RtrInf, AC04 ...)
    unclaimed  payable      ──▶ unclaimed      the payee never gave working details by the deadline
    top_up     contributions──▶ fund           the operator paid money into the fund
    reserve    fund         ──▶ reserve        set aside for late and cured claims (and back)

Invariants (:func:`check_invariants`, tested over random sequences of operations): every entry
balances; per award, ``payable + in_batch + settled + unclaimed == awarded`` with each part
non-negative, so nothing is settled above its award; an award is in at most one open batch
(its ``in_batch`` is all or nothing); and per currency, the contributions equal the fund, the
reserve and the money paid out.

Standard library only.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from makegood.domain.errors import Conflict, InputError

ZERO = Decimal(0)


class Ledger(StrEnum):
    """The accounts of the payout ledger."""

    CONTRIBUTIONS = "contributions"  # money paid into the fund by the operator (credit balance)
    FUND = "fund"  # the fund's bank account, unreserved part (debit balance)
    RESERVE = "reserve"  # the fund's reserve for late and cured claims
    EXPENSE = "expense"  # compensation awarded (debit balance)
    PAYABLE = "payable"  # owed to a payee, not in a batch (credit balance)
    IN_BATCH = "in_batch"  # owed, in a payout batch on its way to the bank or billing
    CREDITS_ISSUED = "credits_issued"  # applied by the billing system (no money left the fund)
    UNCLAIMED = "unclaimed"  # owed, but the payee never gave working details


class Method(StrEnum):
    """How an award reaches its payee."""

    SEPA = "sepa"  # SEPA credit transfer, pain.001.001.09, EUR
    NACHA = "nacha"  # ACH PPD credit, USD
    KR_BULK = "kr_bulk"  # a Korean bank's bulk-transfer CSV, KRW
    BILLING_CREDIT = "billing_credit"  # a credit or extension applied by the billing system
    CHECK = "check"  # a paper check: the fallback after a transfer failed twice

    @property
    def moves_money(self) -> bool:
        return self is not Method.BILLING_CREDIT


@dataclass(frozen=True, slots=True)
class Line:
    account: Ledger
    amount: Decimal  # debit positive, credit negative
    unit: str
    award_id: str | None = None


@dataclass(frozen=True, slots=True)
class Entry:
    """One balanced movement; ``kind`` is the verb (award, batch, settle, ...)."""

    kind: str
    lines: tuple[Line, ...]
    memo: str = ""
    batch_id: str | None = None
    reference: str | None = None  # the end-to-end id or the bank report line it came from

    def __post_init__(self) -> None:
        sums: dict[str, Decimal] = defaultdict(Decimal)
        for line in self.lines:
            sums[line.unit] += line.amount
        unbalanced = {u: s for u, s in sums.items() if s != 0}
        if unbalanced or not self.lines:
            raise ValueError(f"entry {self.kind!r} does not balance: {unbalanced}")


def _move(kind: str, debit: Ledger, credit: Ledger, amount: Decimal, unit: str,
          award_id: str | None, **extra: str | None) -> Entry:
    if amount <= 0:
        raise InputError(f"must be positive, not {amount}", field="amount")
    return Entry(kind, (Line(debit, amount, unit, award_id), Line(credit, -amount, unit, award_id)),
                 memo=extra.get("memo") or "", batch_id=extra.get("batch_id"),
                 reference=extra.get("reference"))


@dataclass(frozen=True, slots=True)
class Position:
    """Where one award stands, all amounts positive (derived from its lines)."""

    award_id: str
    unit: str
    awarded: Decimal = ZERO
    payable: Decimal = ZERO
    in_batch: Decimal = ZERO
    settled: Decimal = ZERO
    unclaimed: Decimal = ZERO

    @classmethod
    def of(cls, award_id: str, unit: str, sums: Mapping[Ledger, Decimal]) -> Position:
        """From the per-account sums of the award's lines (debit positive)."""
        return cls(award_id, unit,
                   awarded=sums.get(Ledger.EXPENSE, ZERO),
                   payable=-sums.get(Ledger.PAYABLE, ZERO),
                   in_batch=-sums.get(Ledger.IN_BATCH, ZERO),
                   settled=-(sums.get(Ledger.FUND, ZERO) + sums.get(Ledger.CREDITS_ISSUED, ZERO)),
                   unclaimed=-sums.get(Ledger.UNCLAIMED, ZERO))


# ---------------------------------------------------------------------------------------------
# The operations: each checks the award's position and returns the one entry it makes.


def award(award_id: str, amount: Decimal, unit: str, *, memo: str = "") -> Entry:
    return _move("award", Ledger.EXPENSE, Ledger.PAYABLE, amount, unit, award_id, memo=memo)


def batch(position: Position, *, batch_id: str) -> Entry:
    """Put the whole payable amount of an award into a batch."""
    if position.in_batch:
        raise Conflict(f"award {position.award_id} is already in an open batch")
    if position.payable <= 0:
        raise Conflict(f"award {position.award_id} has nothing payable")
    return _move("batch", Ledger.PAYABLE, Ledger.IN_BATCH, position.payable, position.unit,
                 position.award_id, batch_id=batch_id)


def unbatch(position: Position, *, batch_id: str, reason: str, reference: str | None = None
            ) -> Entry:
    """A rejection by the bank, or a cancelled batch: the award is payable again."""
    if position.in_batch <= 0:
        raise Conflict(f"award {position.award_id} is not in a batch")
    return _move("unbatch", Ledger.IN_BATCH, Ledger.PAYABLE, position.in_batch, position.unit,
                 position.award_id, batch_id=batch_id, memo=reason, reference=reference)


def settle(position: Position, *, method: Method, batch_id: str, reference: str | None = None
           ) -> Entry:
    """The bank booked the transfer, or the billing system applied the credit."""
    if position.in_batch <= 0:
        raise Conflict(f"award {position.award_id} is not in a batch, so it cannot be settled")
    to = Ledger.FUND if method.moves_money else Ledger.CREDITS_ISSUED
    return _move("settle", Ledger.IN_BATCH, to, position.in_batch, position.unit,
                 position.award_id, batch_id=batch_id, reference=reference)


def return_(position: Position, amount: Decimal, *, reason: str, batch_id: str | None = None,
            reference: str | None = None) -> Entry:
    """A settled transfer came back: the money is in the fund again and the award payable."""
    if amount > position.settled:
        raise Conflict(f"award {position.award_id}: a return of {amount} exceeds the "
                       f"{position.settled} paid")
    return _move("return", Ledger.FUND, Ledger.PAYABLE, amount, position.unit, position.award_id,
                 memo=reason, batch_id=batch_id, reference=reference)


def unclaim(position: Position, *, reason: str) -> Entry:
    if position.payable <= 0:
        raise Conflict(f"award {position.award_id} has nothing payable to declare unclaimed")
    return _move("unclaimed", Ledger.PAYABLE, Ledger.UNCLAIMED, position.payable, position.unit,
                 position.award_id, memo=reason)


def top_up(amount: Decimal, currency: str, *, memo: str = "") -> Entry:
    return _move("top_up", Ledger.FUND, Ledger.CONTRIBUTIONS, amount, currency, None, memo=memo)


def reserve(amount: Decimal, currency: str, *, fund: Decimal, memo: str = "") -> Entry:
    """Set ``amount`` aside (negative: release it back to the fund)."""
    if amount > 0:
        if amount > fund:
            raise Conflict(f"the fund holds {fund} {currency}; cannot reserve {amount}")
        return _move("reserve", Ledger.RESERVE, Ledger.FUND, amount, currency, None, memo=memo)
    return _move("reserve_release", Ledger.FUND, Ledger.RESERVE, -amount, currency, None, memo=memo)


def check_fund_covers(*, fund: Decimal, committed: Decimal, total: Decimal, currency: str) -> None:
    """A money batch is released only when the unreserved fund covers it and the batches
    released before it that the bank has not booked yet."""
    if committed + total > fund:
        raise Conflict(f"the fund holds {fund} {currency} unreserved, {committed} of it committed "
                       f"to released batches; a batch of {total} {currency} does not fit")


# ---------------------------------------------------------------------------------------------
# Balances and invariants


def sums_by(entries: Iterable[Entry]) -> dict[tuple[Ledger, str, str | None], Decimal]:
    out: dict[tuple[Ledger, str, str | None], Decimal] = defaultdict(Decimal)
    for entry in entries:
        for line in entry.lines:
            out[(line.account, line.unit, line.award_id)] += line.amount
    return out


Sums = dict[tuple[Ledger, str, str | None], Decimal]


def positions(entries: Iterable[Entry], *, sums: Sums | None = None) -> dict[str, Position]:
    per_award: dict[tuple[str, str], dict[Ledger, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for (account, unit, award_id), amount in (sums if sums is not None else sums_by(entries)).items():
        if award_id is not None:
            per_award[(award_id, unit)][account] += amount
    return {aid: Position.of(aid, unit, s) for (aid, unit), s in per_award.items()}


def account_totals(entries: Iterable[Entry], *, sums: Sums | None = None
                   ) -> dict[tuple[Ledger, str], Decimal]:
    out: dict[tuple[Ledger, str], Decimal] = defaultdict(Decimal)
    for (account, unit, _), amount in (sums if sums is not None else sums_by(entries)).items():
        out[(account, unit)] += amount
    return out


def check_invariants(entries: list[Entry], *, money_units: Iterable[str] = ()) -> None:
    """Raise AssertionError naming the first broken invariant."""
    for entry in entries:
        balance: dict[str, Decimal] = defaultdict(Decimal)
        for line in entry.lines:
            balance[line.unit] += line.amount
        assert all(v == 0 for v in balance.values()), f"unbalanced entry {entry}"
    sums = sums_by(entries)
    for p in positions(entries, sums=sums).values():
        parts = (p.payable, p.in_batch, p.settled, p.unclaimed)
        assert all(x >= 0 for x in parts), f"negative part in {p}"
        assert sum(parts) == p.awarded, f"parts do not add up to the award in {p}"
        assert p.settled <= p.awarded, f"settled above the award in {p}"
    totals = account_totals(entries, sums=sums)
    for unit in money_units:
        paid = -sum((amount for (account, u, award_id), amount in sums.items()
                     if account is Ledger.FUND and award_id is not None and u == unit), ZERO)
        contributions = -totals.get((Ledger.CONTRIBUTIONS, unit), ZERO)
        fund = totals.get((Ledger.FUND, unit), ZERO)
        reserved = totals.get((Ledger.RESERVE, unit), ZERO)
        assert contributions == fund + reserved + paid, (
            f"{unit}: contributions {contributions} != fund {fund} + reserve {reserved} "
            f"+ paid {paid}")
        assert reserved >= 0, f"{unit}: negative reserve {reserved}"


@dataclass
class Book:
    """An in-memory payout ledger: the reference the database adapter must agree with, and the
    model the stateful tests drive."""

    entries: list[Entry] = field(default_factory=list)
    open_batches: dict[str, set[str]] = field(default_factory=dict)

    def post(self, entry: Entry) -> Entry:
        self.entries.append(entry)
        if entry.batch_id is not None:
            members = self.open_batches.setdefault(entry.batch_id, set())
            for line in entry.lines:
                if line.award_id is not None and line.account is Ledger.IN_BATCH:
                    if line.amount < 0:
                        members.add(line.award_id)
                    else:
                        members.discard(line.award_id)
        return entry

    def position(self, award_id: str) -> Position:
        found = positions(e for e in self.entries
                          if any(line.award_id == award_id for line in e.lines))
        if award_id not in found:
            raise Conflict(f"no award {award_id}")
        return found[award_id]

    def balance(self, account: Ledger, unit: str) -> Decimal:
        return account_totals(self.entries).get((account, unit), ZERO)
