"""Rich rendering shared by the commands: summaries, awards, policies."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rich.console import Console
from rich.table import Table

from makegood.domain.money import format_amount

console = Console()


def _amount(text: str) -> str:
    return format_amount(Decimal(text))


def print_summary(summary: dict[str, Any], *, title: str = "Compensation summary") -> None:
    head = Table(title=title, show_header=False)
    head.add_column("what")
    head.add_column("value", justify="right")
    for key, label in (("accounts", "accounts read"), ("subscriptions", "subscriptions read"),
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
    console.print(head)
    table = Table(title="Awards by service and kind")
    for col in ("service", "kind", "unit"):
        table.add_column(col)
    for col in ("awards", "accounts", "total"):
        table.add_column(col, justify="right")
    for row in summary.get("by_service", []):
        table.add_row(row["service"], row["kind"], row["unit"], f"{row['awards']:,}",
                      f"{row['accounts']:,}", _amount(row["total"]))
    console.print(table)
