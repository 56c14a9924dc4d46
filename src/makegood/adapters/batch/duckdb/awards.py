"""Each policy's awards: the distinct keys priced in Python, joined back, then the caps."""

from __future__ import annotations

from decimal import Decimal

import pyarrow as pa

from makegood.adapters.batch.duckdb.inputs import first
from makegood.adapters.batch.duckdb.ledger import rank_of
from makegood.adapters.batch.duckdb.state import RunState
from makegood.adapters.batch.plan import DUCKDB, CompiledPolicy, CompiledRule
from makegood.adapters.batch.plan.awards_sql import (
    AMOUNT,
    account_cap,
    int_list,
    loss_award,
    money,
    pair_amount,
    price_keys,
    template_case,
)
from makegood.adapters.ledger import format_decimal
from makegood.domain.awards import AwardKind
from makegood.domain.policy import Policy
from makegood.domain.rules import LossBrackets


class Awards(RunState):
    """Pricing and capping, policy by policy, into the ``awards`` table."""

    def _policy(self, cp: CompiledPolicy, pi: int) -> Decimal:
        con = self.con
        nslots = cp.nslots
        caps = cp.policy.caps
        # A policy with caps gathers its awards in ``pawards`` to cap them; one without writes
        # them into ``awards`` directly (tens of millions of rows are not copied twice).
        capped = (any(r.rule.cap is not None for r in cp.rules) or caps.per_account is not None
                  or caps.fund_available is not None)
        self.target = "pawards" if capped else "awards"
        con.execute("CREATE OR REPLACE TEMP TABLE pawards AS SELECT * FROM awards LIMIT 0")
        subscription_rules = [r for r in cp.rules if not r.account_scoped]
        if subscription_rules:
            self._subscription_awards(cp, subscription_rules, nslots)
        for rule in cp.rules:
            if rule.account_scoped:
                self._account_awards(rule, pi)
        self._rule_caps(cp)
        if cp.policy.caps.per_account is not None:
            self._account_cap(cp.policy.caps.per_account)
        factor = self._fund_cap(cp.policy)
        if capped:
            con.execute("INSERT INTO awards SELECT * FROM pawards")
        con.execute("DROP TABLE pawards")
        return factor

    def _subscription_awards(self, cp: CompiledPolicy, rules: list[CompiledRule], nslots: int) -> None:
        con = self.con
        xs = [f"x{i}" for i in range(nslots)]
        priced = [r for r in rules if r.evaluate is not None]
        con.execute(f"CREATE OR REPLACE TEMP TABLE lk (ri INTEGER, fk VARCHAR, bk VARCHAR, "
                    f"{''.join(f'{x} BIGINT, ' for x in xs)}amount VARCHAR)")
        if priced:
            fee_rules = [r.rule.index for r in priced if r.needs_fee] or [-1]
            keys = con.execute(f"""
                SELECT DISTINCT ri, CASE WHEN ri IN {int_list(fee_rules)} THEN fee_text ELSE '' END,
                    CASE WHEN ri IN {int_list(fee_rules)} THEN bp ELSE '' END {''.join(', ' + x for x in xs)}
                FROM pairs WHERE ri IN {int_list([r.rule.index for r in priced])}""").fetchall()
            out = price_keys(priced, keys)
            if out:
                table = pa.table({name: [row[i] for row in out]
                                  for i, name in enumerate(["ri", "fk", "bk", *xs, "amount"])})
                con.register("lk_rows", table)
                con.execute("INSERT INTO lk SELECT * FROM lk_rows")
                con.unregister("lk_rows")
        tk_of = {r.rule.index: self._template(r.template) for r in rules}
        fee_rules = [r.rule.index for r in priced if r.needs_fee] or [-1]
        join_on = " AND ".join([
            "lk.ri = p.ri",
            f"lk.fk = CASE WHEN p.ri IN {int_list(fee_rules)} THEN p.fee_text ELSE '' END",
            f"lk.bk = CASE WHEN p.ri IN {int_list(fee_rules)} THEN p.bp ELSE '' END",
            *[f"lk.{x} = p.{x}" for x in xs]])
        con.execute(f"""
            INSERT INTO {self.target}
            SELECT * FROM (
                SELECT p.pos, p.aid, p.sid, p.segment, p.service, {template_case(tk_of)} AS tk, p.ri,
                    p.counted_us // 1000000 AS counted_s, {pair_amount(rules, DUCKDB)} AS amount,
                    0 AS flags
                FROM pairs p LEFT JOIN lk ON {join_on}
                WHERE p.ri IN {int_list(list(tk_of))}
            ) WHERE amount IS NOT NULL""")
        con.execute("DROP TABLE lk")

    def _account_awards(self, rule: CompiledRule, pi: int) -> None:
        con = self.con
        ri = rule.rule.index
        # The account's lowest subscription id: picked off the input in ledger order, or else
        # found by grouping the rule's pairs by account.
        if self.streamed:
            chosen = f"""
                SELECT aid, pos, sid, CAST(segment AS mg_segment) AS segment, service,
                    counted_us // 1000000 AS counted_s
                FROM picked WHERE k = {self.scoped[(pi, ri)]}"""
        else:
            chosen = f"""
                SELECT aid, arg_min(pos, sid) AS pos, min(sid) AS sid, arg_min(segment, sid) AS segment,
                    arg_min(service, sid) AS service, arg_min(counted_us, sid) // 1000000 AS counted_s
                FROM pairs WHERE ri = {ri} GROUP BY aid"""
        tk = self._template(rule.template)
        if rule.constant is not None:
            con.execute(f"""INSERT INTO {self.target} SELECT pos, aid, sid, segment, service, {tk}, {ri},
                counted_s, {money(rule.constant, DUCKDB)}, 0
                FROM ({chosen})""")
            return
        assert isinstance(rule.rule, LossBrackets)
        assert rule.review is not None
        con.execute(f"INSERT INTO {self.target} " + loss_award(
            rule.rule, tk=tk, review=self._template(rule.review), d=DUCKDB, chosen=chosen,
            columns=("pos", "aid", "sid", "segment", "service")))

    def _rule_caps(self, cp: CompiledPolicy) -> None:
        capped = [(i, r.rule.cap) for r in cp.rules if r.rule.cap is not None
                  for i, t in enumerate(self.templates)
                  if t.is_money and t.policy_id == cp.policy.id and t.rule_index == r.rule.index]
        for tk, cap in capped:
            assert cap is not None
            value = money(cap, DUCKDB)
            self.con.execute(f"UPDATE pawards SET amount = {value}, flags = flags | 1 "
                             f"WHERE tk = {tk} AND amount > {value}")

    def _account_cap(self, cap: Decimal) -> None:
        money_tks = self._money_tks_current()
        if not money_tks:
            return
        self.con.execute("CREATE OR REPLACE TEMP TABLE pawards AS " + account_cap(
            "pawards", columns=("pos", "aid", "sid", "segment", "service", "tk", "ri", "counted_s"),
            cap=cap, money_tks=money_tks, d=DUCKDB))

    def _money_tks_current(self) -> list[int]:
        rows = self.con.execute("SELECT DISTINCT tk FROM pawards").fetchall()
        return [tk for tk, in rows if self.templates[tk].is_money]

    def _fund_cap(self, policy: Policy) -> Decimal:
        available = policy.caps.fund_available
        if available is None:
            return Decimal(1)
        cash = [tk for tk, in self.con.execute("SELECT DISTINCT tk FROM pawards").fetchall()
                if self.templates[tk].kind == AwardKind.CASH.value]
        if not cash:
            return Decimal(1)
        total, = first(self.con, f"SELECT sum(amount) FROM pawards WHERE tk IN {int_list(cash)}"
                                  ) or (None,)
        owed = Decimal(0) + (total or 0)
        if owed <= available:
            return Decimal(1)
        factor = available / owed
        amounts = [a for a, in self.con.execute(
            f"SELECT DISTINCT amount FROM pawards WHERE tk IN {int_list(cash)}").fetchall()]
        rounding = policy.caps.fund_rounding
        scaled = pa.table({"old": [format_decimal(Decimal(a)) for a in amounts],
                           "new": [format_decimal(rounding.apply(Decimal(a) * factor)) for a in amounts]})
        self.con.register("fund_rows", scaled)
        self.con.execute(f"""
            UPDATE pawards SET amount = CAST(f.new AS {AMOUNT}), flags = flags | 4
            FROM fund_rows f WHERE pawards.tk IN {int_list(cash)}
                AND pawards.amount = CAST(f.old AS {AMOUNT})""")
        self.con.unregister("fund_rows")
        return factor

    def _templates_table(self) -> None:
        rank = rank_of(self.templates)
        table = pa.table({
            "tk": list(range(len(self.templates))),
            "policy_id": [t.policy_id for t in self.templates],
            "rule_id": [t.rule_id for t in self.templates],
            "kind": [t.kind for t in self.templates],
            "unit": [t.unit for t in self.templates],
            "currency": pa.array([t.currency for t in self.templates], pa.string()),
            "code": [t.code for t in self.templates],
            "prank": rank,
        }, schema=pa.schema([("tk", pa.int32()), ("policy_id", pa.string()),
                             ("rule_id", pa.string()), ("kind", pa.string()),
                             ("unit", pa.string()), ("currency", pa.string()),
                             ("code", pa.string()), ("prank", pa.int32())]))
        self.con.register("templates_rows", table)
        self.con.execute("CREATE TABLE templates AS SELECT * FROM templates_rows")
        self.con.unregister("templates_rows")
