"""`makegood policy check` and `makegood policy compare` (on the DuckDB engine)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import typer

from makegood.domain.errors import DataError
from makegood.domain.incident_file import read_incident
from makegood.domain.money import format_amount, format_quantity
from makegood.domain.policy import read_policy
from makegood.entrypoints.cli.errors import handles_errors
from makegood.entrypoints.cli.output import Column, Table, console, print_table

app = typer.Typer(no_args_is_help=True, help="Validate, describe and compare policies.")


@app.command("check")
@handles_errors
def check(policy: list[Path] = typer.Argument(..., help="Policy TOML file(s).")) -> None:
    """Validate policies and print their rules in words."""
    for path in policy:
        loaded = read_policy(path)
        console.print(f"[green]ok[/green] {path}")
        for line in loaded.describe():
            console.print(f"  {line}", soft_wrap=True)


@app.command("compare")
@handles_errors
def compare(
    policy: list[Path] = typer.Argument(..., help="Two or more policy TOML files."),
    incident: Path = typer.Option(..., "--incident", "-i", help="Incident TOML file."),
    accounts: str = typer.Option(..., "--accounts", "-a",
                                 help="Subscriptions: file, directory, glob or scenario dir."),
    sales: str | None = typer.Option(None, "--sales", help="Weekly sales table for loss rules."),
) -> None:
    """Run each policy over the same data (DuckDB) and print them side by side.

    Accounts awarded, totals by award kind and by service, and the distribution of money (credit,
    refund, cash) per awarded account: what a 3x rule costs against a flat gesture, before either
    is announced.
    """
    # the engines' dependencies (pyarrow, DuckDB) load here, so `policy check` starts fast
    from makegood.adapters.batch.duckdb_engine import DuckDBEngine
    from makegood.adapters.calendars import HolidayCalendars
    from makegood.adapters.tables import resolve

    if len(policy) < 2:
        raise DataError("give at least two policies to compare", field="POLICY")
    the_incident = read_incident(incident)
    source = resolve(accounts, sales)
    loaded = [read_policy(p) for p in policy]
    engine = DuckDBEngine()
    results: list[dict[str, Any]] = []
    with console.status("running policies") as status:
        for path, the_policy in zip(policy, loaded, strict=True):
            status.update(f"running {path.name}")
            results.append(engine.compare(incident=the_incident, policy=the_policy, source=source,
                                          calendars=HolidayCalendars()))
    table = Table(title=f"Policies compared on {accounts} ({results[0]['accounts']:,} accounts, "
                        f"incident {the_incident.id})",
                  columns=[Column(""), *(Column(f"{p.id} v{p.version}\n{path.name}", "right")
                                         for path, p in zip(policy, loaded, strict=True))])

    def row(label: str, values: list[str]) -> None:
        table.add_row(label, *values)

    row("accounts affected", [f"{r['accounts_affected']:,}" for r in results])
    row("accounts awarded", [f"{r['accounts_awarded']:,}" for r in results])
    table.add_section()
    for kind, unit in sorted({k for r in results for k in r["by_kind"]}):
        row(f"total {kind} ({unit})", [_quantity(r["by_kind"].get((kind, unit)), unit)
                                       for r in results])
    table.add_section()
    for service, kind, unit in sorted({k for r in results for k in r["by_service"]}):
        row(f"{service}: {kind} ({unit})",
            [_quantity(r["by_service"].get((service, kind, unit)), unit) for r in results])
    table.add_section()
    row("accounts with money", [f"{r['money_per_account'].get('accounts') or 0:,}" for r in results])
    for stat in ("min", "p50", "p90", "p99", "max"):
        row(f"money per account, {stat}",
            [_amount(r["money_per_account"].get(stat)) for r in results])
    row("money, total", [_amount(r["money_per_account"].get("total")) for r in results])
    print_table(table)


def _amount(value: Decimal | None) -> str:
    return "-" if value is None else format_amount(Decimal(value))


def _quantity(value: Decimal | None, unit: str) -> str:
    return "-" if value is None else format_quantity(Decimal(value), unit)
