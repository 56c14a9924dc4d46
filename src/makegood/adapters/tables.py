"""Accounts data as tables: the subscriptions and sales formats, read from CSV or Parquet.

The subscriptions table has one row per subscription (see docs/formats.md)::

    subscription_id, account_id, segment, service, plan, paid, fee, currency,
    billing_period, channel, start, end            [optional: reported_loss]

The sales table (small businesses) has one row per account and week::

    account_id, week_start, amount

A path is a file, a directory of part files, or a glob. A scenario directory (as written by
``makegood scenario generate``) holds ``subscriptions/`` and ``sales/`` (and ``incident.toml``).
This module reads whole tables into domain objects for the reference engine; the batch engines
read the same files through their own scans and apply the same validation rules.
"""

from __future__ import annotations

import csv
import glob
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from makegood.domain.accounts import (
    Account,
    BillingPeriod,
    Channel,
    Segment,
    Subscription,
    WeeklySales,
)
from makegood.domain.errors import DataError, InputError
from makegood.domain.money import to_decimal
from makegood.domain.windows import parse_timestamp, require_aware

SUBSCRIPTION_COLUMNS = (
    "subscription_id", "account_id", "segment", "service", "plan", "paid", "fee", "currency",
    "billing_period", "channel", "start", "end",
)
OPTIONAL_SUBSCRIPTION_COLUMNS = ("reported_loss",)
SALES_COLUMNS = ("account_id", "week_start", "amount")


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
                _check_columns(path, reader.fieldnames or [], required)
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
    _check_columns(path, table.column_names, required)
    for i, row in enumerate(table.to_pylist(), start=1):
        yield i, row


def _check_columns(path: Path, present: Any, required: tuple[str, ...]) -> None:
    missing = [c for c in required if c not in present]
    if missing:
        raise DataError(
            f"missing column(s) {', '.join(missing)}; expected {', '.join(required)}",
            file=str(path), field=missing[0],
        )


def _text(row: Mapping[str, Any], key: str) -> str:
    value = row.get(key)
    if value is None or str(value).strip() == "":
        raise InputError("is empty", field=key)
    return str(value).strip()


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "t"):
        return True
    if text in ("false", "0", "no", "f"):
        return False
    raise InputError(f"{value!r} is not true or false", field="paid")


def _timestamp(value: Any, key: str) -> datetime:
    if isinstance(value, datetime):
        return require_aware(value, field=key)
    return parse_timestamp(str(value), field=key)


def _enum(value: str, enum: type[Segment] | type[Channel] | type[BillingPeriod], key: str) -> Any:
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(e.value for e in enum)
        raise InputError(f"{value!r} is not one of: {allowed}", field=key) from None


def parse_subscription(row: Mapping[str, Any]) -> tuple[Subscription, Segment, Decimal | None]:
    end_raw = row.get("end")
    sub = Subscription(
        id=_text(row, "subscription_id"),
        account_id=_text(row, "account_id"),
        service=_text(row, "service"),
        plan=_text(row, "plan"),
        paid=_bool(row.get("paid")),
        fee=to_decimal(row.get("fee"), field="fee") if not isinstance(row.get("fee"), Decimal)
        else row["fee"],
        currency=_text(row, "currency"),
        billing_period=_enum(_text(row, "billing_period"), BillingPeriod, "billing_period"),
        channel=_enum(_text(row, "channel"), Channel, "channel"),
        start=_timestamp(_text(row, "start"), "start") if not isinstance(row.get("start"), datetime)
        else _timestamp(row["start"], "start"),
        end=None if end_raw is None or str(end_raw).strip() == "" else _timestamp(end_raw, "end"),
    )
    segment = _enum(_text(row, "segment"), Segment, "segment")
    loss_raw = row.get("reported_loss")
    loss = None if loss_raw is None or str(loss_raw).strip() == "" else to_decimal(
        loss_raw, field="reported_loss")
    return sub, segment, loss


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
                raise DataError(f"account {sub.account_id!r} has two segments",
                                file=str(path), row=number, field="segment")
            if loss is not None and losses.setdefault(sub.account_id, loss) != loss:
                raise DataError(
                    f"account {sub.account_id!r} has two reported losses "
                    f"({losses[sub.account_id]} and {loss}); give one per account",
                    file=str(path), row=number, field="reported_loss")
            subs[sub.account_id].append(sub)
    sales: dict[str, list[WeeklySales]] = defaultdict(list)
    weeks_seen: set[tuple[str, date]] = set()
    for path in source.sales:
        for number, row in iter_rows(path, SALES_COLUMNS):
            try:
                week = row["week_start"]
                week_start = week if isinstance(week, date) else date.fromisoformat(str(week).strip())
                account_id = _text(row, "account_id")
                if (account_id, week_start) in weeks_seen:
                    raise InputError(f"account {account_id!r} has two rows for the week of "
                                     f"{week_start}", field="week_start")
                weeks_seen.add((account_id, week_start))
                sales[account_id].append(
                    WeeklySales(week_start, to_decimal(row["amount"], field="amount")))
            except ValueError:
                raise DataError(f"{row['week_start']!r} is not a date (YYYY-MM-DD)", file=str(path),
                                row=number, field="week_start") from None
            except InputError as exc:
                raise _located(exc, path, number) from None
    return [
        Account(id=aid, segment=segments[aid], subscriptions=tuple(subs[aid]),
                weekly_sales=tuple(sorted(sales.get(aid, []), key=lambda w: w.week_start)),
                reported_loss=losses.get(aid))
        for aid in sorted(subs)
    ]
