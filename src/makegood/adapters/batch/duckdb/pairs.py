"""The input check on one connection while the (subscription, rule) pairs build on another."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import duckdb
import pyarrow as pa

from makegood.adapters.batch.duckdb import checks, inputs
from makegood.adapters.batch.duckdb.state import RunState
from makegood.adapters.batch.plan import CompiledPolicy
from makegood.adapters.batch.streams import AccountPicker


class Pairs(RunState):
    """The input check and the pairs build of a run."""

    def _checked_while(self, declared: inputs.Declared, work: Callable[[], None],
                       columns: dict[str, str], rules: int) -> tuple[inputs.Tables, int]:
        """Check the input (:func:`.checks.check`) on a second connection while ``work`` runs.

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
            tables = checks.check(cursor, declared, columns, picker)
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
