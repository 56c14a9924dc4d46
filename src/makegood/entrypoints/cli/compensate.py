"""`makegood compensate`, `makegood explain` and `makegood demo`."""

from __future__ import annotations

import time
from collections import defaultdict
from pathlib import Path

import typer
from rich.table import Table

from makegood import policies as shipped_policies
from makegood.adapters.calendars import HolidayCalendars
from makegood.adapters.tables import load_accounts, resolve
from makegood.domain.compensation import compensate as compensate_account
from makegood.domain.errors import DataError, NotFound
from makegood.domain.incident_file import read_incident
from makegood.domain.money import format_quantity
from makegood.domain.policy import Policy, read_policy
from makegood.domain.windows import format_duration, format_windows
from makegood.entrypoints.cli.errors import handles_errors
from makegood.entrypoints.cli.render import console, print_summary
from makegood.services.compensation import (
    ReferenceEngine,
    check_policies,
    reference_awards,
    write_outputs,
)

INCIDENT = typer.Option(..., "--incident", "-i", help="Incident TOML file.")
POLICY = typer.Option(..., "--policy", "-p", help="Policy TOML file (repeat for several).")
ACCOUNTS = typer.Option(
    ..., "--accounts", "-a",
    help="Subscriptions table: CSV or Parquet file, directory of parts, glob, or scenario dir.")
SALES = typer.Option(None, "--sales", help="Weekly sales table (CSV or Parquet) for loss rules.")


@handles_errors
def compensate(
    incident: Path = INCIDENT,
    policy: list[Path] = POLICY,
    accounts: str = ACCOUNTS,
    out: Path = typer.Option(..., "--out", "-o", help="Ledger file (.parquet, or .csv)."),
    sales: str | None = SALES,
    fmt: str | None = typer.Option(None, "--format", help="parquet or csv (default: by suffix)."),
    summary: Path | None = typer.Option(None, "--summary",
                                        help="Summary JSON (default: LEDGER.summary.json)."),
) -> None:
    """Compute every affected account's compensation and write the ledger."""
    if fmt not in (None, "parquet", "csv"):
        raise DataError(f"unknown ledger format {fmt!r}; use parquet or csv", field="--format")
    the_incident = read_incident(incident)
    the_policies = [read_policy(p) for p in policy]
    source = resolve(accounts, sales)
    started = time.perf_counter()
    with console.status("computing compensation (reference engine)"):
        result = ReferenceEngine().run(incident=the_incident, policies=the_policies,
                                       source=source, calendars=HolidayCalendars())
    summary_data = write_outputs(result, out, fmt=fmt, summary_path=summary, extra={
        "engine": "reference", "incident": the_incident.id,
        "policies": [f"{p.id} v{p.version}" for p in the_policies],
    })
    print_summary(summary_data)
    console.print(f"ledger written to {out} in {time.perf_counter() - started:.1f} s")


@handles_errors
def explain(
    account: str = typer.Option(..., "--account", help="Account id."),
    incident: Path = INCIDENT,
    policy: list[Path] = POLICY,
    accounts: str = ACCOUNTS,
    sales: str | None = SALES,
) -> None:
    """Print one account's windows and awards, each with the reason in words."""
    the_incident = read_incident(incident)
    the_policies = [read_policy(p) for p in policy]
    everyone = load_accounts(resolve(accounts, sales))
    found = next((a for a in everyone if a.id == account), None)
    if found is None:
        raise NotFound(f"account {account!r} is not in {accounts}")
    check_policies(the_policies, the_incident,
                   {s.service for a in everyone for s in a.subscriptions}, [str(p) for p in policy])
    console.print(f"[bold]account {found.id}[/bold] ({found.segment.value}), incident "
                  f"{the_incident.id}")
    for the_policy in the_policies:
        console.print(f"\n[bold]{the_policy.name}[/bold] ({the_policy.id} v{the_policy.version})")
        result = compensate_account(found, the_incident, the_policy, calendars=HolidayCalendars())
        for exposure in result.exposures:
            sub = exposure.subscription
            console.print(f"  {sub.service} ({sub.plan}, {'paid' if sub.paid else 'free'}, "
                          f"{sub.channel.value}): "
                          + (f"down {format_windows(exposure.windows, exposure.tz)}, "
                             f"{format_duration(exposure.counted)}" if exposure.windows
                             else "not affected"))
        awards = _final_awards(found.id, everyone, the_incident, the_policy, result.awards)
        if not awards:
            console.print("  no award")
        for award in awards:
            console.print(f"  -> {award.kind.value} {format_quantity(award.amount, award.unit)}: "
                          f"{award.explanation}", soft_wrap=True)


def _final_awards(account_id, everyone, incident, policy: Policy, awards):  # type: ignore[no-untyped-def]
    """Awards after the fund cap, which needs every account; without a fund, as computed."""
    if policy.caps.fund is None:
        return list(awards)
    capped, _, _ = reference_awards(everyone, incident, policy, HolidayCalendars())
    return [a for a, _ in capped if a.account_id == account_id]


@handles_errors
def demo(
    accounts: int = typer.Option(100_000, "--accounts", "-n", min=1,
                                 help="How many accounts to generate."),
    seed: int = typer.Option(2022, "--seed", help="Seed of the scenario generator."),
    out: Path = typer.Option(Path("out/demo"), "--out", help="Directory for scenario and ledger."),
) -> None:
    """Generate a 2022-style scenario, run the shipped Korean policies, print the summary."""
    from makegood.adapters.scenario import generate

    scenario = out / "scenario"
    started = time.perf_counter()
    with console.status(f"generating {accounts:,} accounts (seed {seed})") as status:
        for done, subs in generate(scenario, accounts=accounts, seed=seed,
                                   chunk_accounts=min(accounts, 500_000)):
            status.update(f"generated {done:,} accounts, {subs:,} subscriptions")
    the_incident = read_incident(scenario / "incident.toml")
    policy_files = [shipped_policies.path(pid) for pid in shipped_policies.KAKAO_2022]
    the_policies = [read_policy(p) for p in policy_files]
    with console.status("computing compensation (reference engine)"):
        result = ReferenceEngine().run(incident=the_incident, policies=the_policies,
                                       source=resolve(scenario), calendars=HolidayCalendars())
    ledger = out / "ledger.parquet"
    summary = write_outputs(result, ledger, fmt=None, summary_path=None, extra={
        "engine": "reference", "incident": the_incident.id, "seed": seed,
        "policies": [f"{p.id} v{p.version}" for p in the_policies],
    })
    console.print(f"[bold]{the_incident.title}[/bold]: {accounts:,} accounts, policies "
                  + ", ".join(p.id for p in the_policies))
    print_summary(summary)
    kinds: dict[str, int] = defaultdict(int)
    for row in summary["by_kind"]:
        kinds[row["kind"]] += row["awards"]
    table = Table(title="Awards by kind")
    table.add_column("kind")
    table.add_column("awards", justify="right")
    for kind, count in sorted(kinds.items()):
        table.add_row(kind, f"{count:,}")
    console.print(table)
    console.print(f"ledger: {ledger}  summary: {ledger}.summary.json  "
                  f"({time.perf_counter() - started:.1f} s)")
