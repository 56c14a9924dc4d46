"""The compensation ledger on disk: one row per award, Parquet by default or CSV.

Columns (docs/formats.md)::

    account_id, subscription_id, segment, service, policy_id, rule_id, counted_seconds,
    kind, amount, unit, currency, code

Rows are sorted by (account_id, subscription_id, policy_id, rule_id) so that every engine writes the same
bytes for the same inputs. Files are written to a temporary name beside the target and renamed
into place, so an interrupted run leaves nothing under the final name.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from makegood.domain.awards import Award
from makegood.domain.errors import DataError

AMOUNT_TYPE = pa.decimal128(24, 6)
LEDGER_SCHEMA = pa.schema([
    ("account_id", pa.string()),
    ("subscription_id", pa.string()),
    ("segment", pa.string()),
    ("service", pa.string()),
    ("policy_id", pa.string()),
    ("rule_id", pa.string()),
    ("counted_seconds", pa.int64()),
    ("kind", pa.string()),
    ("amount", AMOUNT_TYPE),
    ("unit", pa.string()),
    ("currency", pa.string()),
    ("code", pa.string()),
])
LEDGER_COLUMNS = tuple(LEDGER_SCHEMA.names)

# Every engine writes Parquet with these options, in row groups of ROW_GROUP rows, so the same
# ledger gives the same bytes whoever writes it. The Arrow schema is not stored in the file (the
# Parquet types say everything), so a writer may hand over the columns with few distinct values
# dictionary-encoded (ENCODED_SCHEMA): with each row group's dictionary in order of first
# appearance (first_seen_dictionary), the bytes are those of writing the plain strings.
ROW_GROUP = 1024 * 1024  # pyarrow.parquet.write_table's default row group length
# Statistics (min and max per row group) for the sort keys only: they let a reader looking
# for one account skip the other row groups; on the low-cardinality columns they cost a third
# of the writing time and skip nothing.
PARQUET_OPTIONS: dict[str, Any] = {"compression": "zstd",
                                   "write_statistics": ["account_id", "subscription_id"],
                                   "store_schema": False}
DICTIONARY_COLUMNS = frozenset(("segment", "service", "policy_id", "rule_id", "kind", "unit",
                                "currency", "code"))
ENCODED_SCHEMA = pa.schema([
    pa.field(f.name, pa.dictionary(pa.int32(), pa.string())) if f.name in DICTIONARY_COLUMNS else f
    for f in LEDGER_SCHEMA])
SORT_KEYS = [("account_id", "ascending"), ("subscription_id", "ascending"),
             ("policy_id", "ascending"), ("rule_id", "ascending")]
QUANTUM = Decimal("0.000001")


@dataclass(frozen=True, slots=True)
class LedgerRow:
    account_id: str
    subscription_id: str
    segment: str
    service: str
    policy_id: str
    rule_id: str
    counted_seconds: int
    kind: str
    amount: Decimal
    unit: str
    currency: str | None
    code: str

    @classmethod
    def from_award(cls, award: Award, segment: str, policy_id: str) -> LedgerRow:
        return cls(award.account_id, award.subscription_id, segment, award.service, policy_id,
                   award.rule_id,
                   award.counted_seconds, award.kind.value, award.amount, award.unit,
                   award.currency, award.code)

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in LEDGER_COLUMNS}


Progress = Callable[[int, int], None]  # an engine's (done, total) steps, accounts or rows


@dataclass(slots=True)
class RunResult:
    """What an engine computed: the ledger table (sorted, :data:`LEDGER_SCHEMA`) and what it
    counted along the way. Every engine returns one; :func:`summarize` reads the rest."""

    ledger: pa.Table
    accounts: int = 0
    subscriptions: int = 0
    accounts_affected: int = 0
    fund_factors: dict[str, str] = field(default_factory=dict)

    def counts(self) -> dict[str, Any]:
        return {"accounts": self.accounts, "subscriptions": self.subscriptions,
                "accounts_affected": self.accounts_affected, "fund_factors": self.fund_factors}

    def summary(self) -> dict[str, Any]:
        """The counts and the ledger's totals: the summary JSON a run writes beside it."""
        return {**self.counts(), **summarize(self.ledger)}


def rows_to_table(rows: Iterable[LedgerRow]) -> pa.Table:
    data: dict[str, list[Any]] = {name: [] for name in LEDGER_COLUMNS}
    for row in rows:
        for name in LEDGER_COLUMNS:
            value = getattr(row, name)
            data[name].append(value.quantize(QUANTUM) if name == "amount" else value)
    table = pa.Table.from_pydict(data, schema=LEDGER_SCHEMA)
    return table.sort_by(SORT_KEYS)


def ledger_format(path: Path, fmt: str | None = None) -> str:
    if fmt:
        return fmt
    return "csv" if path.suffix.lower() == ".csv" else "parquet"


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary path beside ``path`` that is renamed onto it only if the block succeeds.

    A run killed by a signal cannot clean up after itself; the next run for the same target
    removes the partial files of processes that no longer exist.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_abandoned_partials(path)
    tmp = path.with_name(f".{path.name}.partial-{os.getpid()}")
    try:
        yield tmp
        with contextlib.suppress(OSError):
            fd = os.open(tmp, os.O_RDONLY)
            os.fsync(fd)
            os.close(fd)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _remove_abandoned_partials(path: Path) -> None:
    for partial in path.parent.glob(f".{path.name}.partial-*"):
        pid = partial.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not _alive(int(pid)):
            with contextlib.suppress(OSError):
                partial.unlink()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def write_table(table: pa.Table, path: Path, fmt: str | None = None) -> None:
    """Write a ledger table (already sorted) atomically as Parquet or CSV."""
    table = table.cast(LEDGER_SCHEMA)
    with atomic_path(path) as tmp:
        if ledger_format(path, fmt) == "csv":
            with tmp.open("w", newline="", encoding="utf-8") as fh:
                writer = csv.writer(fh)
                writer.writerow(LEDGER_COLUMNS)
                for batch in table.to_batches(max_chunksize=65536):
                    cols = [batch.column(i).to_pylist() for i in range(batch.num_columns)]
                    for values in zip(*cols, strict=True):
                        writer.writerow(_csv_value(v) for v in values)
        else:
            pq.write_table(table, tmp, row_group_size=ROW_GROUP, **PARQUET_OPTIONS)


def first_seen_dictionary(ids: np.ndarray, values: pa.Array) -> pa.DictionaryArray:
    """Value ``values[ids[i]]`` at row ``i`` (null where ``ids[i]`` is -1), dictionary-encoded
    as Parquet's writer would: the dictionary holds exactly the values that occur, in order of
    first appearance (what the writer builds from plain strings)."""
    seen = pc.unique(pa.array(ids)).to_numpy()  # in order of first appearance
    seen = seen[seen >= 0]
    lookup = np.full(len(values) + 1, -1, dtype=np.int32)  # lookup[-1]: a null stays null
    lookup[seen] = np.arange(len(seen), dtype=np.int32)
    positions = lookup[ids]
    nulls = positions < 0
    indices = pa.array(positions, mask=nulls) if nulls.any() else pa.array(positions)
    return pa.DictionaryArray.from_arrays(indices, values.take(pa.array(seen)))


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format_decimal(value)
    return str(value)


def format_decimal(value: Decimal) -> str:
    """A plain decimal string without exponent or trailing zeros (``7550``, ``10.34``)."""
    text = f"{value.normalize():f}"
    return text


def write_rows(rows: Iterable[LedgerRow], path: Path, fmt: str | None = None) -> None:
    write_table(rows_to_table(rows), path, fmt)


def read_ledger(path: str | Path) -> pa.Table:
    p = Path(path)
    if not p.is_file():
        raise DataError("ledger file does not exist", file=str(p))
    try:
        if p.suffix.lower() == ".csv":
            import pyarrow.csv as pacsv

            types = {name: LEDGER_SCHEMA.field(name).type for name in LEDGER_COLUMNS}
            table = pacsv.read_csv(p, convert_options=pacsv.ConvertOptions(column_types=types,
                                                                          strings_can_be_null=True))
        else:
            table = pq.read_table(p)
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataError(f"not a readable ledger: {exc}", file=str(p)) from None
    missing = [c for c in LEDGER_COLUMNS if c not in table.column_names]
    if missing:
        raise DataError(f"not a makegood ledger: missing column(s) {', '.join(missing)}",
                        file=str(p), field=missing[0])
    return table.select(list(LEDGER_COLUMNS)).cast(LEDGER_SCHEMA)


def write_json(data: Mapping[str, Any], path: Path) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True) + "\n",
                       encoding="utf-8")


def summarize(table: pa.Table) -> dict[str, Any]:
    """Counts and totals by service, rule, award kind and segment (JSON-ready; amounts as text)."""

    def group(keys: list[str]) -> list[dict[str, Any]]:
        if table.num_rows == 0:
            return []
        grouped = table.group_by([*keys, "kind", "unit"]).aggregate(
            [("amount", "sum"), ("account_id", "count"), ("account_id", "count_distinct")]
        ).sort_by([(k, "ascending") for k in [*keys, "kind", "unit"]])
        out = []
        for row in grouped.to_pylist():
            out.append({
                **{k: row[k] for k in keys},
                "kind": row["kind"],
                "unit": row["unit"],
                "awards": row["account_id_count"],
                "accounts": row["account_id_count_distinct"],
                "total": format_decimal(row["amount_sum"]),
            })
        return out

    accounts = table.column("account_id").unique() if table.num_rows else pa.array([], pa.string())
    money: dict[str, Decimal] = {}
    review: dict[str, Decimal] = {}
    if table.num_rows:
        priced = table.filter(pc.is_valid(table.column("currency")))
        for row in priced.group_by(["currency", "kind"]).aggregate([("amount", "sum")]).to_pylist():
            target = review if row["kind"] == "review" else money
            target[row["currency"]] = target.get(row["currency"], Decimal(0)) + row["amount_sum"]
    return {
        "accounts_awarded": len(accounts),
        "awards": table.num_rows,
        "liability": {cur: format_decimal(v) for cur, v in sorted(money.items())},
        "under_review": {cur: format_decimal(v) for cur, v in sorted(review.items())},
        "by_service": group(["service"]),
        "by_rule": group(["policy_id", "rule_id"]),
        "by_kind": group([]),
        "by_segment": group(["segment"]),
    }
