"""The awards in ledger order, encoded and streamed into the ledger file (or an Arrow table)."""

from __future__ import annotations

import contextlib
import csv
import itertools
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from makegood.adapters.batch.duckdb.inputs import first
from makegood.adapters.batch.duckdb.state import RunState
from makegood.adapters.batch.plan import Template
from makegood.adapters.batch.streams import codes
from makegood.adapters.ledger import (
    ENCODED_SCHEMA,
    LEDGER_COLUMNS,
    LEDGER_SCHEMA,
    PARQUET_OPTIONS,
    ROW_GROUP,
    atomic_path,
    first_seen_dictionary,
    format_decimal,
    ledger_format,
)

FLAGS = ((1, "CAP_RULE"), (2, "CAP_ACCOUNT"), (4, "FUND_SCALED"))
FLAG_VARIANTS = range(8)  # every combination of the three flags
SORT_ROWS = 4 << 20  # awards sorted at once (about 0.4 GB in DuckDB's sort)
T = TypeVar("T")


class Ledger(RunState):
    """Reading the awards table in ledger order."""

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
        ranks = rank_of(self.templates)
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


def rank_of(templates: Sequence[Template]) -> list[int]:
    """Each template's rank in ledger order (policy id, then rule id)."""
    order = sorted(range(len(templates)), key=lambda i: (templates[i].policy_id, templates[i].rule_id))
    rank = [0] * len(templates)
    for r, tk in enumerate(order):
        rank[tk] = r
    return rank


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


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format_decimal(value)
    return str(value)
