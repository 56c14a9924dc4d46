"""The DuckDB engine: every policy as SQL over the subscriptions table, embedded, no server.

One run, in one DuckDB database (spilling to a temporary directory, never holding the input):

1. ``inputs.declare`` puts views over the files (a missing column is refused at once).
2. Two things run at once, on their own connections:

   * ``checks.check`` scans every row in file order (Parquet parts as two halves at once) and
     finds bad values, naked timestamps, duplicate subscriptions and accounts with two segments;
     when the rows come in ledger order it hands them to :class:`AccountPicker` s, which pick
     each account-scoped rule's row (the account's first row with some outage under it) and
     count the affected accounts, with no grouping by account;
   * one hash join of the subscriptions of the services the other rules name with the small
     constant table of their windows (per policy, rule and service) gives every matching
     (subscription, rule) pair with its counted outage and the integer *slots* its rule needs
     (the batch plan, :mod:`makegood.adapters.batch.plan`).

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

The package: :mod:`.session` (the engine and a run's steps), :mod:`.inputs`, :mod:`.checks` and :mod:`.sales`
(the views over the files and their checks), :mod:`.pairs` (the input check beside the pairs
build), :mod:`.awards` (pricing and caps), :mod:`.ledger` (the sorted ledger, streamed out) and
:mod:`.summary` (the figures read off it).

Nothing is written under the final name until the file is complete
(:func:`makegood.adapters.ledger.atomic_path`).
"""

from __future__ import annotations

from makegood.adapters.batch.duckdb.session import DuckDBEngine, Run

__all__ = ["DuckDBEngine", "Run"]
