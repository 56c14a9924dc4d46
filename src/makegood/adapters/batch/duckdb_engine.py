"""The DuckDB engine: every policy as SQL over the subscriptions table, embedded, no server.

One run, in one DuckDB database (spilling to a temporary directory, never holding the input):

1. ``inputs.declare`` puts views over the files (a missing column is refused at once).
2. Two things run at once, on their own connections:

   * ``inputs.check`` scans every row in file order (Parquet parts as two halves at once) and
     finds bad values, naked timestamps, duplicate subscriptions and accounts with two segments;
     when the rows come in ledger order it hands them to :class:`AccountPicker` s, which pick
     each account-scoped rule's row (the account's first row with some outage under it) and
     count the affected accounts, with no grouping by account;
   * one hash join of the subscriptions of the services the other rules name with the small
     constant table of their windows (per policy, rule and service) gives every matching
     (subscription, rule) pair with its counted outage and the integer *slots* its rule needs
     (:mod:`makegood.adapters.batch.sql`).

   Input in another order takes the general checks and the pairs of the account-scoped rules,
   grouped by account.
3. Per policy, the distinct (rule, fee, slots) keys are priced once each in Python, exactly as
   the reference prices them, and joined back; then the rule caps, the per-account cap (a
   running sum in rule, service, subscription order) and the pro-rata fund cap (one factor,
   computed in Python from the exact SQL total) apply.
4. The awards, sorted as the ledger is sorted (by row position for ledger-ordered input, in
   parts that each sort in memory; only the per-row columns ride through the sort, the columns
   fixed by the rule's template are filled in from a variant number), stream into the ledger
   file in Parquet row groups of the size ``pyarrow.parquet.write_table`` uses, each one
   contiguous, so the bytes are those of writing the whole table at once; or they come back as
   an Arrow table. The summary's figures are tallied off the same stream (:class:`LedgerTally`).

Where the time goes, and what was measured to choose this shape: ``docs/batch.md``.

Nothing is written under the final name until the file is complete
(:func:`makegood.adapters.ledger.atomic_path`).
"""

from __future__ import annotations

import contextlib
import csv
import itertools
import queue
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal, localcontext
from fractions import Fraction
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from makegood.adapters.batch import inputs
from makegood.adapters.batch.inputs import first, quote
from makegood.adapters.batch.sql import CompiledPolicy, CompiledRule, Template, compile_policy
from makegood.adapters.batch.streams import AccountPicker, LedgerTally, codes
from makegood.adapters.ledger import (
    ENCODED_SCHEMA,
    LEDGER_COLUMNS,
    LEDGER_SCHEMA,
    PARQUET_OPTIONS,
    ROW_GROUP,
    Progress,
    RunResult,
    atomic_path,
    first_seen_dictionary,
    format_decimal,
    ledger_format,
)
from makegood.adapters.tables import AccountsSource
from makegood.domain.accounts import Segment, monthly_fee
from makegood.domain.awards import AwardKind
from makegood.domain.compensation import check_policies
from makegood.domain.incident import Incident
from makegood.domain.policy import Policy
from makegood.domain.rules import Calendars, LossBrackets

AMOUNT = "DECIMAL(38, 10)"
FLAGS = ((1, "CAP_RULE"), (2, "CAP_ACCOUNT"), (4, "FUND_SCALED"))
FLAG_VARIANTS = range(8)  # every combination of the three flags
SORT_ROWS = 4 << 20  # awards sorted at once (about 0.4 GB in DuckDB's sort)
T = TypeVar("T")


class DuckDBEngine:
    """Batch compensation on DuckDB (the default engine)."""

    name = "duckdb"

    def __init__(self, *, threads: int | None = None, memory_limit: str = "3GB",
                 temp_dir: str | Path | None = None, **_: Any) -> None:
        self.threads = threads
        self.memory_limit = memory_limit
        self.temp_dir = Path(temp_dir) if temp_dir else None

    # -- the Engine protocol -------------------------------------------------------------------

    def run(self, *, incident: Incident, policies: Sequence[Policy], source: AccountsSource,
            calendars: Calendars, progress: Progress | None = None) -> RunResult:
        with self.session() as run:
            counts = run.compute(incident, policies, source, calendars, progress)
            ledger = run.arrow()
            return RunResult(ledger=ledger, **counts)

    # -- streaming to a file -------------------------------------------------------------------

    def run_to_file(self, *, incident: Incident, policies: Sequence[Policy], source: AccountsSource,
                    calendars: Calendars, out: Path, fmt: str | None = None,
                    progress: Progress | None = None) -> dict[str, Any]:
        """Compute and write the ledger to ``out`` without holding it in memory; the summary."""
        with self.session() as run:
            counts = run.compute(incident, policies, source, calendars, progress)
            # The summary's figures are read off the sorted ledger as it streams to the file;
            # the ledger is renamed into place only once the summary is there too.
            tally = run.tally()
            summary: dict[str, Any] = {}

            def summarize() -> None:
                summary.update(run.summary(tally))

            run.write(out, fmt, observe=tally.add, before_rename=summarize)
            return {**counts, **summary}

    def compare(self, *, incident: Incident, policy: Policy, source: AccountsSource,
                calendars: Calendars) -> dict[str, Any]:
        """One policy's figures for a side-by-side comparison (see :meth:`Run.comparison`)."""
        with self.session() as run:
            counts = run.compute(incident, [policy], source, calendars, None)
            return {**counts, **run.comparison()}

    @contextlib.contextmanager
    def session(self) -> Iterator[Run]:
        tmp = Path(tempfile.mkdtemp(prefix="makegood-duckdb-", dir=self.temp_dir))
        con = duckdb.connect(config={"memory_limit": self.memory_limit,
                                     "temp_directory": str(tmp / "spill"),
                                     "preserve_insertion_order": False,
                                     })
        try:
            con.execute("SET TimeZone = 'UTC'; SET enable_progress_bar = false")
            if self.threads:
                con.execute(f"SET threads = {int(self.threads)}")
            yield Run(con)
        finally:
            con.close()
            shutil.rmtree(tmp, ignore_errors=True)


class Run:
    """One connection's worth of work: the awards table and what can be read from it."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self.templates: list[Template] = []
        self.services: list[str] = []
        self.ordered = False  # whether ``pos`` sorts as (account, subscription) does
        self.streamed = False  # whether account-scoped rules were picked off the ordered input
        self.scoped: dict[tuple[int, int], int] = {}  # (policy, rule) -> its AccountPicker column
        self.target = "pawards"  # where the policy being computed puts its awards

    # -- computing -------------------------------------------------------------------------------

    def compute(self, incident: Incident, policies: Sequence[Policy], source: AccountsSource,
                calendars: Calendars, progress: Progress | None) -> dict[str, Any]:
        steps = 2 + len(policies)

        def tick(done: int) -> None:
            if progress:
                progress(done, steps)

        tick(0)
        declared = inputs.declare(self.con, source)
        # Segment and service as ENUM types (one byte a row in the pairs and awards, cheap to
        # group and sort); their values are sorted, so their order is the text order.
        self.con.execute(f"CREATE TYPE mg_segment AS ENUM {_values(sorted(s.value for s in Segment))}")
        compiled = [compile_policy(policy, incident, calendars) for policy in policies]
        # Account-scoped rules are picked off the input check's ordered stream when the rows come
        # in ledger order (AccountPicker); the pairs build beside it covers the other rules.
        scoped = [(pi, r.rule.index) for pi, cp in enumerate(compiled) for r in cp.rules
                  if r.account_scoped]
        self.scoped = {rule: k for k, rule in enumerate(scoped)}
        # Whether a row is affected under any policy: the policies with fewest rules first (a row
        # found affected is not tested further).
        columns = AccountPicker.columns(
            [compiled[pi].scoped_sql(ri) for pi, ri in scoped],
            [cp.affected_sql() for cp in sorted(compiled, key=lambda cp: len(cp.rules))])
        tables, streamed_affected = self._checked_while(
            declared, lambda: self._all_pairs(compiled, declared, scoped=False), columns, len(scoped))
        self.ordered, self.streamed = tables.ordered, tables.streamed
        if not self.streamed:
            self.con.execute("DROP TABLE picked")
            self._all_pairs(compiled, declared, scoped=True)
        check_policies(policies, incident, set(tables.services))
        tick(1)
        self.services = sorted(tables.services)
        self.con.execute(f"CREATE TYPE mg_service AS ENUM {_values(self.services or [''])}")
        self.con.execute(f"""CREATE TABLE awards (pos BIGINT, aid VARCHAR, sid VARCHAR, segment mg_segment,
            service mg_service, tk INTEGER, ri INTEGER, counted_s BIGINT, amount {AMOUNT}, flags TINYINT)""")
        factors: dict[str, str] = {}
        for i, cp in enumerate(compiled):
            self.con.execute(f"CREATE OR REPLACE TEMP VIEW pairs AS SELECT * FROM all_pairs WHERE pi = {i}")
            factor = self._policy(cp, i)
            if cp.policy.caps.fund is not None:
                factors[cp.policy.id] = str(factor)
            tick(2 + i)
        if self.streamed:
            affected = streamed_affected
            self.con.execute("DROP TABLE picked")
        else:
            affected, = first(self.con, "SELECT count(DISTINCT aid) FROM all_pairs WHERE is_first") or (0,)
        self.con.execute("DROP VIEW pairs; DROP TABLE all_pairs")
        self._templates_table()
        tick(steps)
        return {"accounts": tables.accounts, "subscriptions": tables.subscriptions,
                "accounts_affected": int(affected), "fund_factors": factors}

    def _checked_while(self, declared: inputs.Declared, work: Callable[[], None],
                       columns: dict[str, str], rules: int) -> tuple[inputs.Tables, int]:
        """Check the input (:func:`inputs.check`) on a second connection while ``work`` runs.

        The checking scan reads the rows in file order and hands them to
        :class:`AccountPicker` s (one per run of rows read), which store their picks in the
        table ``picked`` over connections of their own; the pairs build beside it takes the
        rest of the machine. ``work`` must write nothing the user sees: until the check has
        passed it may meet bad values, and then the check's error (naming file, row and column)
        is the one raised, whatever ``work`` raised meanwhile. Returns the tables and the
        number of affected accounts (when the rows were streamed).
        """
        self.con.execute("""CREATE OR REPLACE TABLE picked (k SMALLINT, pos BIGINT, aid VARCHAR,
            sid VARCHAR, segment VARCHAR, service VARCHAR, counted_us BIGINT)""")
        cursor = self.con.cursor()
        pickers: list[AccountPicker] = []
        sinks: list[duckdb.DuckDBPyConnection] = []

        def picker() -> Callable[[pa.RecordBatch], None]:
            sink = self.con.cursor()
            sinks.append(sink)

            def store(table: pa.Table) -> None:
                sink.register("picked_rows", table)
                sink.execute("INSERT INTO picked SELECT * FROM picked_rows")
                sink.unregister("picked_rows")

            pickers.append(AccountPicker(rules, store))
            return pickers[-1].add

        def check() -> inputs.Tables:
            tables = inputs.check(cursor, declared, columns, picker)
            for p in pickers:
                p.flush()
            return tables

        try:
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="check") as pool:
                checking = pool.submit(check)
                try:
                    work()
                except BaseException:
                    checking.result()  # a DataError about the input explains the failure best
                    raise
                tables = checking.result()
        finally:
            cursor.close()
            for sink in sinks:
                sink.close()
        affected, drops = AccountPicker.joined(pickers)
        for k, pos in drops:
            self.con.execute("DELETE FROM picked WHERE k = ? AND pos = ?", [k, pos])
        return tables, affected

    def _template(self, template: Template) -> int:
        self.templates.append(template)
        return len(self.templates) - 1

    def _all_pairs(self, compiled: Sequence[CompiledPolicy], declared: inputs.Declared, *,
                   scoped: bool) -> None:
        """``all_pairs``: every matching (subscription, policy, rule) with its counted outage, for
        the account-scoped rules (``scoped``, added to the table) or for the others (created).

        One scan of the subscriptions serves every policy: one hash join with the small table of
        all policies' rule windows (policy ``pi``, rule ``ri``, service), each policy's
        expressions selected by ``pi``.
        """
        con = self.con
        chosen = {(pi, r.rule.index) for pi, cp in enumerate(compiled) for r in cp.rules
                  if r.account_scoped == scoped}
        k = max((cp.k for cp in compiled), default=1)
        nslots = max((cp.nslots for cp in compiled), default=0)
        window_cols = ", ".join(f"ws{j} BIGINT, we{j} BIGINT" for j in range(k))
        con.execute(f"CREATE OR REPLACE TEMP TABLE rw (pi INTEGER, ri INTEGER, service VARCHAR, "
                    f"{window_cols})")
        rows = [(pi, *row, *([None] * (2 * (k - cp.k))))
                for pi, cp in enumerate(compiled) for row in cp.rule_windows_rows()
                if (pi, row[0]) in chosen]
        if rows:
            marks = ", ".join("?" for _ in range(3 + 2 * k))
            con.executemany(f"INSERT INTO rw VALUES ({marks})", rows)

        def by_policy(exprs: Sequence[str]) -> str:
            if len(exprs) == 1:
                return exprs[0]
            return "(CASE pi " + " ".join(f"WHEN {i} THEN ({e})" for i, e in enumerate(exprs)) + " END)"

        counted, longest = [], []
        for cp in compiled:
            durations = [d for _, _, d in cp.pieces()]
            counted.append(" + ".join(durations))
            longest.append(f"greatest({', '.join(durations)})" if len(durations) > 1 else durations[0])
        slots = ", ".join(
            by_policy([cp.slot_sql(i) if i < cp.nslots else "CAST(-1 AS BIGINT)" for cp in compiled])
            + f" AS x{i}" for i in range(nslots))
        wcols = ", ".join(f"rw.ws{j}, rw.we{j}" for j in range(k))
        subs = inputs.subs_of(con, declared, sorted({str(row[2]) for row in rows}))
        con.execute(f"""
            {'INSERT INTO all_pairs' if scoped else 'CREATE OR REPLACE TEMP TABLE all_pairs AS'}
            SELECT pos, aid, sid, TRY_CAST(segment AS mg_segment) AS segment, service, fee_text, bp,
                pi, ri, is_first, counted_us
                {', ' + slots if slots else ''}
            FROM (
                SELECT *, {by_policy(counted)} AS counted_us, {by_policy(longest)} AS longest_us,
                    {by_policy([cp.first_rule_sql() for cp in compiled])} = ri AS is_first FROM (
                    SELECT sub.*, rw.pi, rw.ri, {wcols}
                    FROM {subs} sub JOIN rw ON rw.service = sub.service
                ) WHERE {by_policy([cp.match_sql() for cp in compiled])}
            ) WHERE counted_us > 0""")
        con.execute("DROP TABLE rw")

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
                SELECT DISTINCT ri, CASE WHEN ri IN {tuple_sql(fee_rules)} THEN fee_text ELSE '' END,
                    CASE WHEN ri IN {tuple_sql(fee_rules)} THEN bp ELSE '' END {''.join(', ' + x for x in xs)}
                FROM pairs WHERE ri IN {tuple_sql([r.rule.index for r in priced])}""").fetchall()
            by_index = {r.rule.index: r for r in priced}
            fees: dict[tuple[str, str], Fraction] = {}
            out = []
            for ri, fee_text, bp, *slot_values in keys:
                rule = by_index[ri]
                assert rule.evaluate is not None
                fee = Fraction(0)
                if rule.needs_fee:
                    fee = fees.get((fee_text, bp)) or fees.setdefault(
                        (fee_text, bp), monthly_fee(Decimal(fee_text), bp))
                amount = rule.evaluate(fee, tuple(slot_values[: len(rule.slots)]))
                out.append((ri, fee_text, bp, *slot_values,
                            None if amount is None else format_decimal(amount)))
            if out:
                table = pa.table({name: [row[i] for row in out]
                                  for i, name in enumerate(["ri", "fk", "bk", *xs, "amount"])})
                con.register("lk_rows", table)
                con.execute("INSERT INTO lk SELECT * FROM lk_rows")
                con.unregister("lk_rows")
        tk_of = {r.rule.index: self._template(r.template) for r in rules}
        tk_case = " ".join(f"WHEN {ri} THEN {tk}" for ri, tk in tk_of.items())
        consts = " ".join(f"WHEN {r.rule.index} THEN CAST({quote(format_decimal(r.constant))} AS {AMOUNT})"
                          for r in rules if r.constant is not None)
        fee_rules = [r.rule.index for r in priced if r.needs_fee] or [-1]
        join_on = " AND ".join([
            "lk.ri = p.ri",
            f"lk.fk = CASE WHEN p.ri IN {tuple_sql(fee_rules)} THEN p.fee_text ELSE '' END",
            f"lk.bk = CASE WHEN p.ri IN {tuple_sql(fee_rules)} THEN p.bp ELSE '' END",
            *[f"lk.{x} = p.{x}" for x in xs]])
        amount_sql = (f"CASE p.ri {consts} ELSE CAST(lk.amount AS {AMOUNT}) END" if consts
                      else f"CAST(lk.amount AS {AMOUNT})")
        con.execute(f"""
            INSERT INTO {self.target}
            SELECT * FROM (
                SELECT p.pos, p.aid, p.sid, p.segment, p.service, CASE p.ri {tk_case} END AS tk, p.ri,
                    p.counted_us // 1000000 AS counted_s, {amount_sql} AS amount, 0 AS flags
                FROM pairs p LEFT JOIN lk ON {join_on}
                WHERE p.ri IN {tuple_sql(list(tk_of))}
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
                counted_s, CAST({quote(format_decimal(rule.constant))} AS {AMOUNT}), 0
                FROM ({chosen})""")
            return
        loss_rule = rule.rule
        assert isinstance(loss_rule, LossBrackets)
        assert rule.review is not None
        review = self._template(rule.review)
        if loss_rule.source == "reported":
            losses = "SELECT aid, loss FROM losses"
        else:
            losses = f"""
                SELECT aid, max(amount) FILTER (WHERE week BETWEEN DATE '{loss_rule.baseline_from}'
                    AND DATE '{loss_rule.baseline_to}') - max(amount) FILTER (WHERE week =
                    DATE '{loss_rule.outage_week}') AS loss
                FROM sales GROUP BY aid"""
        brackets = " ".join(
            f"WHEN l.loss <= CAST({quote(format_decimal(b.up_to))} AS {AMOUNT}) "
            f"THEN CAST({quote(format_decimal(b.amount))} AS {AMOUNT})" for b in loss_rule.brackets)
        top = format_decimal(loss_rule.brackets[-1].up_to)
        con.execute(f"""
            INSERT INTO {self.target}
            SELECT c.pos, c.aid, c.sid, c.segment, c.service,
                CASE WHEN l.loss <= CAST({quote(top)} AS {AMOUNT}) THEN {tk} ELSE {review} END,
                {ri}, c.counted_s, CASE {brackets} ELSE l.loss END, 0
            FROM ({chosen}) c JOIN ({losses}) l ON l.aid = c.aid
            WHERE l.loss > 0""")

    def _rule_caps(self, cp: CompiledPolicy) -> None:
        capped = [(i, r.rule.cap) for r in cp.rules if r.rule.cap is not None
                  for i, t in enumerate(self.templates)
                  if t.is_money and t.policy_id == cp.policy.id and t.rule_index == r.rule.index]
        for tk, cap in capped:
            assert cap is not None
            value = f"CAST({quote(format_decimal(cap))} AS {AMOUNT})"
            self.con.execute(f"UPDATE pawards SET amount = {value}, flags = flags | 1 "
                             f"WHERE tk = {tk} AND amount > {value}")

    def _account_cap(self, cap: Decimal) -> None:
        money = self._money_tks_current()
        if not money:
            return
        value = f"CAST({quote(format_decimal(cap))} AS {AMOUNT})"
        self.con.execute(f"""
            CREATE OR REPLACE TEMP TABLE pawards AS
            SELECT pos, aid, sid, segment, service, tk, ri, counted_s,
                CASE WHEN amount > room THEN room ELSE amount END AS amount,
                CASE WHEN amount > room THEN flags | 2 ELSE flags END AS flags
            FROM (
                SELECT *, {value} - least(coalesce(sum(amount) OVER (PARTITION BY aid ORDER BY ri,
                    service, sid ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0), {value}) AS room
                FROM pawards WHERE tk IN {tuple_sql(money)}
            ) WHERE least(amount, room) > 0
            UNION ALL
            SELECT * FROM pawards WHERE tk NOT IN {tuple_sql(money)}""")

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
        total, = first(self.con, f"SELECT sum(amount) FROM pawards WHERE tk IN {tuple_sql(cash)}"
                                  ) or (None,)
        owed = Decimal(0) + (total or 0)
        if owed <= available:
            return Decimal(1)
        factor = available / owed
        amounts = [a for a, in self.con.execute(
            f"SELECT DISTINCT amount FROM pawards WHERE tk IN {tuple_sql(cash)}").fetchall()]
        rounding = policy.caps.fund_rounding
        scaled = pa.table({"old": [format_decimal(Decimal(a)) for a in amounts],
                           "new": [format_decimal(rounding.apply(Decimal(a) * factor)) for a in amounts]})
        self.con.register("fund_rows", scaled)
        self.con.execute(f"""
            UPDATE pawards SET amount = CAST(f.new AS {AMOUNT}), flags = flags | 4
            FROM fund_rows f WHERE pawards.tk IN {tuple_sql(cash)}
                AND pawards.amount = CAST(f.old AS {AMOUNT})""")
        self.con.unregister("fund_rows")
        return factor

    def _templates_table(self) -> None:
        rank = _rank_of(self.templates)
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

    # -- reading the result --------------------------------------------------------------------

    LEDGER_SQL = """
        SELECT a.aid AS account_id, a.sid AS subscription_id, a.segment, a.service, t.policy_id,
            t.rule_id, a.counted_s AS counted_seconds, t.kind, CAST(a.amount AS DECIMAL(24, 6))
            AS amount, t.unit, t.currency,
            t.code || (CASE WHEN a.flags & 1 <> 0 THEN '+CAP_RULE' ELSE '' END)
                || (CASE WHEN a.flags & 2 <> 0 THEN '+CAP_ACCOUNT' ELSE '' END)
                || (CASE WHEN a.flags & 4 <> 0 THEN '+FUND_SCALED' ELSE '' END) AS code, t.prank
        FROM awards a JOIN templates t ON t.tk = a.tk"""

    def ordered_sql(self, where: str = "true") -> str:
        """The awards in ledger order, narrow: what varies per row, and the variant ``v``.

        The sort carries only the four per-row strings and three numbers; the columns that are
        constant per (template, cap flags) variant are filled in afterwards from ``v``
        (:meth:`_encode`), far cheaper than sorting them as payload. Ledger-ordered input sorts
        by position (an integer) instead of by account and subscription id.
        """
        ranks = _rank_of(self.templates)
        rank = f"([{', '.join(str(r) for r in ranks)}])[a.tk + 1]" if ranks else "0"
        keys = "a.pos" if self.ordered else "a.aid, a.sid"
        return f"""
            SELECT a.aid, a.sid, a.segment, a.service, a.counted_s,
                CAST(a.amount AS DECIMAL(24, 6)) AS amount, a.tk * {len(FLAG_VARIANTS)} + a.flags AS v
            FROM awards a WHERE {where} ORDER BY {keys}, {rank}"""

    def ordered_parts(self) -> list[str]:
        """:meth:`ordered_sql` as consecutive parts of at most about ``SORT_ROWS`` awards each.

        Ledger-ordered awards are split by position (bounds from an approximate quantile; an
        award's position decides its part, so the parts follow one another in ledger order):
        each part is sorted in memory, where one sort of every award would spill to disk at
        national scale. Other awards are sorted at once.
        """
        total, = first(self.con, "SELECT count(*) FROM awards") or (0,)
        parts = -(-int(total) // SORT_ROWS)
        if not self.ordered or parts <= 1:
            return [self.ordered_sql()]
        fractions = ", ".join(f"{i / parts:.9f}" for i in range(1, parts))
        found = first(self.con, f"SELECT approx_quantile(pos, CAST([{fractions}] AS FLOAT[])) FROM awards")
        bounds = sorted(set(found[0])) if found and found[0] else []
        edges: list[int | None] = [None, *bounds, None]
        out = []
        for low, high in itertools.pairwise(edges):
            where = " AND ".join([*([f"a.pos >= {low}"] if low is not None else []),
                                  *([f"a.pos < {high}"] if high is not None else [])]) or "true"
            out.append(self.ordered_sql(where))
        return out

    def _variants(self) -> dict[str, tuple[np.ndarray, pa.Array]]:
        """Per column fixed by the variant ``tk * 8 + flags`` (policy_id, rule_id, kind, unit,
        currency, code): each variant's value id (-1 for none), and the distinct values."""
        texts: dict[str, list[str | None]] = {k: [] for k in
                                              ("policy_id", "rule_id", "kind", "unit", "currency", "code")}
        for t in self.templates:
            for flags in FLAG_VARIANTS:
                texts["policy_id"].append(t.policy_id)
                texts["rule_id"].append(t.rule_id)
                texts["kind"].append(t.kind)
                texts["unit"].append(t.unit)
                texts["currency"].append(t.currency)
                texts["code"].append(t.code + "".join(f"+{name}" for bit, name in FLAGS if flags & bit))
        out = {}
        for name, per_variant in texts.items():
            values = sorted({x for x in per_variant if x is not None})
            index = {x: i for i, x in enumerate(values)}
            out[name] = (np.array([-1 if x is None else index[x] for x in per_variant], dtype=np.int32),
                         pa.array(values, pa.string()))
        return out

    @staticmethod
    def _encode(narrow: pa.Table, variants: dict[str, tuple[np.ndarray, pa.Array]]) -> pa.Table:
        """One row group of the ledger (ENCODED_SCHEMA) from the narrow sorted rows."""
        v = narrow.column("v").to_numpy()
        variants_seen = pc.unique(pa.array(v)).to_numpy()  # in order of first appearance

        def enum(name: str) -> pa.DictionaryArray:
            chunks = narrow.column(name).chunks
            dictionary = chunks[0].dictionary if chunks else pa.array([], pa.string())
            return first_seen_dictionary(codes(narrow.column(name)), dictionary)

        def fixed(name: str) -> pa.DictionaryArray:
            # A value first appears with the first-appearing variant that has it: the values'
            # order comes from the few variants seen, not from every row.
            ids, values = variants[name]
            seen = list(dict.fromkeys(i for i in ids[variants_seen].tolist() if i >= 0))
            lookup = np.full(len(values) + 1, -1, dtype=np.int32)  # lookup[-1]: no value
            lookup[seen] = np.arange(len(seen), dtype=np.int32)
            positions = lookup[ids][v]
            nulls = positions < 0
            indices = pa.array(positions, mask=nulls) if nulls.any() else pa.array(positions)
            return pa.DictionaryArray.from_arrays(indices, values.take(pa.array(seen, pa.int32())))

        return pa.Table.from_arrays([
            narrow.column("aid").combine_chunks(), narrow.column("sid").combine_chunks(),
            enum("segment"), enum("service"), fixed("policy_id"), fixed("rule_id"),
            narrow.column("counted_s").combine_chunks(), fixed("kind"),
            narrow.column("amount").combine_chunks(), fixed("unit"), fixed("currency"),
            fixed("code")], schema=ENCODED_SCHEMA)

    def batches(self, size: int = ROW_GROUP) -> Iterator[pa.Table]:
        """The sorted ledger (ENCODED_SCHEMA) in tables of exactly ``size`` rows (the last one
        shorter), each one Parquet row group."""
        return (encoded for _, encoded in self._row_groups(size))

    def _row_groups(self, size: int = ROW_GROUP) -> Iterator[tuple[pa.Table, pa.Table]]:
        """Each row group of :meth:`batches` as its narrow sorted rows and its encoded table."""
        variants = self._variants()
        parts = self.ordered_parts()

        def sorted_batches() -> Iterator[pa.RecordBatch]:
            for sql in parts:
                yield from self.con.sql(sql).to_arrow_reader(size)

        pending: list[pa.RecordBatch] = []
        count = 0
        for batch in sorted_batches():
            pending.append(batch)
            count += batch.num_rows
            while count >= size:
                table = pa.Table.from_batches(pending)
                narrow = table.slice(0, size)
                yield narrow, self._encode(narrow, variants)
                rest = table.slice(size)
                pending = rest.to_batches()
                count = rest.num_rows
        if count:
            narrow = pa.Table.from_batches(pending)
            yield narrow, self._encode(narrow, variants)
        elif not pending:
            yield pa.table({}), ENCODED_SCHEMA.empty_table()

    def arrow(self) -> pa.Table:
        tables = [t.cast(LEDGER_SCHEMA) for t in self.batches()]
        return pa.concat_tables(tables).combine_chunks() if tables else LEDGER_SCHEMA.empty_table()

    def write(self, out: Path, fmt: str | None = None, *,
              observe: Callable[[pa.Table], None] | None = None,
              before_rename: Callable[[], object] | None = None) -> None:
        """Write the sorted ledger to ``out`` (Parquet or CSV), atomically.

        ``observe`` sees the narrow sorted rows of each row group once it is written.
        ``before_rename`` runs once the file is complete, before it takes its final name; if it
        raises, nothing is left under that name.
        """
        with atomic_path(out) as tmp:
            if ledger_format(out, fmt) == "csv":
                with tmp.open("w", newline="", encoding="utf-8") as fh:
                    writer = csv.writer(fh)
                    writer.writerow(LEDGER_COLUMNS)
                    for narrow, table in self._row_groups():
                        cols = [c.to_pylist() for c in table.columns]
                        for values in zip(*cols, strict=True):
                            writer.writerow(_csv_value(v) for v in values)
                        if observe is not None and narrow.num_rows:
                            observe(narrow)
            else:
                with pq.ParquetWriter(tmp, ENCODED_SCHEMA, **PARQUET_OPTIONS) as pq_writer:
                    # Two threads share the work: one fetches each sorted row group from DuckDB
                    # and encodes it, the other compresses it into the file and then tallies it
                    # (Arrow, NumPy and DuckDB release the GIL).
                    for narrow, table in _prefetched(self._row_groups()):
                        pq_writer.write_table(table, row_group_size=ROW_GROUP)
                        if observe is not None and narrow.num_rows:
                            observe(narrow)
            if before_rename is not None:
                before_rename()

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


def _rank_of(templates: Sequence[Template]) -> list[int]:
    """Each template's rank in ledger order (policy id, then rule id)."""
    order = sorted(range(len(templates)), key=lambda i: (templates[i].policy_id, templates[i].rule_id))
    rank = [0] * len(templates)
    for r, tk in enumerate(order):
        rank[tk] = r
    return rank


def _values(values: Sequence[str]) -> str:
    return "(" + ", ".join(quote(v) for v in values) + ")"


def _prefetched(tables: Iterator[T], depth: int = 2) -> Iterator[T]:
    """``tables``, produced one step ahead in a thread (so producing and consuming overlap)."""
    box: queue.Queue[tuple[T | None, BaseException | None]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for table in tables:
                if stop.is_set():
                    return
                box.put((table, None))
            box.put((None, None))
        except BaseException as exc:  # handed to the consumer, which raises it
            box.put((None, exc))

    worker = threading.Thread(target=produce, name="ledger-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            table, error = box.get()
            if error is not None:
                raise error
            if table is None:
                return
            yield table
    finally:
        stop.set()
        while worker.is_alive():
            with contextlib.suppress(queue.Empty):
                box.get(timeout=0.1)
        worker.join()


def tuple_sql(values: Sequence[int]) -> str:
    return "(" + ", ".join(str(v) for v in values) + ")" if values else "(NULL)"


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format_decimal(value)
    return str(value)

