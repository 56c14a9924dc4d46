"""Accounts data as tables: the subscriptions and sales formats, read from CSV or Parquet.

The subscriptions table has one row per subscription (see docs/formats.md)::

    subscription_id, account_id, segment, service, plan, paid, fee, currency,
    billing_period, channel, start, end            [optional: reported_loss]

The sales table (small businesses) has one row per account and week::

    account_id, week_start, amount

A path is a file, a directory of part files, or a glob. A scenario directory (as written by
``makegood scenario generate``) holds ``subscriptions/`` and ``sales/`` (and ``incident.toml``).
This module reads whole tables into domain objects for the reference engine; the columns, the
checks and the words of every error are defined once in :mod:`makegood.adapters.schema`, which
the batch engines apply to the same files through their own scans.
"""

from __future__ import annotations

import csv
import glob
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from makegood.adapters.schema import (
    OPTIONAL_SUBSCRIPTION_COLUMNS,
    SALES_COLUMNS,
    SUBSCRIPTION_COLUMNS,
    check_columns,
    parse_sales,
    parse_subscription,
    two_losses,
    two_sales_rows,
    two_segments,
)
from makegood.domain.accounts import Account, Segment, Subscription, WeeklySales
from makegood.domain.errors import DataError, InputError

__all__ = [
    "OPTIONAL_SUBSCRIPTION_COLUMNS", "SALES_COLUMNS", "SUBSCRIPTION_COLUMNS", "AccountsSource",
    "iter_rows", "load_accounts", "parse_subscription", "resolve",
]


@dataclass(frozen=True, slots=True)
class AccountsSource:
    """Where the accounts data lives: subscription files and optional sales files."""

    subscriptions: tuple[Path, ...]
    sales: tuple[Path, ...] = ()
    label: str = ""


def _expand(path: str | Path, what: str) -> tuple[Path, ...]:
    p = Path(path)
    if p.is_dir():
        files = sorted(f for f in p.iterdir() if f.suffix.lower() in (".csv", ".parquet"))
    elif any(ch in str(path) for ch in "*?["):
        files = sorted(Path(f) for f in glob.glob(str(path)))
    else:
        files = [p]
    if not files:
        raise DataError(f"no {what} files (.csv or .parquet) found", file=str(path))
    for f in files:
        if not f.is_file():
            raise DataError(f"{what} file does not exist", file=str(f))
        if f.suffix.lower() not in (".csv", ".parquet"):
            raise DataError(f"unsupported {what} file type {f.suffix!r}; use .csv or .parquet",
                            file=str(f))
    return tuple(files)


def resolve(accounts: str | Path, sales: str | Path | None = None) -> AccountsSource:
    """Resolve ``--accounts`` (and ``--sales``) into the files to read."""
    root = Path(accounts)
    if root.is_dir() and (root / "subscriptions").is_dir():
        subs = _expand(root / "subscriptions", "subscriptions")
        sales_files = (_expand(root / "sales", "sales") if sales is None and (root / "sales").is_dir()
                       else ())
    else:
        subs = _expand(accounts, "subscriptions")
        sales_files = ()
    if sales is not None:
        sales_files = _expand(sales, "sales")
    return AccountsSource(subs, sales_files, label=str(accounts))


def iter_rows(path: Path, required: tuple[str, ...]) -> Iterator[tuple[int, dict[str, Any]]]:
    """Rows of a CSV or Parquet file with their 1-based row number (CSV: the file line)."""
    if path.suffix.lower() == ".csv":
        try:
            with path.open(newline="", encoding="utf-8-sig") as fh:
                reader = csv.DictReader(fh)
                check_columns(reader.fieldnames or [], required, file=str(path))
                for row in reader:
                    if None in row:
                        raise DataError("the row has more values than the header has columns",
                                        file=str(path), line=reader.line_num)
                    yield reader.line_num, row
        except UnicodeDecodeError:
            raise DataError("not UTF-8 text", file=str(path)) from None
        except csv.Error as exc:
            raise DataError(f"malformed CSV: {exc}", file=str(path)) from None
        return
    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises many types for a corrupt file
        raise DataError(f"not a readable Parquet file: {exc}", file=str(path)) from None
    check_columns(table.column_names, required, file=str(path))
    for i, row in enumerate(table.to_pylist(), start=1):
        yield i, row


def _located(exc: InputError, path: Path, number: int) -> DataError:
    if path.suffix.lower() == ".csv":
        return DataError(exc.problem, file=str(path), field=exc.field, line=number)
    return DataError(exc.problem, file=str(path), field=exc.field, row=number)


def load_accounts(source: AccountsSource) -> list[Account]:
    """Every account with its subscriptions and sales, sorted by account id."""
    subs: dict[str, list[Subscription]] = defaultdict(list)
    segments: dict[str, Segment] = {}
    losses: dict[str, Decimal] = {}
    seen: dict[str, tuple[Path, int]] = {}
    for path in source.subscriptions:
        for number, row in iter_rows(path, SUBSCRIPTION_COLUMNS):
            try:
                sub, segment, loss = parse_subscription(row)
            except InputError as exc:
                raise _located(exc, path, number) from None
            if sub.id in seen:
                first = seen[sub.id]
                raise DataError(f"duplicate subscription_id {sub.id!r} (first at {first[0]}, "
                                f"row/line {first[1]})", file=str(path), row=number,
                                field="subscription_id")
            seen[sub.id] = (path, number)
            if segments.setdefault(sub.account_id, segment) != segment:
                raise DataError(two_segments(sub.account_id),
                                file=str(path), row=number, field="segment")
            if loss is not None and losses.setdefault(sub.account_id, loss) != loss:
                raise DataError(two_losses(sub.account_id, losses[sub.account_id], loss),
                                file=str(path), row=number, field="reported_loss")
            subs[sub.account_id].append(sub)
    sales: dict[str, list[WeeklySales]] = defaultdict(list)
    weeks_seen: set[tuple[str, date]] = set()
    for path in source.sales:
        for number, row in iter_rows(path, SALES_COLUMNS):
            try:
                account_id, week = parse_sales(row)
                if (account_id, week.week_start) in weeks_seen:
                    raise InputError(two_sales_rows(account_id, week.week_start), field="week_start")
                weeks_seen.add((account_id, week.week_start))
                sales[account_id].append(week)
            except InputError as exc:
                raise _located(exc, path, number) from None
    return [
        Account(id=aid, segment=segments[aid], subscriptions=tuple(subs[aid]),
                weekly_sales=tuple(sorted(sales.get(aid, []), key=lambda w: w.week_start)),
                reported_loss=losses.get(aid))
        for aid in sorted(subs)
    ]
