"""SQL text for the batch plan: integer time, rounding, CASE chains, eligibility, in a dialect.

The plan writes plain SQL expressions (``CASE``, ``greatest``, ``least``, ``coalesce``,
comparisons, ``+ - * %``) that DuckDB and Spark SQL read alike; the few places where they
differ (integer division, the wide integer type, string literals) go through a
:class:`Dialect`. Time is integer microseconds since the epoch (UTC) throughout.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from makegood.domain.rules import Eligibility

US = 1_000_000
DAY_US = 86_400 * US
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_US = 9_223_372_036_854_775_807  # "no end": later than any window


@dataclass(frozen=True, slots=True)
class Dialect:
    """Where the SQL of the engines differs.

    ``wide``: an integer type wide enough for products of microsecond counts (DuckDB ``HUGEINT``,
    Spark ``DECIMAL(38, 0)``); ``floordiv``: integer division of non-negative integers (DuckDB
    ``a // b``, Spark ``a div b``); ``escape``: how a single quote is written inside a string
    literal (``''`` in DuckDB, ``\\'`` in Spark SQL).
    """

    name: str
    wide: str
    floordiv: str
    escape: str

    def div(self, a: str, b: int | str) -> str:
        return f"(({a}) {self.floordiv} {b})"

    def text(self, value: str) -> str:
        """A SQL string literal."""
        if self.escape != "''":
            value = value.replace("\\", "\\\\")
        return "'" + value.replace("'", self.escape) + "'"


DUCKDB = Dialect("duckdb", wide="HUGEINT", floordiv="//", escape="''")
SPARK = Dialect("spark", wide="DECIMAL(38, 0)", floordiv="div", escape="\\'")


def us(instant: datetime) -> int:
    """Microseconds since the epoch of an aware instant (exact; no float)."""
    delta = instant - EPOCH
    return (delta.days * 86_400 + delta.seconds) * US + delta.microseconds


def round_units(x: str, unit: int, mode: str, d: Dialect = DUCKDB) -> str:
    """``x`` (a non-negative integer expression) in whole ``unit``s, as ``TimeRounding.units``."""
    if mode == "up":
        return d.div(f"({x}) + {unit - 1}", unit)
    if mode == "down":
        return d.div(x, unit)
    if mode == "half_up":
        return d.div(f"2 * ({x}) + {unit}", 2 * unit)
    q, r = d.div(x, unit), f"(({x}) % {unit})"
    return (f"(CASE WHEN 2 * {r} > {unit} THEN {q} + 1 WHEN 2 * {r} < {unit} THEN {q} "
            f"ELSE {q} + {q} % 2 END)")


def times(x: str, factor: Decimal, d: Dialect = DUCKDB) -> str:
    """``int(Decimal(x) * factor)`` for a non-negative integer ``x``: exact integer arithmetic."""
    num, den = factor.as_integer_ratio()
    if den == 1:
        return f"(CAST({x} AS {d.wide}) * {num})"
    return d.div(f"CAST({x} AS {d.wide}) * {num}", den)


def case_chain(value: str, bounds: Sequence[tuple[int, str]], default: str, op: str = "<") -> str:
    """``CASE WHEN value <op> b1 THEN r1 ... ELSE default END``."""
    if not bounds:
        return default
    whens = " ".join(f"WHEN {value} {op} {b} THEN {r}" for b, r in bounds)
    return f"(CASE {whens} ELSE {default} END)"


def in_list(values: Sequence[str], d: Dialect = DUCKDB) -> str:
    return "(" + ", ".join(d.text(v) for v in values) + ")"


def eligibility_sql(when: Eligibility, d: Dialect = DUCKDB) -> str:
    """The rule's filter over the columns ``service``, ``plan``, ``paid``, ``channel``, ``segment``."""
    parts = []
    if when.services:
        parts.append(f"service IN {in_list(when.services, d)}")
    if when.plans:
        parts.append(f"plan IN {in_list(when.plans, d)}")
    if when.paid is not None:
        parts.append("paid" if when.paid else "NOT paid")
    if when.channels:
        parts.append(f"channel IN {in_list([c.value for c in when.channels], d)}")
    if when.segments:
        parts.append(f"segment IN {in_list([s.value for s in when.segments], d)}")
    return " AND ".join(parts) if parts else "true"
