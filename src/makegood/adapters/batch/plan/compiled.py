"""The compiled policy: one policy and one incident as constants, SQL pieces and evaluators.

What an engine runs (:mod:`makegood.adapters.batch.plan` says how the work is split): the
incident's merged windows for each (rule, service) as constants (at most ``k`` per pair), SQL
over a subscriptions relation (columns ``service``, ``plan``, ``paid``, ``channel``,
``segment``, ``s`` and ``e`` in epoch microseconds) that clips them to the subscription period,
and per rule the integer slots and the Python evaluator that prices them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

from makegood.adapters.batch.plan.expr import DUCKDB, MAX_US, Dialect, eligibility_sql, in_list, us
from makegood.domain.awards import MONEY_KINDS, AwardKind
from makegood.domain.policy import Policy
from makegood.domain.rules import Rule
from makegood.domain.windows import Window

REVIEW = "review"


@dataclass(frozen=True, slots=True)
class Template:
    """What is constant in a ledger row of one rule (and variant: a loss bracket or a review)."""

    policy_id: str
    rule_id: str
    rule_index: int
    kind: str
    unit: str
    currency: str | None
    code: str

    @property
    def is_money(self) -> bool:
        return (AwardKind(self.kind) in MONEY_KINDS and self.currency is not None
                and self.unit == self.currency)


Evaluator = Callable[[Fraction, tuple[int, ...]], Decimal | None]  # (exact monthly fee, slots)
Piece = tuple[str, str, str]  # (start, end, duration) SQL of one clipped window


@dataclass(slots=True)
class CompiledRule:
    """One rule: its ledger template and either a constant amount or integer slots (SQL) that,
    with the fee, an evaluator prices in Python."""

    rule: Rule
    template: Template
    slots: list[str] = field(default_factory=list)  # SQL integer expressions over the pieces
    evaluate: Evaluator | None = None  # (monthly fee, slots) -> amount; None: a constant
    constant: Decimal | None = None
    needs_fee: bool = False
    account_scoped: bool = False
    review: Template | None = None  # loss brackets: the template of a review row


@dataclass(slots=True)
class CompiledPolicy:
    """Everything an engine needs to run one policy: constants, SQL pieces and evaluators."""

    policy: Policy
    tz: ZoneInfo
    windows: dict[tuple[int, str], tuple[Window, ...]]
    k: int
    rules: list[CompiledRule]
    dialect: Dialect = DUCKDB

    @property
    def nslots(self) -> int:
        return max((len(r.slots) for r in self.rules), default=0)

    def rule_windows_rows(self) -> list[tuple[object, ...]]:
        """Rows (ri, service, ws0, we0, ..., ws{K-1}, we{K-1}) of the constant windows table."""
        rows: list[tuple[object, ...]] = []
        for (ri, service), windows in sorted(self.windows.items()):
            bounds: list[int | None] = []
            for w in windows:
                bounds += [us(w.start), us(w.end)]
            bounds += [None] * (2 * self.k - len(bounds))
            rows.append((ri, service, *bounds))
        return rows

    def pieces(self) -> list[Piece]:
        """(start, end, duration) SQL of each clipped window piece; duration 0 when empty."""
        out = []
        for j in range(self.k):
            ps = f"greatest(ws{j}, s)"
            pe = f"least(we{j}, coalesce(e, {MAX_US}))"
            # greatest/least skip NULLs: an absent window must count as nothing.
            out.append((ps, pe, f"(CASE WHEN ws{j} IS NULL THEN 0 ELSE greatest({pe} - {ps}, 0) END)"))
        return out

    def eligibility(self, rule: CompiledRule) -> str:
        return eligibility_sql(rule.rule.when, self.dialect)

    def first_rule_sql(self) -> str:
        """The index of the first rule whose filter matches the subscription (or -1)."""
        whens = " ".join(f"WHEN {self.eligibility(r)} THEN {r.rule.index}" for r in self.rules)
        return f"(CASE {whens} ELSE -1 END)"

    def match_sql(self) -> str:
        whens = " ".join(f"WHEN {r.rule.index} THEN ({self.eligibility(r)})" for r in self.rules)
        return f"(CASE ri {whens} ELSE false END)"

    def counted_sql(self, ri: int) -> str:
        """Rule ``ri``'s counted outage of a subscription row (microseconds), with the windows
        written in as constants per service (no join with the windows table); 0 without any."""
        whens = []
        for (rule, service), windows in sorted(self.windows.items()):
            if rule != ri:
                continue
            pieces = [f"greatest(least({us(w.end)}, coalesce(e, {MAX_US})) - greatest({us(w.start)}, s), 0)"
                      for w in windows]
            whens.append(f"WHEN {self.dialect.text(service)} THEN {' + '.join(pieces)}")
        return f"(CASE service {' '.join(whens)} ELSE 0 END)" if whens else "0"

    def scoped_sql(self, ri: int) -> str:
        """The counted outage of account-scoped rule ``ri`` where its filter matches, else 0."""
        rule = next(r for r in self.rules if r.rule.index == ri)
        return f"(CASE WHEN {self.eligibility(rule)} THEN {self.counted_sql(ri)} ELSE 0 END)"

    def affected_sql(self) -> str:
        """Whether the subscription row is affected under this policy: the first rule whose
        filter matches it counts some outage (the reference's exposure with windows)."""
        services = sorted({service for _, service in self.windows})
        if not services:
            return "false"
        whens = " ".join(f"WHEN {self.eligibility(r)} THEN {self.counted_sql(r.rule.index)}"
                         for r in self.rules)
        # Rows of a service without windows are not affected: one test spares them the rules.
        return f"(service IN {in_list(services, self.dialect)} AND (CASE {whens} ELSE 0 END) > 0)"

    def slot_sql(self, i: int) -> str:
        whens = " ".join(f"WHEN {r.rule.index} THEN ({r.slots[i]})" for r in self.rules
                         if len(r.slots) > i)
        return f"CAST((CASE ri {whens} ELSE -1 END) AS BIGINT)" if whens else "CAST(-1 AS BIGINT)"
