"""The one batch plan: a policy and an incident compiled once, run by every batch engine.

The reference (``domain/compensation.py`` + ``domain/rules/``) is the truth; the plan says the
same things in SQL that DuckDB and Spark both run, split where each part is exact:

* **Time in SQL, as integers.** The incident's merged windows for each (rule, service) are
  constants (at most ``k`` per pair); clipping them to a subscription period, the counted and
  the longest outage, triggers, the multiplied and rounded durations, the split of the outage
  by local calendar month (SLA tiers), the end of a grace period in working or calendar days and
  the local days after it (per-day rules), all become integer arithmetic on epoch microseconds.
  Local days and months are computed by :mod:`makegood.domain.local_calendar` (the reference's
  own functions) and enter the SQL as constants (``CASE`` chains over a handful of bounds).
* **Money in Python, once per distinct key.** Every money amount is a function of the
  subscription's fee and billing period and a few of the integers above (days in the month,
  rounded seconds, tier per month, compensable days per step). The engine collects the distinct
  keys with SQL, evaluates each once with ``Decimal`` through the rule's own methods, exactly as
  the reference does, and joins the amounts back. There are a few dozen keys for millions of
  rows, so this costs nothing and cannot drift from the reference's rounding.

Each compiled rule produces, per (subscription, rule) pair, up to ``nslots`` integer slots
(``x0`` ...) that, with the fee, determine the award; ``CompiledRule.evaluate`` turns (fee,
slots) into the amount. The SQL is written in a :class:`Dialect` (:data:`DUCKDB` or
:data:`SPARK`: integer division, the wide integer type and string literals differ).

What an engine does with the plan (:class:`CompiledPolicy`):

1. join the subscriptions (columns ``service``, ``plan``, ``paid``, ``channel``, ``segment``,
   ``s``, ``e`` in epoch microseconds, ``e`` NULL for no end) with the constant table
   :meth:`~CompiledPolicy.rule_windows_rows` on the service, keep the rows where
   :meth:`~CompiledPolicy.match_sql` holds, compute ``counted_us`` (the sum of the
   :meth:`~CompiledPolicy.pieces` durations) and ``longest_us`` (their greatest), keep
   ``counted_us > 0``, and compute the slots (:meth:`~CompiledPolicy.slot_sql`);
2. price the distinct (rule, fee, billing period, slots) keys with ``evaluate`` (constants for
   the rules that have one) and join them back; account-scoped rules (goodwill, loss brackets)
   take the account's lowest matching subscription id with some outage;
3. apply the rule caps, the per-account cap and the fund cap as the reference does.
"""

from __future__ import annotations

from makegood.adapters.batch.plan.compiled import (
    REVIEW,
    CompiledPolicy,
    CompiledRule,
    Evaluator,
    Piece,
    Template,
)
from makegood.adapters.batch.plan.compiler import compile_policy, day_ordinal_sql, grace_ends
from makegood.adapters.batch.plan.expr import (
    DAY_US,
    DUCKDB,
    EPOCH,
    MAX_US,
    SPARK,
    US,
    Dialect,
    case_chain,
    eligibility_sql,
    in_list,
    round_units,
    times,
    us,
)

__all__ = [
    "DAY_US", "DUCKDB", "EPOCH", "MAX_US", "REVIEW", "SPARK", "US", "CompiledPolicy", "CompiledRule",
    "Dialect", "Evaluator", "Piece", "Template", "case_chain", "compile_policy", "day_ordinal_sql",
    "eligibility_sql", "grace_ends", "in_list", "round_units", "times", "us",
]
