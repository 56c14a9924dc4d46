"""What the DuckDB engine reads off ordered streams, in vectorized passes (Arrow and NumPy).

* :class:`AccountPicker` reads the input in ledger order (during the input check) and picks, for
  each account-scoped rule, the row the reference evaluates: the account's first subscription
  with some outage under that rule; and counts the affected accounts. In that order an account's
  rows are adjacent, so this is one comparison with the row before, where a grouping by account
  would hold every account in a hash table (tens of millions at national scale).
* :class:`LedgerTally` reads the sorted ledger as it is written and keeps the summary's figures.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from decimal import Decimal, localcontext
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

FLAG_VARIANTS = 8  # ledger variants per template: every combination of the three cap flags


def codes(column: pa.ChunkedArray) -> np.ndarray:
    """The codes of an ENUM column (an Arrow dictionary column with DuckDB's one dictionary)."""
    if not column.chunks:
        return np.zeros(0, dtype=np.int32)
    return np.concatenate([c.indices.to_numpy() for c in column.chunks]).astype(np.int32)


def run_starts(ids: pa.Array, before: str | None) -> np.ndarray:
    """Where a new id begins, in ``ids`` sorted so that equal ids are adjacent; ``before`` is the
    id that ended the previous batch (an id going on from it does not begin here)."""
    starts = np.ones(len(ids), dtype=bool)
    if len(ids) > 1:
        starts[1:] = pc.not_equal(ids[1:], ids[:-1]).fill_null(True).to_numpy(zero_copy_only=False)
    if len(ids) and before is not None and ids[0].as_py() == before:
        starts[0] = False
    return starts


def _firsts(runs: np.ndarray) -> np.ndarray:
    """Where each run begins in ``runs``, a non-decreasing array of run numbers."""
    firsts = np.ones(len(runs), dtype=bool)
    firsts[1:] = runs[1:] != runs[:-1]
    return firsts


class AccountPicker:
    """Account-scoped rules' rows and the affected accounts, from the input in ledger order.

    Each batch holds ``pos``, ``aid``, ``sid``, ``segment``, ``service``, one column ``a{k}`` per
    account-scoped rule ``k`` (its counted outage where its filter matches the row, else 0) and
    ``hit`` (whether the row is affected under some policy). Picked rows go to ``sink`` as Arrow
    tables (k, pos, aid, sid, segment, service, counted_us) of about ``flush_rows`` rows.
    """

    def __init__(self, rules: int, sink: Callable[[pa.Table], None], flush_rows: int = 1 << 21) -> None:
        self.rules = rules
        self.sink = sink
        self.flush_rows = flush_rows
        self.affected = 0
        self._last_aid: str | None = None  # the account that ended the last batch
        self._first_hit: str | None = None
        self._last_hit: str | None = None
        self._first_pick: list[tuple[str, int] | None] = [None] * rules  # (account, position)
        self._last_pick: list[str | None] = [None] * rules
        self._pending: list[pa.Table] = []
        self._pending_rows = 0

    @staticmethod
    def columns(scoped: Sequence[str], affected: Sequence[str]) -> dict[str, str]:
        """The batch columns from each account-scoped rule's and each policy's SQL."""
        return {**{f"a{k}": sql for k, sql in enumerate(scoped)},
                "hit": " OR ".join(affected) if affected else "false"}

    def add(self, batch: pa.RecordBatch) -> None:
        aid = batch.column("aid")
        # Accounts as runs of rows: run 0 holds the rows (if any) that go on with the account
        # that ended the batch before.
        before = self._last_aid
        run = np.cumsum(run_starts(aid, before))
        self._last_aid = aid[len(aid) - 1].as_py()
        hit = np.flatnonzero(batch.column("hit").fill_null(False).to_numpy(zero_copy_only=False))
        if len(hit):
            firsts = _firsts(run[hit])
            if run[hit[0]] == 0 and self._last_hit == before:
                firsts[0] = False  # that account was counted in the batch before
            self.affected += int(firsts.sum())
            if self._first_hit is None:
                self._first_hit = aid[int(hit[0])].as_py()
            self._last_hit = aid[int(hit[-1])].as_py()
        for k in range(self.rules):
            counted = batch.column(f"a{k}").fill_null(0).to_numpy()
            rows = np.flatnonzero(counted > 0)
            if not len(rows):
                continue
            firsts = _firsts(run[rows])
            if run[rows[0]] == 0 and self._last_pick[k] == before:
                firsts[0] = False  # that account's row was picked in the batch before
            chosen = rows[firsts]
            self._last_pick[k] = aid[int(rows[-1])].as_py()
            if not len(chosen):
                continue
            if self._first_pick[k] is None:
                row = int(chosen[0])
                self._first_pick[k] = (aid[row].as_py(), batch.column("pos")[row].as_py())
            take = pa.array(chosen)
            self._pending.append(pa.table({
                "k": pa.array(np.full(len(chosen), k, dtype=np.int16)),
                "pos": batch.column("pos").take(take), "aid": aid.take(take),
                "sid": batch.column("sid").take(take), "segment": batch.column("segment").take(take),
                "service": batch.column("service").take(take),
                "counted_us": pa.array(counted[chosen], pa.int64())}))
            self._pending_rows += len(chosen)
        if self._pending_rows >= self.flush_rows:
            self.flush()

    @staticmethod
    def joined(pickers: Sequence[AccountPicker]) -> tuple[int, list[tuple[int, int]]]:
        """Over pickers that read consecutive runs of the input: the affected accounts, and the
        picks (rule, position) to drop, made again for an account that went on from one run into
        the next (its first row was in the earlier run)."""
        affected = sum(p.affected for p in pickers)
        drops = []
        for before, after in itertools.pairwise(pickers):
            if after._first_hit is not None and after._first_hit == before._last_hit:
                affected -= 1
            for k, pick in enumerate(after._first_pick):
                if pick is not None and pick[0] == before._last_pick[k]:
                    drops.append((k, pick[1]))
        return affected, drops

    def flush(self) -> None:
        if self._pending:
            self.sink(pa.concat_tables(self._pending))
        self._pending, self._pending_rows = [], 0


class LedgerTally:
    """The summary's figures, read off the sorted ledger as it streams by.

    Per (service, segment, template): awards and their total. Per awarded account: its segment
    and the set of (service, template) pairs it was awarded, as a bit mask (a bit for each pair,
    given as pairs first appear), counted by (segment, mask); an account's rows are adjacent in
    the ledger. More pairs than ``BITS`` set ``overflow`` (the accounts are then counted in SQL).
    """

    BITS = 62  # the mask and a two-bit segment code share one 64-bit key

    def __init__(self, services: Sequence[str], segments: Sequence[str], width: int) -> None:
        self.services = list(services)  # by service code (the ENUM's order)
        self.segments = list(segments)  # by segment code
        self.width = width  # templates: pair code = service code * width + template
        self.lut = np.zeros(max(1, len(services) * width), dtype=np.uint64)  # pair code -> its bit
        self.pairs: list[int] = []  # pair codes in bit order
        self.overflow = False
        self.masks: dict[int, int] = {}  # key (segment code << BITS | mask) -> accounts
        self.totals: dict[int, list[Any]] = {}  # pair code * segments + segment -> [awards, total]
        self._last: tuple[str, int] | None = None  # the account that may go on, and its key

    def add(self, narrow: pa.Table) -> None:
        """Take in the next rows of the sorted ledger (``aid``, ``segment``, ``service``, ``v``,
        ``amount``)."""
        n = narrow.num_rows
        if n == 0:
            return
        segment = codes(narrow.column("segment")).astype(np.int64)
        pair = (codes(narrow.column("service")).astype(np.int64) * self.width
                + narrow.column("v").to_numpy() // FLAG_VARIANTS)
        sums = pa.table({"g": pair * len(self.segments) + segment, "amount": narrow.column("amount")}
                        ).group_by("g").aggregate([("amount", "sum"), ("amount", "count")])
        with localcontext(prec=80):
            for g, total, count in zip(sums.column("g").to_pylist(), sums.column("amount_sum").to_pylist(),
                                       sums.column("amount_count").to_pylist(), strict=True):
                entry = self.totals.setdefault(g, [0, Decimal(0)])
                entry[0] += count
                entry[1] += total
        if not self.overflow:
            self._accounts(narrow.column("aid").combine_chunks(), segment.astype(np.uint64), pair)

    def _accounts(self, aid: pa.Array, segment: np.ndarray, pair: np.ndarray) -> None:
        for code in np.unique(pair).tolist():
            if self.lut[code] == 0:
                if len(self.pairs) == self.BITS:
                    self.overflow = True
                    return
                self.lut[code] = np.uint64(1) << np.uint64(len(self.pairs))
                self.pairs.append(code)
        n = len(aid)
        starts = np.ones(n, dtype=bool)
        starts[1:] = pc.not_equal(aid[1:], aid[:-1]).to_numpy(zero_copy_only=False)
        first = np.flatnonzero(starts)
        keys = np.bitwise_or.reduceat(self.lut[pair], first) | (segment[first] << np.uint64(self.BITS))
        if self._last is not None:
            last_aid, last_key = self._last
            if last_aid == aid[0].as_py():
                keys[0] |= np.uint64(last_key)
            else:
                self.masks[last_key] = self.masks.get(last_key, 0) + 1
        self._last = (aid[n - 1].as_py(), int(keys[-1]))
        values, counts = np.unique(keys[:-1], return_counts=True)
        for key, count in zip(values.tolist(), counts.tolist(), strict=True):
            self.masks[key] = self.masks.get(key, 0) + count

    def combos(self) -> list[tuple[str, str, int, int, Decimal]]:
        """Awards and their total per (service, segment, template), in that order."""
        rows = []
        for g, (count, total) in self.totals.items():
            pair, segment = divmod(g, len(self.segments))
            service, template = divmod(pair, self.width)
            rows.append((self.services[service], self.segments[segment], template, count, total))
        return sorted(rows)

    def bits(self) -> dict[tuple[str, int], int]:
        """Each (service, template) pair's bit in the masks."""
        return {(self.services[code // self.width], code % self.width): i
                for i, code in enumerate(self.pairs)}

    def mask_rows(self) -> list[tuple[str, int, int]]:
        """(segment, mask, accounts) for every combination seen."""
        counts = dict(self.masks)
        if self._last is not None:
            counts[self._last[1]] = counts.get(self._last[1], 0) + 1
        low = (1 << self.BITS) - 1
        return [(self.segments[key >> self.BITS], key & low, n) for key, n in sorted(counts.items())]
