"""The weekly sales table (for loss rules computed from sales) as the Spark view ``sales``.

Checked with the schema's sales checks in their order (:data:`makegood.adapters.schema.SALES_CHECKS`)
and worded as the DuckDB engine words them: the first bad row (file, row or CSV line, column,
value), or the first (account, week) given twice.
"""

from __future__ import annotations

from pathlib import Path

from pyspark.sql import types as T

from makegood.adapters.batch.spark.inputs import (
    Inputs,
    RemoteSource,
    _decimal_text,
    _frames,
    _local,
    _text,
    _union,
    _url_exists,
)
from makegood.adapters.schema import EMPTY, SALES_CHECKS, SALES_COLUMNS, not_a_date, not_a_number
from makegood.adapters.tables import iter_rows
from makegood.domain.errors import DataError


def register_sales(inputs: Inputs) -> None:
    """The views ``norm_sales`` and ``sales`` (empty when the source has no sales)."""
    files: list[str | Path] = list(inputs.source.sales)
    if isinstance(inputs.source, RemoteSource) and inputs.source.sales_optional:
        files = [u for u in files if _url_exists(inputs.spark, str(u))]
    if not files:
        inputs.spark.sql("""SELECT CAST(NULL AS STRING) AS aid, CAST(NULL AS DATE) AS week,
            CAST(NULL AS DECIMAL(38, 10)) AS amount WHERE false""").createOrReplaceTempView("sales")
        return
    frames = _frames(inputs.spark, files, inputs.fmt, SALES_COLUMNS)
    parts = []
    for df in frames:
        types = {f.name: f.dataType for f in df.schema.fields}
        week = ("week_start" if isinstance(types["week_start"], T.DateType) else
                f"CASE WHEN regexp({_text('week_start')}, '^\\\\d{{4}}-\\\\d{{2}}-\\\\d{{2}}$') "
                f"THEN try_cast({_text('week_start')} AS DATE) END")
        parts.append(df.selectExpr(
            "_file", "_row", f"{_text('account_id')} AS aid", f"{week} AS week",
            f"try_cast({_decimal_text('amount', types['amount'])} AS DECIMAL(38, 10)) AS amount",
            "CAST(week_start AS STRING) AS week_raw", "CAST(amount AS STRING) AS amount_raw"))
    sales = _union(parts).localCheckpoint(eager=True)
    inputs.cached.append(sales)
    sales.createOrReplaceTempView("norm_sales")
    # the schema's sales checks (each one "given and of its type") in their order
    failing = [({"week_start": "week", "account_id": "aid"}.get(c.column, c.column), c.column)
               for c in SALES_CHECKS]
    cases = " ".join(f"WHEN {col} IS NULL THEN '{name}'" for col, name in failing)
    bad = inputs.spark.sql(f"""SELECT _file, _row, CASE {cases} END AS field, week_raw, amount_raw
        FROM norm_sales WHERE {' OR '.join(f'{col} IS NULL' for col, _ in failing)}""").collect()
    if bad:
        first = min(bad, key=lambda r: (inputs._file_rank(r["_file"]), r["_row"] or 0))
        field, week_raw, amount_raw = first["field"], first["week_raw"], first["amount_raw"]
        problem = {"week_start": not_a_date(week_raw), "account_id": EMPTY,
                   "amount": not_a_number(amount_raw)}[field]
        file = _local(first["_file"]) or ""
        line = None
        if first["_row"] is None and Path(file).is_file():
            value = {"week_start": week_raw, "amount": amount_raw}.get(field)
            line = next((n for n, row in iter_rows(Path(file), SALES_COLUMNS)
                         if (row.get(field) or "").strip() == (value or "").strip()), None)
        raise DataError(problem, file=file, row=first["_row"], line=line, field=field)
    dup = inputs.spark.sql("""SELECT aid, week FROM norm_sales GROUP BY aid, week
        HAVING count(*) > 1 ORDER BY aid, week LIMIT 1""").collect()
    if dup:
        aid, week = dup[0]["aid"], dup[0]["week"]
        rows = inputs.spark.sql("SELECT _file, _row FROM norm_sales WHERE aid = :aid AND week = :week",
                              {"aid": aid, "week": week}).collect()
        last = max(rows, key=lambda r: (inputs._file_rank(r["_file"]), r["_row"] or 0))
        raise DataError(f"duplicate sales row for account {aid!r}, week {week}",
                        file=_local(last["_file"]), row=last["_row"], field="week_start")
    inputs.spark.sql("SELECT aid, week, amount FROM norm_sales").createOrReplaceTempView("sales")
