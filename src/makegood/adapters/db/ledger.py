"""The automatic-compensation ledger as a lookup by account, for claim verification.

The ledger is a Parquet or CSV file (or a directory of them) with the columns account_id,
subscription_id, service, rule_id, counted_seconds, kind, amount, unit, currency, code, as the
batch engine writes it. It is read once per file version and indexed by account.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from makegood.domain.errors import DataError
from makegood.domain.verification import LedgerLine

COLUMNS = ("account_id", "subscription_id", "service", "rule_id", "kind", "amount", "unit", "code")

_lock = threading.Lock()
_cache: dict[tuple[str, float], dict[str, tuple[LedgerLine, ...]]] = {}


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(f for f in path.rglob("*") if f.suffix.lower() in (".parquet", ".csv"))
    return [path]


def _read(path: Path) -> pa.Table:
    try:
        if path.suffix.lower() == ".csv":
            return pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(
                column_types={c: pa.string() for c in COLUMNS}))
        return pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        raise DataError(f"cannot read the ledger: {exc}", file=str(path)) from None


def _index(path: Path) -> dict[str, tuple[LedgerLine, ...]]:
    by_account: dict[str, list[LedgerLine]] = defaultdict(list)
    for f in _files(path):
        table = _read(f)
        missing = [c for c in COLUMNS if c not in table.column_names]
        if missing:
            raise DataError(f"missing ledger column(s) {', '.join(missing)}", file=str(f),
                            field=missing[0])
        columns = {c: table.column(c).to_pylist() for c in COLUMNS}
        for i in range(table.num_rows):
            by_account[str(columns["account_id"][i])].append(LedgerLine(
                subscription_id=str(columns["subscription_id"][i]),
                service=str(columns["service"][i]),
                rule_id=str(columns["rule_id"][i]),
                kind=str(columns["kind"][i]),
                amount=Decimal(str(columns["amount"][i])),
                unit=str(columns["unit"][i]),
                code=str(columns["code"][i]),
            ))
    return {k: tuple(v) for k, v in by_account.items()}


def ledger_lines(path: str, account_id: str) -> tuple[LedgerLine, ...] | None:
    """The ledger lines of one account; ``None`` when the ledger file does not exist."""
    p = Path(path)
    if not p.exists():
        return None
    stamp = max((f.stat().st_mtime for f in _files(p)), default=0.0)
    key = (str(p.resolve()), stamp)
    with _lock:
        index = _cache.get(key)
        if index is None:
            index = _index(p)
            for old in [k for k in _cache if k[0] == key[0]]:
                del _cache[old]
            _cache[key] = index
    return index.get(account_id, ())
