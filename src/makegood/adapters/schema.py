"""The subscriptions and sales tables: their columns, their checks and the words of each error.

One definition for every reader: the reference reader (:mod:`makegood.adapters.tables`) parses
rows with :func:`parse_subscription` and :func:`parse_sales`; a batch engine checks whole
columns with the same checks, in the same order (:data:`SUBSCRIPTION_CHECKS`,
:data:`SALES_CHECKS`), written in its own SQL or expressions, and words a bad row with the
functions below (or by handing that one row to the parsers), so every engine reports the same
file, row or line, column and value. The formats are described in ``docs/formats.md``.

Values as read: text is stripped as ``str.strip()`` strips it (an empty text is missing),
service and plan names are NFC-normalized (:func:`makegood.domain.incident.nfc`), ``paid`` is
one of :data:`TRUE_WORDS` or :data:`FALSE_WORDS` (any case) or a boolean, numbers are exact
decimals written as text or integers (``,`` and ``_`` between digits allowed; a float is
refused), timestamps are ISO 8601 with an offset (a naive one is refused).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from makegood.domain.accounts import BillingPeriod, Channel, Segment, Subscription, WeeklySales
from makegood.domain.errors import DataError, InputError
from makegood.domain.money import to_decimal
from makegood.domain.windows import parse_timestamp, require_aware

SUBSCRIPTION_COLUMNS = (
    "subscription_id", "account_id", "segment", "service", "plan", "paid", "fee", "currency",
    "billing_period", "channel", "start", "end",
)
OPTIONAL_SUBSCRIPTION_COLUMNS = ("reported_loss",)
SALES_COLUMNS = ("account_id", "week_start", "amount")

TRUE_WORDS = ("true", "1", "yes", "t")
FALSE_WORDS = ("false", "0", "no", "f")
ALLOWED: dict[str, tuple[str, ...]] = {
    "billing_period": tuple(b.value for b in BillingPeriod),
    "channel": tuple(c.value for c in Channel),
    "segment": tuple(s.value for s in Segment),
}


@dataclass(frozen=True, slots=True)
class Check:
    """One check of one column; ``test`` names what must hold:

    ``present`` (a non-empty value), ``bool`` (true or false), ``number`` (an exact decimal),
    ``one_of`` (one of :data:`ALLOWED` [column]), ``timestamp`` (ISO 8601 with an offset),
    ``optional_timestamp`` (empty, or a timestamp), ``optional_number`` (empty, or a number),
    ``not_negative``, ``free_is_zero`` (a free subscription's fee is 0), ``after_start`` (the
    end, when given, is after the start), ``date`` (YYYY-MM-DD).
    """

    column: str
    test: str


# In the order in which the reference parser meets them: a row's first failing check names it.
SUBSCRIPTION_CHECKS = (
    Check("subscription_id", "present"), Check("account_id", "present"),
    Check("service", "present"), Check("plan", "present"), Check("paid", "bool"),
    Check("fee", "number"), Check("currency", "present"), Check("billing_period", "one_of"),
    Check("channel", "one_of"), Check("start", "timestamp"), Check("end", "optional_timestamp"),
    Check("fee", "not_negative"), Check("fee", "free_is_zero"), Check("end", "after_start"),
    Check("segment", "one_of"), Check("reported_loss", "optional_number"),
)
SALES_CHECKS = (Check("week_start", "date"), Check("account_id", "present"),
                Check("amount", "number"))


# ---------------------------------------------------------------------------------------------
# The words of each error


def check_columns(present: Sequence[str], required: Sequence[str], *, file: str) -> None:
    """Refuse a file that lacks a required column (named from its header or schema)."""
    missing = [c for c in required if c not in present]
    if missing:
        raise DataError(
            f"missing column(s) {', '.join(missing)}; expected {', '.join(required)}",
            file=file, field=missing[0],
        )


EMPTY = "is empty"


def not_a_number(value: object) -> str:
    return f"{value!r} is not a number"


def not_one_of(value: object, column: str) -> str:
    return f"{value!r} is not one of: {', '.join(ALLOWED[column])}"


def not_a_date(value: object) -> str:
    return f"{value!r} is not a date (YYYY-MM-DD)"


def two_segments(account_id: str) -> str:
    return f"account {account_id!r} has two segments"


def two_losses(account_id: str, first: Decimal, second: Decimal) -> str:
    return (f"account {account_id!r} has two reported losses ({first} and {second}); "
            "give one per account")


def two_sales_rows(account_id: str, week: date) -> str:
    return f"account {account_id!r} has two rows for the week of {week}"


# ---------------------------------------------------------------------------------------------
# Rows, as the reference reads them


def text(row: Mapping[str, Any], key: str) -> str:
    value = row.get(key)
    if value is None or str(value).strip() == "":
        raise InputError(EMPTY, field=key)
    return str(value).strip()


def boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    words = str(value).strip().lower()
    if words in TRUE_WORDS:
        return True
    if words in FALSE_WORDS:
        return False
    raise InputError(f"{value!r} is not true or false", field="paid")


def timestamp(value: Any, key: str) -> datetime:
    if isinstance(value, datetime):
        return require_aware(value, field=key)
    return parse_timestamp(str(value), field=key)


def one_of(value: str, enum: type[Enum], key: str) -> Any:
    try:
        return enum(value)
    except ValueError:
        raise InputError(not_one_of(value, key), field=key) from None


def parse_subscription(row: Mapping[str, Any]) -> tuple[Subscription, Segment, Decimal | None]:
    """One subscriptions row; an :class:`InputError` names the first column that fails."""
    end_raw = row.get("end")
    sub = Subscription(
        id=text(row, "subscription_id"),
        account_id=text(row, "account_id"),
        service=text(row, "service"),
        plan=text(row, "plan"),
        paid=boolean(row.get("paid")),
        fee=to_decimal(row.get("fee"), field="fee") if not isinstance(row.get("fee"), Decimal)
        else row["fee"],
        currency=text(row, "currency"),
        billing_period=one_of(text(row, "billing_period"), BillingPeriod, "billing_period"),
        channel=one_of(text(row, "channel"), Channel, "channel"),
        start=timestamp(text(row, "start"), "start") if not isinstance(row.get("start"), datetime)
        else timestamp(row["start"], "start"),
        end=None if end_raw is None or str(end_raw).strip() == "" else timestamp(end_raw, "end"),
    )
    segment = one_of(text(row, "segment"), Segment, "segment")
    loss_raw = row.get("reported_loss")
    loss = None if loss_raw is None or str(loss_raw).strip() == "" else to_decimal(
        loss_raw, field="reported_loss")
    return sub, segment, loss


def parse_sales(row: Mapping[str, Any]) -> tuple[str, WeeklySales]:
    """One sales row: (account id, the week's sales); an :class:`InputError` names the column."""
    week = row.get("week_start")
    try:
        week_start = week if isinstance(week, date) else date.fromisoformat(str(week).strip())
    except ValueError:
        raise InputError(not_a_date(week), field="week_start") from None
    account_id = text(row, "account_id")
    return account_id, WeeklySales(week_start, to_decimal(row.get("amount"), field="amount"))
