"""The DuckDB engine (the default batch engine) and one run of it, step by step."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import duckdb

from makegood.adapters.batch.duckdb import inputs
from makegood.adapters.batch.duckdb.awards import Awards
from makegood.adapters.batch.duckdb.inputs import first, quote
from makegood.adapters.batch.duckdb.pairs import Pairs
from makegood.adapters.batch.duckdb.state import AMOUNT
from makegood.adapters.batch.duckdb.summary import Summary
from makegood.adapters.batch.plan import compile_policy
from makegood.adapters.batch.streams import AccountPicker
from makegood.adapters.ledger import Progress, RunResult
from makegood.adapters.tables import AccountsSource
from makegood.domain.accounts import Segment
from makegood.domain.compensation import check_policies
from makegood.domain.incident import Incident
from makegood.domain.policy import Policy
from makegood.domain.rules import Calendars


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



class Run(Pairs, Awards, Summary):
    """One run: the input checked beside the pairs build, each policy priced and capped, then
    the ledger and its summary read off the awards table."""

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


def _values(values: Sequence[str]) -> str:
    return "(" + ", ".join(quote(v) for v in values) + ")"
