"""The checks of the subscriptions and sales tables, run by DuckDB over the views of :mod:`.inputs`.

The checks, their order and the words of each error are :mod:`makegood.adapters.schema`'s: a
scan finds whether and where a row fails one of them (:func:`bad_row_sql`, written from
:data:`~makegood.adapters.schema.SUBSCRIPTION_CHECKS`), and that row is then parsed by the
reference parser to word the error. Rows in ledger order are checked in one streamed pass
(duplicate ids and two segments found without grouping); others by one query per check.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from makegood.adapters.batch.duckdb.inputs import (
    Declared,
    Tables,
    first,
    in_list,
    scan,
)
from makegood.adapters.batch.duckdb.sales import register_sales
from makegood.adapters.schema import (
    ALLOWED,
    SUBSCRIPTION_CHECKS,
    SUBSCRIPTION_COLUMNS,
    Check,
    two_losses,
    two_segments,
)
from makegood.adapters.tables import AccountsSource, iter_rows, load_accounts, parse_subscription
from makegood.domain.errors import DataError, InputError


def check(con: duckdb.DuckDBPyConnection, declared: Declared, columns: Mapping[str, str] | None = None,
          observer: Callable[[], Callable[[pa.RecordBatch], None]] | None = None) -> Tables:
    """Check every subscription and sales row, count, and create ``losses`` and ``sales``.

    When the rows come in ledger order, they are all seen, in that order, in batches holding
    ``pos``, ``sid``, ``aid``, ``segment``, ``service`` and the given ``columns`` (SQL over
    ``norm_subs``), by consumers from ``observer()``: one for each consecutive run of rows
    scanned, in order. ``Tables.streamed`` then says so (otherwise what they saw is partial).
    Raises :class:`DataError` naming the file, the row or line, the column and the value.
    """
    source, csv_input, loss = declared.source, declared.csv_input, declared.has_reported_loss
    checked = _check_in_one_pass(con, declared, columns or {}, observer)
    ordered = checked is not None and not csv_input
    if checked is None:
        # Rows not in (account, subscription) order: the general checks, one query each.
        _check_rows(con, source, csv_input)
        _check_unique(con, csv_input)
        accounts, conflict = first(con, """
            SELECT count(*), arg_min(aid, aid) FILTER (WHERE lo <> hi)
            FROM (SELECT aid, min(segment) AS lo, max(segment) AS hi FROM subs GROUP BY aid)""") \
            or (0, None)
        count, = first(con, "SELECT count(*) FROM subs") or (0,)
        services = frozenset(r[0] for r in con.execute("SELECT DISTINCT service FROM subs").fetchall())
    else:
        count, accounts, services, conflict, bad = checked
        if bad:
            _check_rows(con, source, csv_input)
    if conflict is not None:
        where = con.execute("SELECT _file, _row FROM norm_subs WHERE aid = ? ORDER BY _file, _row",
                            [conflict]).fetchall()
        raise DataError(two_segments(conflict), file=where[-1][0],
                        row=where[-1][1], field="segment")
    if loss:
        _register_losses(con, source, csv_input)
    else:
        con.execute("CREATE OR REPLACE VIEW losses AS SELECT CAST(NULL AS VARCHAR) AS aid, "
                    "CAST(NULL AS DECIMAL(38, 10)) AS loss WHERE false")
    register_sales(con, source)
    return Tables(subscriptions=int(count), accounts=int(accounts), services=services,
                  has_sales=bool(source.sales), has_reported_loss=loss, ordered=ordered,
                  streamed=checked is not None)


def _register_losses(con: duckdb.DuckDBPyConnection, source: AccountsSource, csv_input: bool) -> None:
    """``losses(aid, loss)``: an account's reported loss, given on any of its rows.

    As in the reference reader, two different losses for one account are refused, naming the
    row (in file order: the files in the order given, then the row) where the second appears.
    DuckDB numbers Parquet rows but not CSV lines, so for CSV the reference reader itself reads
    the files and words the error (only on that error path).
    """
    con.execute("""
        CREATE OR REPLACE TABLE losses AS
        SELECT aid, min(v) AS loss, min(v) <> max(v) AS disputed FROM (
            SELECT aid, CAST(loss_text AS DECIMAL(38, 10)) AS v FROM norm_subs
            WHERE loss_text IS NOT NULL)
        GROUP BY aid""")
    if first(con, "SELECT aid FROM losses WHERE disputed LIMIT 1") is None:
        return
    if csv_input:
        load_accounts(source)  # raises the reference's error, naming the line
        raise DataError("an account has two reported losses; give one per account",
                        file=str(source.subscriptions[0]), field="reported_loss")
    order = {str(p): i for i, p in enumerate(source.subscriptions)}
    rows = con.execute("""
        SELECT _file, _row, aid, loss_text FROM norm_subs
        WHERE loss_text IS NOT NULL AND aid IN (SELECT aid FROM losses WHERE disputed)""").fetchall()
    seen: dict[str, Decimal] = {}
    for file, row, aid, text in sorted(rows, key=lambda r: (order.get(r[0], 0), r[1])):
        value = Decimal(text)
        if seen.setdefault(aid, value) != value:
            raise DataError(two_losses(aid, seen[aid], value), file=file, row=row,
                            field="reported_loss")


# Each check of the schema over the columns of ``norm_subs``: true where the row fails it.
SUBSCRIPTION_COLUMN = {"subscription_id": "sid", "account_id": "aid", "billing_period": "bp",
                       "fee": "fee_num", "start": "s", "end": "e", "reported_loss": "loss_text"}


def failing_sql(check: Check) -> str:
    """Where a ``norm_subs`` row fails ``check`` (:class:`makegood.adapters.schema.Check`)."""
    col = SUBSCRIPTION_COLUMN.get(check.column, check.column)
    return {
        "present": f"{col} IS NULL",
        "bool": f"{col} IS NULL",
        "number": f"{col} IS NULL",
        "one_of": f"{col} IS NULL OR {col} NOT IN {in_list(ALLOWED.get(check.column, ()))}",
        "timestamp": f"{col} IS NULL",
        "optional_timestamp": f"has_end AND {col} IS NULL",
        "not_negative": f"{col} < 0",
        "free_is_zero": f"NOT paid AND {col} <> 0",
        "after_start": f"{col} IS NOT NULL AND {col} <= s",
        "optional_number": f"{col} IS NOT NULL AND TRY_CAST({col} AS DECIMAL(38, 10)) IS NULL",
    }[check.test]


def bad_row_sql(relation: str = "norm_subs") -> str:
    """``relation`` with ``bad``: the column of the first check the row fails (NULL if none)."""
    whens = "\n            ".join(f"WHEN {failing_sql(c)} THEN '{c.column}'" for c in SUBSCRIPTION_CHECKS)
    return f"""
        SELECT *, CASE
            {whens}
        END AS bad
        FROM {relation}"""


@dataclass(slots=True)
class _Pass:
    """What one ordered scan of consecutive rows found."""

    rows: int = 0
    accounts: int = 0
    services: set[str] = field(default_factory=set)
    conflict: str | None = None
    bad: bool = False
    first: tuple[Any, Any, Any] | None = None  # (sid, aid, segment) of the first row
    last: tuple[Any, Any, Any] | None = None  # ... and of the last


def _check_in_one_pass(con: duckdb.DuckDBPyConnection, declared: Declared, columns: Mapping[str, str],
                       observer: Callable[[], Callable[[pa.RecordBatch], None]] | None,
                       ) -> tuple[int, int, frozenset[str], str | None, bool] | None:
    """Every row checked in one streamed scan, when the rows come in ledger order.

    The scan flags bad rows (:func:`_bad_row_sql`) and streams the subscription and account
    ids, segment and service in file order. If every subscription id is greater than the one
    before and no account id is smaller, the ids are unique (no grouping by subscription id is
    needed), each account's rows are adjacent (its segment is checked against the row before)
    and accounts are counted where the id changes. This is how generated and exported data
    arrive; otherwise (None) the general checks run. Returns (rows, accounts, services, the
    first account with two segments, whether any row is bad).

    Parquet parts of one schema are read as two halves at once, on two connections (DuckDB
    hands over an ordered stream on about one core); the halves are joined where they meet.
    ``observer()`` gives the batch consumer of each half, in order.
    """
    halves = _halves(con, declared)
    con.execute("SET preserve_insertion_order = true")
    try:
        if len(halves) == 1:
            passes = [_scan_in_order(con, halves[0], columns, observer() if observer else None)]
        else:
            other = con.cursor()
            try:
                with ThreadPoolExecutor(max_workers=1, thread_name_prefix="check-half") as pool:
                    head_consumer = observer() if observer else None
                    tail_consumer = observer() if observer else None
                    tail = pool.submit(_scan_in_order, other, halves[1], columns, tail_consumer)
                    try:
                        head = _scan_in_order(con, halves[0], columns, head_consumer)
                    finally:
                        rest = tail.result()
                passes = [head, rest]
            finally:
                other.close()
    finally:
        con.execute("SET preserve_insertion_order = false")
    joined: _Pass | None = None
    for part in passes:
        if part is None:
            return None
        joined = part if joined is None else _join(joined, part)
        if joined is None:
            return None
    assert joined is not None
    return joined.rows, joined.accounts, frozenset(joined.services), joined.conflict, joined.bad


def _halves(con: duckdb.DuckDBPyConnection, declared: Declared) -> list[str]:
    """The relations to scan in order: ``norm_subs``, or two views over its halves."""
    files = list(declared.source.subscriptions)
    if declared.csv_input or len(files) < 2:
        return ["norm_subs"]
    footers = [pq.read_metadata(f) for f in files]
    if len({str(m.schema.to_arrow_schema()) for m in footers}) != 1:
        return ["norm_subs"]
    sizes = [m.num_rows for m in footers]
    total, running, cut = sum(sizes), 0, 1
    for i, size in enumerate(sizes[:-1]):
        running += size
        if running * 2 >= total:
            cut = i + 1
            break
    else:
        cut = len(files) - 1
    names = []
    for j, (offset, part) in enumerate(((0, files[:cut]), (cut, files[cut:]))):
        con.execute(f"CREATE OR REPLACE VIEW raw_subs_{j} AS SELECT *, file_index + {offset} "
                    f"AS _mg_file_index FROM {scan(part)}")
        con.execute(f"CREATE OR REPLACE VIEW norm_subs_{j} AS SELECT {declared.normalized} "
                    f"FROM raw_subs_{j}")
        names.append(f"norm_subs_{j}")
    return names


def _join(head: _Pass, tail: _Pass) -> _Pass | None:
    """The findings over two consecutive runs of rows (None: not in ledger order)."""
    if head.bad or tail.bad:
        return _Pass(head.rows + tail.rows, bad=True)
    if head.last is None:
        return tail
    if tail.first is None:
        return head
    (sid0, aid0, seg0), (sid1, aid1, seg1) = head.last, tail.first
    if not (sid1 > sid0 and aid1 >= aid0):
        return None
    goes_on = aid1 == aid0
    conflict = head.conflict or (aid0 if goes_on and seg0 != seg1 else None) or tail.conflict
    return _Pass(head.rows + tail.rows, head.accounts + tail.accounts - goes_on,
                 head.services | tail.services, conflict, False, head.first, tail.last)


def _scan_in_order(con: duckdb.DuckDBPyConnection, relation: str, columns: Mapping[str, str],
                   observe: Callable[[pa.RecordBatch], None] | None) -> _Pass | None:
    """One ordered scan of ``relation`` (see :func:`_check_in_one_pass`)."""
    extra = "".join(f", {sql} AS {name}" for name, sql in columns.items())
    reader = con.sql(f"""
        SELECT pos, sid, aid, segment, service, bad IS NOT NULL AS bad{extra}
        FROM ({bad_row_sql(relation)})""").to_arrow_reader(1 << 17)
    found = _Pass()
    try:
        for batch in reader:
            n = batch.num_rows
            if n == 0:
                continue
            if pc.any(batch.column("bad")).as_py():
                found.bad = True
            if found.bad:
                continue  # every row is still read: the error names the first bad row
            sid, aid, seg = batch.column("sid"), batch.column("aid"), batch.column("segment")
            first_row = (sid[0].as_py(), aid[0].as_py(), seg[0].as_py())
            last = found.last
            if last is None:
                found.first = first_row
                found.accounts += 1
            else:  # the batch's first row against the row before it
                if not (first_row[0] > last[0] and first_row[1] >= last[1]):
                    return None
                if first_row[1] != last[1]:
                    found.accounts += 1
                elif first_row[2] != last[2] and found.conflict is None:
                    found.conflict = last[1]
            head, tail = slice(0, n - 1), slice(1, n)
            if not (pc.all(pc.greater(sid[tail], sid[head])).as_py() is not False
                    and pc.all(pc.greater_equal(aid[tail], aid[head])).as_py() is not False):
                return None
            changed = pc.not_equal(aid[tail], aid[head])
            found.accounts += pc.sum(changed).as_py() or 0
            if found.conflict is None:
                two = pc.and_(pc.invert(changed), pc.not_equal(seg[tail], seg[head]))
                if pc.any(two).as_py():
                    found.conflict = aid[tail].filter(two)[0].as_py()
            found.services.update(pc.unique(batch.column("service")).to_pylist())
            if observe is not None:
                observe(batch)
            found.rows += n
            found.last = (sid[n - 1].as_py(), aid[n - 1].as_py(), seg[n - 1].as_py())
    finally:
        reader.close()  # an unread rest is dropped (DuckDB refuses a query while it is open)
        del reader
    return found


def _check_rows(con: duckdb.DuckDBPyConnection, source: AccountsSource, csv_input: bool) -> None:
    found = first(con, f"SELECT _file, _row, sid, bad FROM ({bad_row_sql()}) "
                       "WHERE bad IS NOT NULL LIMIT 1")
    if found is None:
        return
    file, row, sid, field = found
    path = Path(file)
    if csv_input:
        # CSV has no row numbers in DuckDB: let the reference parser find and word the error.
        for number, row_values in iter_rows(path, SUBSCRIPTION_COLUMNS):
            _reparse(row_values, path, line=number)
        raise DataError(f"bad value (subscription_id {sid!r})", file=file, field=field)
    result = con.execute("SELECT * EXCLUDE (filename, file_row_number, _mg_file_index) FROM raw_subs "
                         "WHERE filename = ? AND file_row_number = ?", [file, row - 1])
    names = [d[0] for d in result.description or []]
    for values in result.fetchall():
        _reparse(dict(zip(names, values, strict=True)), path, row=row)
    raise DataError(f"bad value (subscription_id {sid!r})", file=file, row=row, field=field)


def _reparse(values: dict[str, Any], path: Path, *, line: int | None = None,
             row: int | None = None) -> None:
    try:
        parse_subscription(values)
    except InputError as exc:
        raise DataError(exc.problem + (f" (subscription_id {values.get('subscription_id')!r})"
                                       if exc.field != "subscription_id" else ""),
                        file=str(path), line=line, row=row, field=exc.field) from None


def _check_unique(con: duckdb.DuckDBPyConnection, csv_input: bool) -> None:
    dup = first(con, "SELECT sid, count(*) FROM subs GROUP BY sid HAVING count(*) > 1 "
                      "ORDER BY sid LIMIT 1")
    if dup is None:
        return
    where = con.execute("SELECT _file, _row FROM norm_subs WHERE sid = ? ORDER BY _file, _row",
                        [dup[0]]).fetchall()
    origin = f"first in {where[0][0]}" + ("" if csv_input else f", row {where[0][1]}")
    raise DataError(f"duplicate subscription_id {dup[0]!r}: {dup[1]} rows ({origin})",
                    file=where[-1][0], row=None if csv_input else where[-1][1],
                    field="subscription_id")
