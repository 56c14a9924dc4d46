"""The compiled plan (:mod:`makegood.adapters.batch.plan`) run as Spark SQL.

Nothing here knows a rule kind. The plan's SQL (time as integer arithmetic over the ``subs``
view, compiled in the plan's Spark dialect: ``div`` for integer division, ``DECIMAL(38, 0)`` as
the wide integer) is joined to the windows table as the DuckDB engine joins it, and the plan's
evaluators price each distinct
(rule, fee, billing period, slots) key on the driver with ``Decimal``, exactly as the DuckDB
engine prices it; the amounts are joined back. The caps are applied as the DuckDB engine
applies them: a rule cap, the per-account running sum in (rule, service, subscription) order,
and the pro-rata fund factor computed on the driver from the exact total.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import types as T

from makegood.adapters.batch.plan import SPARK, CompiledPolicy, CompiledRule, Template
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

AWARD_COLUMNS = "aid, sid, segment, service, tk, ri, counted_s, amount, flags"


def _by_policy(exprs: Sequence[str]) -> str:
    if len(exprs) == 1:
        return exprs[0]
    return "(CASE pi " + " ".join(f"WHEN {i} THEN ({e})" for i, e in enumerate(exprs)) + " END)"


def pairs_sql(compiled: Sequence[CompiledPolicy]) -> str:
    """Every matching (subscription, policy, rule) with some outage: its counted outage and the
    integer slots of its rule (over ``subs`` and the windows table ``rw``; ``compiled`` in the
    Spark dialect)."""
    k = max((cp.k for cp in compiled), default=1)
    nslots = max((cp.nslots for cp in compiled), default=0)
    counted, longest = [], []
    for cp in compiled:
        durations = [d for _, _, d in cp.pieces()]
        counted.append(" + ".join(durations))
        longest.append(f"greatest({', '.join(durations)})" if len(durations) > 1 else durations[0])
    slots = "".join(
        ", " + _by_policy([cp.slot_sql(i) if i < cp.nslots else "CAST(-1 AS BIGINT)" for cp in compiled])
        + f" AS x{i}" for i in range(nslots))
    wcols = ", ".join(f"rw.ws{j}, rw.we{j}" for j in range(k))
    return f"""
        SELECT aid, sid, segment, service, fee_text, bp, pi, ri, is_first, counted_us{slots}
        FROM (
            SELECT *, {_by_policy(counted)} AS counted_us, {_by_policy(longest)} AS longest_us,
                {_by_policy([cp.first_rule_sql() for cp in compiled])} = ri AS is_first FROM (
                SELECT sub.*, rw.pi, rw.ri, {wcols}
                FROM subs sub JOIN rw ON rw.service = sub.service
            ) WHERE {_by_policy([cp.match_sql() for cp in compiled])}
        ) WHERE counted_us > 0"""


def windows_frame(spark: SparkSession, compiled: Sequence[CompiledPolicy]) -> DataFrame:
    """The small constant table ``rw`` of every policy's rule windows (policy, rule, service)."""
    k = max((cp.k for cp in compiled), default=1)
    fields = [T.StructField("pi", T.IntegerType()), T.StructField("ri", T.IntegerType()),
              T.StructField("service", T.StringType())]
    for j in range(k):
        fields += [T.StructField(f"ws{j}", T.LongType()), T.StructField(f"we{j}", T.LongType())]
    rows = [(pi, *row, *([None] * (2 * (k - cp.k))))
            for pi, cp in enumerate(compiled) for row in cp.rule_windows_rows()]
    return spark.createDataFrame(rows, T.StructType(fields))


@dataclass(slots=True)
class Awards:
    """The run's templates and, per policy, a DataFrame of awards (:data:`AWARD_COLUMNS`)."""

    templates: list[Template] = field(default_factory=list)
    fund_factors: dict[str, str] = field(default_factory=dict)
    cached: list[DataFrame] = field(default_factory=list)

    def template(self, template: Template) -> int:
        self.templates.append(template)
        return len(self.templates) - 1


def policy_awards(spark: SparkSession, cp: CompiledPolicy, pi: int, run: Awards) -> DataFrame:
    """One policy's awards, capped (``pairs`` must hold this run's pairs)."""
    parts = []
    subscription_rules = [r for r in cp.rules if not r.account_scoped]
    if subscription_rules:
        parts.append(_subscription_awards(spark, cp, pi, subscription_rules, run))
    for rule in cp.rules:
        if rule.account_scoped:
            parts.append(_account_awards(spark, rule, pi, run))
    awards = parts[0]
    for part in parts[1:]:
        awards = awards.unionByName(part)
    awards = _rule_caps(awards, cp, run)
    if cp.policy.caps.per_account is not None:
        awards = _account_cap(awards, cp.policy.caps.per_account, cp, run)
    return _fund_cap(spark, awards, cp.policy, run)


def _subscription_awards(spark: SparkSession, cp: CompiledPolicy, pi: int, rules: list[CompiledRule],
                         run: Awards) -> DataFrame:
    xs = [f"x{i}" for i in range(cp.nslots)]
    priced = [r for r in rules if r.evaluate is not None]
    fee_rules = int_list([r.rule.index for r in priced if r.needs_fee])

    def fee_key(column: str, alias: str = "") -> str:
        """The fee or billing period where the rule needs it, else '' (a key without fee)."""
        return f"CASE WHEN {alias}ri IN {fee_rules} THEN {alias}{column} ELSE '' END"

    schema = T.StructType([T.StructField("ri", T.IntegerType()), T.StructField("fk", T.StringType()),
                           T.StructField("bk", T.StringType()),
                           *[T.StructField(x, T.LongType()) for x in xs],
                           T.StructField("amount", T.StringType())])
    out: list[tuple[object, ...]] = []
    if priced:
        slots = "".join(", " + x for x in xs)
        keys = spark.sql(f"""SELECT DISTINCT ri, {fee_key('fee_text')} AS fk, {fee_key('bp')} AS bk{slots}
            FROM pairs WHERE pi = {pi} AND ri IN {int_list([r.rule.index for r in priced])}""").collect()
        out = price_keys(priced, [tuple(key) for key in keys])
    spark.createDataFrame(out, schema).createOrReplaceTempView(f"lk_{pi}")
    tk_of = {r.rule.index: run.template(r.template) for r in rules}
    join_on = " AND ".join(["lk.ri = p.ri", f"lk.fk = {fee_key('fee_text', 'p.')}",
                            f"lk.bk = {fee_key('bp', 'p.')}", *[f"lk.{x} = p.{x}" for x in xs]])
    return spark.sql(f"""
        SELECT * FROM (
            SELECT p.aid, p.sid, p.segment, p.service, {template_case(tk_of)} AS tk, p.ri,
                p.counted_us DIV 1000000 AS counted_s, {pair_amount(rules, SPARK)} AS amount,
                0 AS flags
            FROM pairs p LEFT JOIN lk_{pi} lk ON {join_on}
            WHERE p.pi = {pi} AND p.ri IN {int_list(list(tk_of))}
        ) WHERE amount IS NOT NULL""")


def _account_awards(spark: SparkSession, rule: CompiledRule, pi: int, run: Awards) -> DataFrame:
    """The account's first subscription (lowest id) with some outage under the rule."""
    ri = rule.rule.index
    chosen = f"""
        SELECT aid, min(sid) AS sid, min_by(segment, sid) AS segment, min_by(service, sid) AS service,
            min_by(counted_us, sid) DIV 1000000 AS counted_s
        FROM pairs WHERE pi = {pi} AND ri = {ri} GROUP BY aid"""
    tk = run.template(rule.template)
    if rule.constant is not None:
        return spark.sql(f"""SELECT aid, sid, segment, service, {tk} AS tk, {ri} AS ri, counted_s,
            {money(rule.constant, SPARK)} AS amount, 0 AS flags
            FROM ({chosen})""")
    assert isinstance(rule.rule, LossBrackets)
    assert rule.review is not None
    return spark.sql(loss_award(rule.rule, tk=tk, review=run.template(rule.review), d=SPARK,
                                chosen=chosen, columns=("aid", "sid", "segment", "service")))


def _money_tks(cp: CompiledPolicy, run: Awards) -> list[int]:
    return [tk for tk, t in enumerate(run.templates) if t.is_money and t.policy_id == cp.policy.id]


def _rule_caps(awards: DataFrame, cp: CompiledPolicy, run: Awards) -> DataFrame:
    capped = [(tk, r.rule.cap) for r in cp.rules if r.rule.cap is not None
              for tk, t in enumerate(run.templates)
              if t.is_money and t.policy_id == cp.policy.id and t.rule_index == r.rule.index]
    if not capped:
        return awards
    cap_of = " ".join(f"WHEN {tk} THEN {money(cap, SPARK)}" for tk, cap in capped if cap is not None)
    cap = f"(CASE tk {cap_of} END)"
    return awards.selectExpr(
        "aid", "sid", "segment", "service", "tk", "ri", "counted_s",
        f"CASE WHEN amount > {cap} THEN {cap} ELSE amount END AS amount",
        f"CASE WHEN amount > {cap} THEN flags | 1 ELSE flags END AS flags")


def _account_cap(awards: DataFrame, cap: Decimal, cp: CompiledPolicy, run: Awards) -> DataFrame:
    money_tks = _money_tks(cp, run)
    if not money_tks:
        return awards
    view = f"capped_{id(cp)}"
    awards.createOrReplaceTempView(view)
    return awards.sparkSession.sql(account_cap(
        view, columns=("aid", "sid", "segment", "service", "tk", "ri", "counted_s"), cap=cap,
        money_tks=money_tks, d=SPARK))


def _fund_cap(spark: SparkSession, awards: DataFrame, policy: Policy, run: Awards) -> DataFrame:
    available = policy.caps.fund_available
    if policy.caps.fund is not None:
        run.fund_factors[policy.id] = str(Decimal(1))
    if available is None:
        return awards
    cash = [tk for tk, t in enumerate(run.templates)
            if t.kind == AwardKind.CASH.value and t.policy_id == policy.id]
    if not cash:
        return awards
    awards = awards.localCheckpoint(eager=True)
    run.cached.append(awards)
    view = f"funded_{id(policy)}"
    awards.createOrReplaceTempView(view)
    total = spark.sql(f"SELECT sum(amount) AS t FROM {view} WHERE tk IN {int_list(cash)}").collect()[0]["t"]
    owed = Decimal(0) + (total or 0)
    if owed <= available:
        return awards
    factor = available / owed
    run.fund_factors[policy.id] = str(factor)
    amounts = [r["amount"] for r in spark.sql(
        f"SELECT DISTINCT amount FROM {view} WHERE tk IN {int_list(cash)}").collect()]
    rounding = policy.caps.fund_rounding
    rows = [(format_decimal(Decimal(a)), format_decimal(rounding.apply(Decimal(a) * factor)))
            for a in amounts]
    spark.createDataFrame(rows, "old STRING, new STRING").createOrReplaceTempView(f"{view}_rows")
    return spark.sql(f"""
        SELECT a.aid, a.sid, a.segment, a.service, a.tk, a.ri, a.counted_s,
            CASE WHEN f.new IS NULL THEN a.amount ELSE CAST(f.new AS {AMOUNT}) END AS amount,
            CASE WHEN f.new IS NULL THEN a.flags ELSE a.flags | 4 END AS flags
        FROM {view} a LEFT JOIN {view}_rows f
            ON a.tk IN {int_list(cash)} AND a.amount = CAST(f.old AS {AMOUNT})""")
