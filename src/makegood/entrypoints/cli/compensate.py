"""`makegood compensate`, `makegood explain` and `makegood demo`.

Runs go through the use case :func:`makegood.services.compensation.run` (engine choice, run id,
atomic ledger and summary); the engines and calendars come from :mod:`makegood.bootstrap`.
"""

from __future__ import annotations

import contextlib
import time
from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from makegood import bootstrap
from makegood import policies as shipped_policies
from makegood.adapters.batch import ENGINES
from makegood.adapters.ledger import read_ledger
from makegood.adapters.tables import resolve
from makegood.domain.awards import Award
from makegood.domain.compensation import check_policies, scale_awards
from makegood.domain.compensation import compensate as compensate_account
from makegood.domain.errors import DataError, NotFound
from makegood.domain.incident_file import read_incident
from makegood.domain.money import format_quantity
from makegood.domain.policy import Policy, read_policy
from makegood.domain.windows import format_duration, format_windows
from makegood.entrypoints.cli.errors import handles_errors
from makegood.entrypoints.cli.next_steps import demo_next_steps
from makegood.entrypoints.cli.output import Column, Table, print_table
from makegood.entrypoints.cli.render import accounts_note, console, print_summary
from makegood.services import compensation

INCIDENT = typer.Option(..., "--incident", "-i", help="Incident TOML file.")
POLICY = typer.Option(..., "--policy", "-p", help="Policy TOML file (repeat for several).")
ACCOUNTS = typer.Option(
    ..., "--accounts", "-a",
    help="Subscriptions table: CSV or Parquet file, directory of parts, glob, or scenario dir; "
         "with --engine spark also an object-storage URL (s3a://bucket/path; ending in / for a "
         "scenario dir).")
SALES = typer.Option(None, "--sales", help="Weekly sales table (CSV or Parquet) for loss rules.")


ENGINE = typer.Option("duckdb", "--engine", "-e",
                      help=f"Engine: {' | '.join(ENGINES)} (reference: the domain core, small inputs).")
SPARK_MASTER = typer.Option(
    None, "--spark-master",
    help="Spark master URL for --engine spark (local[2], spark://host:7077, yarn); "
         "default: MAKEGOOD_SPARK_MASTER, else local[2].")


@contextlib.contextmanager
def progress_bar(label: str) -> Iterator[Any]:
    """A Rich progress bar; yields the engine's ``progress(done, total)`` callback."""
    columns = (TextColumn(label), BarColumn(), TextColumn("{task.completed}/{task.total} steps"),
               TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


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
    engine: str = ENGINE,
    spark_master: str | None = SPARK_MASTER,
) -> None:
    """Compute every affected account's compensation and write the ledger."""
    started = time.perf_counter()
    with progress_bar(f"computing compensation ({engine})") as update:
        report = compensation.run(
            engines=bootstrap.engines(spark_master=spark_master), engine=engine,
            incident=incident, policies=policy, accounts=accounts, sales=sales, out=out,
            fmt=fmt, summary=summary, calendars=bootstrap.calendars(), progress=update)
    print_summary(report.summary)
    console.print(f"run {report.run_id}: ledger written to {out} in "
                  f"{time.perf_counter() - started:.1f} s")


@handles_errors
def explain(
    account: str = typer.Option(..., "--account", help="Account id."),
    incident: Path = INCIDENT,
    policy: list[Path] = POLICY,
    accounts: str = ACCOUNTS,
    sales: str | None = SALES,
    ledger: Path | None = typer.Option(
        None, "--ledger", help="A ledger from any engine: check its rows for this account."),
) -> None:
    """Print one account's windows and awards, each with the reason in words.

    Only the account's own rows are read from the accounts data (and from the ledger), so this
    works on national-scale inputs.
    """
    from makegood.adapters.batch.inputs import load_account

    the_incident = read_incident(incident)
    the_policies = [read_policy(p) for p in policy]
    source = resolve(accounts, sales)
    found, services = load_account(source, account)
    if found is None:
        raise NotFound(f"account {account!r} is not in {accounts}")
    check_policies(the_policies, the_incident, services, [str(p) for p in policy])
    rows = _ledger_rows(ledger, account) if ledger is not None else None
    factors = compensation.fund_factors(engines=bootstrap.engines(), incident=the_incident,
                                        policies=the_policies, source=source,
                                        calendars=bootstrap.calendars(), ledger=ledger)
    console.print(f"[bold]account {found.id}[/bold] ({found.segment.value}), incident "
                  f"{the_incident.id}")
    mismatches = 0
    for the_policy in the_policies:
        console.print(f"\n[bold]{the_policy.name}[/bold] ({the_policy.id} v{the_policy.version})")
        result = compensate_account(found, the_incident, the_policy,
                                    calendars=bootstrap.calendars())
        for exposure in result.exposures:
            sub = exposure.subscription
            console.print(f"  {sub.service} ({sub.plan}, {'paid' if sub.paid else 'free'}, "
                          f"{sub.channel.value}): "
                          + (f"down {format_windows(exposure.windows, exposure.tz)}, "
                             f"{format_duration(exposure.counted)}" if exposure.windows
                             else "not affected"))
        awards = scale_awards(result.awards, the_policy, factors.get(the_policy.id, Decimal(1)))
        if rows is None:
            if not awards:
                console.print("  no award")
            for award in awards:
                console.print(f"  -> {award.kind.value} {format_quantity(award.amount, award.unit)}: "
                              f"{award.explanation}", soft_wrap=True)
            continue
        mismatches += _check_ledger(rows, awards, the_policy)
    if rows is not None:
        verdict = ("every ledger row matches the reference" if not mismatches
                   else f"{mismatches} ledger row(s) differ from the reference")
        console.print(f"\n{verdict}")
        if mismatches:
            raise typer.Exit(1)


LEDGER_FIELDS = ("counted_seconds", "kind", "amount", "unit", "currency", "code")


def _ledger_rows(path: Path, account: str) -> list[dict[str, Any]]:
    """The ledger rows of one account (a filtered scan: the ledger is never loaded whole)."""
    import pyarrow.compute as pc
    import pyarrow.dataset as ds

    if path.suffix.lower() != ".csv":
        try:
            table = ds.dataset(path).to_table(filter=pc.field("account_id") == account)
        except Exception as exc:  # pyarrow raises many types for a bad file
            raise DataError(f"not a readable ledger: {exc}", file=str(path)) from None
        if table.num_rows == 0:
            read_ledger(path)  # a ledger without this account: still check that it is a ledger
            return []
        return [dict(r) for r in table.to_pylist()]
    table = read_ledger(path)
    return [r for r in table.filter(pc.field("account_id") == account).to_pylist()]


def _check_ledger(rows: list[dict[str, Any]], awards: list[Award], policy: Policy) -> int:
    """Print each ledger row of the policy with the reference's explanation; count mismatches."""
    expected = {(a.subscription_id, a.rule_id): a for a in awards}
    seen: set[tuple[str, str]] = set()
    bad = 0
    for row in rows:
        if row["policy_id"] != policy.id:
            continue
        key = (row["subscription_id"], row["rule_id"])
        seen.add(key)
        award = expected.get(key)
        label = (f"  {row['service']} {row['subscription_id']} rule {row['rule_id']}: {row['kind']} "
                 f"{format_quantity(row['amount'], row['unit'])}")
        if award is None:
            bad += 1
            console.print(f"{label}\n     [red]differs[/red]: the reference gives no such award")
            continue
        want = {"counted_seconds": award.counted_seconds, "kind": award.kind.value,
                "amount": award.amount.quantize(Decimal("0.000001")), "unit": award.unit,
                "currency": award.currency, "code": award.code}
        diffs = [f"{f} {row[f]!r} != {want[f]!r}" for f in LEDGER_FIELDS if row[f] != want[f]]
        console.print(label, soft_wrap=True)
        console.print(f"     {award.explanation}", soft_wrap=True)
        if diffs:
            bad += 1
            console.print(f"     [red]differs from the reference[/red]: {'; '.join(diffs)}")
        else:
            console.print("     [green]matches the reference[/green]")
    for key, award in expected.items():
        if key not in seen:
            bad += 1
            console.print(f"  [red]missing from the ledger[/red]: {award.describe()}: "
                          f"{award.explanation}", soft_wrap=True)
    if not [r for r in rows if r["policy_id"] == policy.id] and not expected:
        console.print("  no award (and none in the ledger)")
    return bad


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
    policy_files = [shipped_policies.path(pid) for pid in shipped_policies.KAKAO_2022]
    ledger = out / "ledger.parquet"
    with progress_bar("computing compensation (duckdb)") as update:
        report = compensation.run(
            engines=bootstrap.engines(), engine="duckdb", incident=scenario / "incident.toml",
            policies=policy_files, accounts=str(scenario), out=ledger,
            calendars=bootstrap.calendars(), progress=update, extra={"seed": seed})
    the_incident, the_policies, summary = report.incident, report.policies, report.summary
    console.print(f"[bold]{the_incident.title}[/bold]: {accounts:,} accounts, policies "
                  + ", ".join(p.id for p in the_policies), soft_wrap=True)
    console.print(accounts_note(accounts, summary), soft_wrap=True)
    print_summary(summary)
    kinds: dict[str, int] = defaultdict(int)
    for row in summary["by_kind"]:
        kinds[row["kind"]] += row["awards"]
    table = Table(title="Awards by kind", columns=[Column("kind"), Column("awards", "right")])
    for kind, count in sorted(kinds.items()):
        table.add_row(kind, f"{count:,}")
    print_table(table)
    console.print(f"ledger: {ledger}  summary: {ledger}.summary.json  "
                  f"({time.perf_counter() - started:.1f} s)", soft_wrap=True)
    for line in demo_next_steps(scenario=scenario, ledger=ledger):
        console.out(line, highlight=False)
