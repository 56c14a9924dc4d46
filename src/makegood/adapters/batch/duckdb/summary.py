"""What a run reports beside its ledger: the summary and the side-by-side comparison."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal, localcontext
from typing import Any

import duckdb

from makegood.adapters.batch.duckdb.inputs import first
from makegood.adapters.batch.duckdb.ledger import Ledger
from makegood.adapters.batch.streams import LedgerTally
from makegood.adapters.ledger import format_decimal
from makegood.domain.accounts import Segment
from makegood.domain.awards import AwardKind


class Summary(Ledger):
    """The summary of a run's ledger (tallied while it was written) and the comparison."""

    def comparison(self) -> dict[str, Any]:
        """What ``makegood policy compare`` shows: awarded accounts, totals, cash per account."""
        con = self.con
        con.execute(f"CREATE OR REPLACE TEMP VIEW ledger AS {self.LEDGER_SQL}")
        accounts, = first(con, "SELECT count(DISTINCT account_id) FROM ledger") or (0,)
        by_kind = {(k, u): v for k, u, v in con.execute(
            "SELECT kind, unit, sum(amount) FROM ledger GROUP BY ALL ORDER BY ALL").fetchall()}
        by_service = {(s, k, u): v for s, k, u, v in con.execute(
            "SELECT service, kind, unit, sum(amount) FROM ledger GROUP BY ALL ORDER BY ALL").fetchall()}
        kinds = tuple(k.value for k in (AwardKind.CREDIT, AwardKind.REFUND, AwardKind.CASH))
        row = first(con, f"""
            SELECT count(*), min(m), quantile_disc(m, 0.5), quantile_disc(m, 0.9),
                quantile_disc(m, 0.99), max(m), sum(m)
            FROM (SELECT account_id, currency, sum(amount) AS m FROM ledger
                  WHERE currency IS NOT NULL AND kind IN {kinds} GROUP BY account_id, currency)""")
        names = ("accounts", "min", "p50", "p90", "p99", "max", "total")
        money = dict(zip(names, row, strict=True)) if row else {}
        return {"accounts_awarded": accounts, "by_kind": by_kind, "by_service": by_service,
                "money_per_account": money}

    @staticmethod
    def _bits(combos: Sequence[tuple[str, str, int, int, Decimal]]) -> dict[tuple[str, int], int]:
        """A bit for each (service, template) pair awarded."""
        pairs = sorted({(service, tk) for service, _, tk, _, _ in combos})
        return {pair: i for i, pair in enumerate(pairs)}

    def tally(self) -> LedgerTally:
        """A :class:`LedgerTally` for this run's services and templates."""
        return LedgerTally(self.services, sorted(s.value for s in Segment), len(self.templates))

    def summary(self, tally: LedgerTally) -> dict[str, Any]:
        """As :func:`makegood.adapters.ledger.summarize`, from ``tally`` (counted while the
        ledger was written).

        Awards and totals per (service, segment, template) come from the tally. Distinct
        accounts per group come from each account's segment and the *set* of (service,
        template) combinations it was awarded, as a bit mask: from the tally too, or, when it
        ran out of bits, from one aggregation by account in SQL; the few distinct (segment,
        mask) pairs are then expanded in Python into every grouping. This replaces one hash
        aggregation by account per grouping.
        """
        con = self.con
        combos = tally.combos()
        mask_rows: Sequence[tuple[str, int, int]]
        if not tally.overflow:
            bit, mask_rows = tally.bits(), tally.mask_rows()
        else:
            bit = self._bits(combos)
            if len(bit) > 128:
                return self._summary_by_group(con)
            lut = [bit.get((service, tk), 0) for service in self.services
                   for tk in range(len(self.templates))]
            index = (f"([{', '.join(map(str, lut))}])[enum_code(service) * {len(self.templates)} + tk + 1]"
                     if lut else "0")
            mask_rows = con.execute(f"""
                SELECT segment, mask, count(*) FROM (
                    SELECT any_value(segment) AS segment,
                        bit_or(CAST(1 AS UHUGEINT) << CAST({index} AS UHUGEINT)) AS mask
                    FROM awards GROUP BY aid)
                GROUP BY ALL""").fetchall()
        t = self.templates
        groupings: dict[str, dict[tuple[Any, ...], list[Any]]] = {
            name: {} for name in ("by_service", "by_rule", "by_kind", "by_segment")}

        def keys(service: str, segment: str, tk: int) -> list[tuple[str, tuple[Any, ...]]]:
            kind, unit = t[tk].kind, t[tk].unit
            return [("by_service", (service, kind, unit)),
                    ("by_rule", (t[tk].policy_id, t[tk].rule_id, kind, unit)),
                    ("by_kind", (kind, unit)), ("by_segment", (segment, kind, unit))]

        money: dict[str, Decimal] = {}
        review: dict[str, Decimal] = {}
        awards = 0
        with localcontext(prec=80):
            for service, segment, tk, n, total in combos:
                awards += n
                for name, key in keys(service, segment, tk):
                    entry = groupings[name].setdefault(key, [0, 0, Decimal(0)])
                    entry[0] += n
                    entry[2] += total
                currency = t[tk].currency
                if currency is not None:
                    target = review if t[tk].kind == AwardKind.REVIEW.value else money
                    target[currency] = target.get(currency, Decimal(0)) + total
        accounts = 0
        for segment, mask, n in mask_rows:
            accounts += n
            seen: set[tuple[str, tuple[Any, ...]]] = set()
            for (service, tk), i in bit.items():
                if mask >> i & 1:
                    seen.update(keys(service, segment, tk))
            for name, key in seen:
                groupings[name][key][1] += n
        names = {"by_service": ["service"], "by_rule": ["policy_id", "rule_id"], "by_kind": [],
                 "by_segment": ["segment"]}

        def rows(name: str) -> list[dict[str, Any]]:
            cols = [*names[name], "kind", "unit"]
            return [{**dict(zip(cols, key, strict=True)), "awards": n, "accounts": accts,
                     "total": format_decimal(total)}
                    for key, (n, accts, total) in sorted(groupings[name].items())]

        return {
            "accounts_awarded": accounts,
            "awards": awards,
            "liability": {c: format_decimal(v) for c, v in sorted(money.items())},
            "under_review": {c: format_decimal(v) for c, v in sorted(review.items())},
            **{name: rows(name) for name in names},
        }

    def _summary_by_group(self, con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
        """The summary by one aggregation per grouping (when the bit masks would not fit)."""
        con.execute("""CREATE OR REPLACE TEMP TABLE per_account AS
            SELECT a.aid, a.service, a.segment, a.tk, count(*) AS n,
                sum(CAST(a.amount AS DECIMAL(24, 6))) AS total
            FROM awards a GROUP BY a.aid, a.service, a.segment, a.tk""")
        con.execute("""CREATE OR REPLACE TEMP VIEW pa AS SELECT p.*, t.policy_id, t.rule_id, t.kind,
            t.unit, t.currency FROM per_account p JOIN templates t ON t.tk = p.tk""")

        def group(keys: list[str]) -> list[dict[str, Any]]:
            cols = ", ".join([*keys, "kind", "unit"])
            rows = con.execute(f"""
                SELECT {cols}, sum(n), count(*), sum(total) FROM (
                    SELECT {cols}, aid, sum(n) AS n, sum(total) AS total FROM pa
                    GROUP BY {cols}, aid)
                GROUP BY {cols} ORDER BY {cols}""").fetchall()
            return [{**{k: r[i] for i, k in enumerate(keys)}, "kind": r[len(keys)],
                     "unit": r[len(keys) + 1], "awards": int(r[-3]), "accounts": r[-2],
                     "total": format_decimal(r[-1])} for r in rows]

        accounts, awards = first(con, "SELECT count(DISTINCT aid), coalesce(sum(n), 0) FROM per_account"
                                 ) or (0, 0)
        money: dict[str, Decimal] = {}
        review: dict[str, Decimal] = {}
        for currency, kind, total in con.execute(
                "SELECT currency, kind, sum(total) FROM pa WHERE currency IS NOT NULL "
                "GROUP BY currency, kind").fetchall():
            target = review if kind == AwardKind.REVIEW.value else money
            target[currency] = target.get(currency, Decimal(0)) + total
        return {
            "accounts_awarded": accounts,
            "awards": int(awards),
            "liability": {c: format_decimal(v) for c, v in sorted(money.items())},
            "under_review": {c: format_decimal(v) for c, v in sorted(review.items())},
            "by_service": group(["service"]),
            "by_rule": group(["policy_id", "rule_id"]),
            "by_kind": group([]),
            "by_segment": group(["segment"]),
        }
