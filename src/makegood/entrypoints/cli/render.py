"""The compensation summary as the commands print it (laid out by :mod:`output`)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from makegood.domain.money import format_amount
from makegood.entrypoints.cli.output import Column, Table, console, print_table

__all__ = ["accounts_note", "console", "print_summary"]


def _amount(text: str) -> str:
    return format_amount(Decimal(text))


def print_summary(summary: dict[str, Any], *, title: str = "Compensation summary") -> None:
    head = Table(title=title, columns=[Column("what"), Column("value", "right")], show_header=False)
    for key, label in (("accounts", "accounts read (holding a subscription)"),
                       ("subscriptions", "subscriptions read"),
                       ("accounts_affected", "accounts affected"),
                       ("accounts_awarded", "accounts awarded"), ("awards", "awards")):
        if key in summary:
            head.add_row(label, f"{summary[key]:,}")
    for currency, total in summary.get("liability", {}).items():
        head.add_row(f"total liability ({currency})", _amount(total))
    for currency, total in summary.get("under_review", {}).items():
        head.add_row(f"losses claimed, under individual review ({currency})", _amount(total))
    for policy_id, factor in summary.get("fund_factors", {}).items():
        head.add_row(f"fund factor ({policy_id})", factor)
    print_table(head)
    table = Table(title="Awards by service and kind",
                  columns=[Column("service"), Column("kind"), Column("unit"), Column("awards", "right"),
                           Column("accounts", "right"), Column("total", "right")])
    for row in summary.get("by_service", []):
        table.add_row(row["service"], row["kind"], row["unit"], f"{row['awards']:,}",
                      f"{row['accounts']:,}", _amount(row["total"]))
    print_table(table)


def accounts_note(generated: int, summary: dict[str, Any]) -> str:
    """Why the accounts read can be fewer than the accounts generated."""
    read = summary.get("accounts")
    if read is None or read == generated:
        return f"{generated:,} accounts generated, each holding at least one subscription"
    return (f"{generated:,} accounts generated; {read:,} hold at least one subscription and are "
            f"read from the subscriptions table; the other {generated - read:,} hold none, so the "
            "table does not list them and no policy can reach them")
