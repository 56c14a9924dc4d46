"""The award steps every engine runs on the plan's pairs, written once: pricing the distinct
keys, each pair's template and amount, the account-scoped loss brackets and the per-account cap.

The engines differ only in how they run a statement (DuckDB inserts into tables, Spark returns
DataFrames) and in which columns they carry (DuckDB keeps the input position ``pos``); the SQL
text and the Python pricing come from here, in the engine's :class:`Dialect`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any, cast

from makegood.adapters.batch.plan.compiled import CompiledRule
from makegood.adapters.batch.plan.expr import Dialect
from makegood.adapters.ledger import format_decimal
from makegood.domain.accounts import monthly_fee
from makegood.domain.rules import LossBrackets

AMOUNT = "DECIMAL(38, 10)"  # the awards' amount column in both engines


def int_list(values: Sequence[int]) -> str:
    """``(1, 2)``; ``(NULL)`` for none (``x IN (NULL)`` holds for no row)."""
    return "(" + ", ".join(str(v) for v in values) + ")" if values else "(NULL)"


def money(value: Decimal, d: Dialect) -> str:
    """An exact amount as a SQL decimal."""
    return f"CAST({d.text(format_decimal(value))} AS {AMOUNT})"


def price_keys(priced: Sequence[CompiledRule], keys: Iterable[Sequence[Any]]
               ) -> list[tuple[Any, ...]]:
    """Each distinct (rule, fee, billing period, slots...) key with its amount as text (``None``
    where the rule gives nothing), by the rule's own Decimal arithmetic; fees are turned into
    monthly fees once per (fee, billing period)."""
    by_index = {r.rule.index: r for r in priced}
    fees: dict[tuple[Any, Any], Fraction] = {}
    out: list[tuple[Any, ...]] = []
    for ri, fee_text, bp, *slot_values in keys:
        rule = by_index[ri]
        assert rule.evaluate is not None
        fee = Fraction(0)
        if rule.needs_fee:
            fee = fees.get((fee_text, bp)) or fees.setdefault(
                (fee_text, bp), monthly_fee(Decimal(fee_text), bp))
        amount = rule.evaluate(fee, cast(tuple[int, ...], tuple(slot_values[: len(rule.slots)])))
        out.append((ri, fee_text, bp, *slot_values,
                    None if amount is None else format_decimal(amount)))
    return out


def template_case(tk_of: Mapping[int, int]) -> str:
    """The pair's award template by its rule: ``CASE p.ri WHEN 0 THEN 3 ... END``."""
    return "CASE p.ri " + " ".join(f"WHEN {ri} THEN {tk}" for ri, tk in tk_of.items()) + " END"


def pair_amount(rules: Sequence[CompiledRule], d: Dialect) -> str:
    """The pair's amount: the rule's constant, or the priced key joined in as ``lk``."""
    consts = " ".join(f"WHEN {r.rule.index} THEN {money(r.constant, d)}"
                      for r in rules if r.constant is not None)
    priced = f"CAST(lk.amount AS {AMOUNT})"
    return f"CASE p.ri {consts} ELSE {priced} END" if consts else priced


def losses(rule: LossBrackets) -> str:
    """``(aid, loss)`` per account: reported, or the best comparison week's sales less the
    outage week's."""
    if rule.source == "reported":
        return "SELECT aid, loss FROM losses"
    return f"""
        SELECT aid, max(amount) FILTER (WHERE week BETWEEN DATE '{rule.baseline_from}'
            AND DATE '{rule.baseline_to}') - max(amount) FILTER (WHERE week =
            DATE '{rule.outage_week}') AS loss
        FROM sales GROUP BY aid"""


def loss_award(rule: LossBrackets, *, tk: int, review: int, d: Dialect,
               chosen: str, columns: Sequence[str]) -> str:
    """The loss brackets' awards of the accounts in ``chosen`` (their subscription picked; with
    ``columns`` and ``counted_s``): the bracket's amount, or the whole loss for review above
    the top bracket; nothing without a loss."""
    brackets = " ".join(f"WHEN l.loss <= {money(b.up_to, d)} THEN {money(b.amount, d)}"
                        for b in rule.brackets)
    top = money(rule.brackets[-1].up_to, d)
    picked = ", ".join(f"c.{c}" for c in columns)
    return f"""
        SELECT {picked}, CASE WHEN l.loss <= {top} THEN {tk} ELSE {review} END AS tk,
            {rule.index} AS ri, c.counted_s,
            CAST(CASE {brackets} ELSE l.loss END AS {AMOUNT}) AS amount, 0 AS flags
        FROM ({chosen}) c JOIN ({losses(rule)}) l ON l.aid = c.aid
        WHERE l.loss > 0"""


def account_cap(source: str, *, columns: Sequence[str], cap: Decimal, money_tks: Sequence[int],
                d: Dialect) -> str:
    """The per-account cap over the awards in ``source``: money awards in (rule, service,
    subscription) order take what room is left; the first past the cap is cut (flag 2), the
    rest dropped; other awards pass through. ``columns`` are the awards' columns before
    ``amount`` and ``flags``."""
    value = money(cap, d)
    keep = ", ".join(columns)
    return f"""
        SELECT {keep},
            CAST(CASE WHEN amount > room THEN room ELSE amount END AS {AMOUNT}) AS amount,
            CASE WHEN amount > room THEN flags | 2 ELSE flags END AS flags
        FROM (
            SELECT *, {value} - least(coalesce(sum(amount) OVER (PARTITION BY aid ORDER BY ri,
                service, sid ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0), {value}) AS room
            FROM {source} WHERE tk IN {int_list(money_tks)}
        ) WHERE least(amount, room) > 0
        UNION ALL
        SELECT {keep}, amount, flags FROM {source} WHERE tk NOT IN {int_list(money_tks)}"""
