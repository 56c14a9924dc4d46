"""The weekly sales table as a DuckDB view, checked as :mod:`makegood.adapters.schema` says."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from makegood.adapters.batch.duckdb.inputs import (
    check_columns,
    column_types,
    decimal_text,
    first,
    scan,
    text_sql,
)
from makegood.adapters.schema import (
    EMPTY,
    SALES_CHECKS,
    SALES_COLUMNS,
    not_a_date,
    not_a_number,
)
from makegood.adapters.tables import AccountsSource
from makegood.domain.errors import DataError

SALES_COLUMN = {"week_start": "week", "account_id": "aid", "amount": "amount"}


def register_sales(con: duckdb.DuckDBPyConnection, source: AccountsSource) -> None:
    if not source.sales:
        con.execute("CREATE OR REPLACE VIEW sales AS SELECT CAST(NULL AS VARCHAR) AS aid, "
                    "CAST(NULL AS DATE) AS week, CAST(NULL AS DECIMAL(38, 10)) AS amount WHERE false")
        return
    check_columns(source.sales, SALES_COLUMNS)
    con.execute(f"CREATE OR REPLACE VIEW raw_sales AS SELECT * FROM {scan(source.sales)}")
    types = column_types(con, "raw_sales")
    week = ("week_start" if types["week_start"] == "DATE"
            else f"TRY_CAST({text_sql('week_start')} AS DATE)")
    rownum = "NULL" if "file_row_number" not in types else "file_row_number + 1"
    con.execute(f"""
        CREATE OR REPLACE VIEW norm_sales AS SELECT filename AS _file, {rownum} AS _row,
            {text_sql('account_id')} AS aid, {week} AS week,
            TRY_CAST({decimal_text('amount', types['amount'])} AS DECIMAL(38, 10)) AS amount,
            CAST(week_start AS VARCHAR) AS week_raw, CAST(amount AS VARCHAR) AS amount_raw
        FROM raw_sales""")
    ordered, any_bad = _sales_in_one_pass(con)
    # the schema's sales checks (each one "given and of its type") in their order
    failing = [(SALES_COLUMN[c.column], c.column) for c in SALES_CHECKS]
    cases = " ".join(f"WHEN {col} IS NULL THEN '{name}'" for col, name in failing)
    bad = None if not any_bad else first(con, f"""
        SELECT _file, _row, CASE {cases} END AS field, week_raw, amount_raw
        FROM norm_sales WHERE {' OR '.join(f'{col} IS NULL' for col, _ in failing)} LIMIT 1""")
    if bad is not None:
        file, row, field, week_raw, amount_raw = bad
        value = {"week_start": week_raw, "amount": amount_raw}.get(field)
        problem = {"week_start": not_a_date(week_raw), "account_id": EMPTY,
                   "amount": not_a_number(amount_raw)}[field]
        line = _csv_line(Path(file), field, value) if row is None else None
        raise DataError(problem, file=file, row=row, line=line, field=field)
    dup = None if ordered else first(
        con, "SELECT aid, week FROM norm_sales GROUP BY aid, week HAVING count(*) > 1 "
             "ORDER BY aid, week LIMIT 1")
    if dup is not None:
        file, row = first(con, "SELECT _file, max(_row) FROM norm_sales WHERE aid = ? AND week = ? "
                                "GROUP BY _file ORDER BY _file DESC LIMIT 1", list(dup)) \
            or (None, None)
        raise DataError(f"duplicate sales row for account {dup[0]!r}, week {dup[1]}",
                        file=file, row=row, field="week_start")
    con.execute("CREATE OR REPLACE VIEW sales AS SELECT aid, week, amount FROM norm_sales")


def _sales_in_one_pass(con: duckdb.DuckDBPyConnection) -> tuple[bool, bool]:
    """(whether the rows come in (account, week) order, whether any row is bad), in one scan.

    Rows in that order, each after the one before, cannot repeat an (account, week): the
    grouping that looks for repeats is then not needed.
    """
    con.execute("SET preserve_insertion_order = true")
    reader = con.sql("""
        SELECT aid, week, week IS NULL OR aid IS NULL OR amount IS NULL AS bad
        FROM norm_sales""").to_arrow_reader(1 << 17)
    ordered, bad = True, False
    last: tuple[Any, Any] | None = None
    try:
        for batch in reader:
            if batch.num_rows == 0:
                continue
            if pc.any(batch.column("bad")).as_py():
                return False, True
            if not ordered:
                continue
            aid, week = batch.column("aid"), batch.column("week")
            if last is not None:
                aid = pa.concat_arrays([pa.array([last[0]], aid.type), aid])
                week = pa.concat_arrays([pa.array([last[1]], week.type), week])
            head, tail = slice(0, len(aid) - 1), slice(1, len(aid))
            later = pc.or_(pc.greater(aid[tail], aid[head]),
                           pc.and_(pc.equal(aid[tail], aid[head]), pc.greater(week[tail], week[head])))
            ordered = pc.all(later).as_py() is not False
            last = (aid[-1].as_py(), week[-1].as_py())
    finally:
        reader.close()
        del reader
        con.execute("SET preserve_insertion_order = false")
    return ordered, bad


def _csv_line(path: Path, field: str, value: str | None) -> int | None:
    """The line of the first CSV row whose ``field`` holds ``value`` (only on the error path)."""
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        for row in reader:
            cell = row.get(field)
            if (cell or "").strip() == (value or "").strip():
                return reader.line_num
    return None

